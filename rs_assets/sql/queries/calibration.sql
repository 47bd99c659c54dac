-- Do the automatic caption scores agree with the human ratings (`rs-assets rate`)? Spearman per signal
-- and rubric where both exist; the warehouse's score_calibration check reads the same view.
SELECT signal, rubric, pairs, spearman
FROM caption_calibration
ORDER BY signal = 'overall' DESC, signal, rubric;
