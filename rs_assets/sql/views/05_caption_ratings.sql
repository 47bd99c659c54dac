-- caption_ratings: every human rating (`rs-assets rate`), append-only, one file per rating session;
-- caption_ratings_latest: the latest rating per rater and caption (a re-rating replaces the earlier one).
CREATE VIEW caption_ratings AS SELECT * FROM {{sessions:caption_ratings}};
CREATE VIEW caption_ratings_latest AS
SELECT * EXCLUDE (n) FROM (
    SELECT *, row_number() OVER (PARTITION BY rater, caption_id ORDER BY rated_at DESC, rating_id DESC) AS n
    FROM caption_ratings
) WHERE n = 1;
