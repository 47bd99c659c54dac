-- Caption length distribution (words) per strategy: compare RS5M meta, GAIA and MpGI captions.
SELECT strategy,
       count(*) AS captions,
       min(len(string_split(text, ' '))) AS min_words,
       round(avg(len(string_split(text, ' '))), 1) AS mean_words,
       quantile_cont(len(string_split(text, ' ')), 0.5) AS median_words,
       max(len(string_split(text, ' '))) AS max_words,
       histogram(10 * (len(string_split(text, ' ')) // 10)) AS words_by_decade
FROM captions
WHERE status = 'ok'
GROUP BY strategy
ORDER BY strategy;
