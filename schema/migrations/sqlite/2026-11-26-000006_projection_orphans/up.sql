-- Purging tombstones used to leave their projection rows behind. A record created again
-- under the same id now inserts its projection row without trying an update first, so
-- such leftovers would make that insert fail: remove every projection row whose record is
-- gone (they can all be rebuilt from `records`).
DELETE FROM persons_index
WHERE NOT EXISTS (SELECT 1 FROM records WHERE records.entity = 'person' AND records.id = persons_index.id);
DELETE FROM households_index
WHERE NOT EXISTS (SELECT 1 FROM records WHERE records.entity = 'household' AND records.id = households_index.id);
