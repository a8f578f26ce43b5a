ALTER TABLE persons_index DROP COLUMN six_clears_complete;
DROP TABLE visits_index;
