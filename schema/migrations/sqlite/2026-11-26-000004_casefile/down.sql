DROP INDEX persons_index_version;
DROP INDEX persons_index_household;
DROP INDEX persons_index_tier;
DROP INDEX persons_index_community_status;
ALTER TABLE persons_index DROP COLUMN enrolled_on;
ALTER TABLE persons_index DROP COLUMN assessed_on;
