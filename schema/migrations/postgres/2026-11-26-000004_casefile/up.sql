-- The staff API's searches and reports read the persons projection: the day of the
-- current assessment (obligations run three months from it) and the day the person was
-- enrolled (no contact since then makes an exit candidate), plus indexes for the filters.
ALTER TABLE persons_index ADD COLUMN assessed_on TEXT;
ALTER TABLE persons_index ADD COLUMN enrolled_on TEXT;
CREATE INDEX persons_index_community_status ON persons_index (community_id, status);
CREATE INDEX persons_index_tier ON persons_index (tier);
CREATE INDEX persons_index_household ON persons_index (household_id);
CREATE INDEX persons_index_version ON persons_index (version);
