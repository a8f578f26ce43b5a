-- Two of the persons projection's nine indexes cost more than they serve on SQLite, which
-- holds one station's case files (a few thousand persons). Each index is a page changed
-- per new person and per rename, written to the WAL at commit (see 000009).
--
-- - `persons_index_name_birth` (name, birth date): the duplicate report groups persons in
--   memory, and the scoped person list sorts by name through the community index. Only an
--   unscoped (administrator's) list by name scanned it; that list now sorts a station's
--   persons, a few milliseconds.
-- - `persons_index_tier`: three values and "none"; the list's tier filter reads the
--   scope's persons through the community index instead.
--
-- Together they were 3% of a create's and 6% of an edit's time under the write lock
-- (load generator, six alternating pairs, BENCHMARKS.md, ninth session). PostgreSQL, which
-- may hold a district or a province, keeps them.
DROP INDEX persons_index_name_birth;
DROP INDEX persons_index_tier;
