"""filtered_pool: one decision per raw row (lexicon, rules, scorers, the process-pool driver)."""
