-- The scope digest on a pull's last page reads `(entity, id, version)` of every live record
-- in the phone's communities. Carrying `deleted`, `entity` and `id` in the community index
-- lets that be an index-only scan, instead of one table lookup per record, at no extra
-- index to keep up on writes. Its key is unchanged, so a pull page still scans it by
-- community and change number.
DROP INDEX records_community_version;
CREATE INDEX records_community_version ON records (community_id, version) INCLUDE (deleted, entity, id);
