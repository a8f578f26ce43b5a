DROP TABLE households_index;
DROP TABLE persons_index;
DROP TABLE mutations;
DROP TABLE conflicts;
DROP TABLE records;
DROP TABLE change_counter;
