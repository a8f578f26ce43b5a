CREATE INDEX persons_index_name_birth ON persons_index (name, birth_date);
CREATE INDEX persons_index_tier ON persons_index (tier);
