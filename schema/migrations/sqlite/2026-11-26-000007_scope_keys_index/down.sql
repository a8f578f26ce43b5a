DROP INDEX records_community_version;
CREATE INDEX records_community_version ON records (community_id, version);
