-- Coverage reports (supervisors' "checking visit coverage") read visits by community and
-- time, by household and by device: a projection of the visit records, kept in the same
-- transaction as the records (sync's projection module) and rebuilt here from the visits
-- already stored. Times are UTC microseconds like every other time column: a period of
-- station-local days becomes a range of instants when it is asked for, so the projection
-- does not depend on the deployment's UTC offset.
CREATE TABLE visits_index (
    id TEXT PRIMARY KEY NOT NULL,
    community_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    -- Who made the visit, and on which device (a visit is written once, by its maker).
    user_id TEXT,
    device_id TEXT,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    outcome TEXT NOT NULL,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    deleted BOOLEAN NOT NULL
);
CREATE INDEX visits_index_community_time ON visits_index (community_id, started_at);
CREATE INDEX visits_index_household_time ON visits_index (household_id, started_at);

INSERT INTO visits_index
    (id, community_id, household_id, user_id, device_id, started_at, ended_at, outcome,
     latitude, longitude, deleted)
SELECT id, community_id, data::jsonb ->> 'household_id', created_by, updated_device,
    (EXTRACT(EPOCH FROM (data::jsonb ->> 'started_at')::timestamptz) * 1000000)::BIGINT,
    (EXTRACT(EPOCH FROM (data::jsonb ->> 'ended_at')::timestamptz) * 1000000)::BIGINT,
    data::jsonb ->> 'outcome',
    (data::jsonb ->> 'latitude')::DOUBLE PRECISION,
    (data::jsonb ->> 'longitude')::DOUBLE PRECISION,
    deleted
FROM records WHERE entity = 'visit' AND data::jsonb ->> 'started_at' IS NOT NULL;

-- Whether a person's six clears are complete in all six sections (the items each section
-- needs: liuqing_schema::domain::six_clears), for the reports' counts. (`->>` answers
-- NULL for a JSON null as for a missing item.)
ALTER TABLE persons_index ADD COLUMN six_clears_complete BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE persons_index SET six_clears_complete = TRUE WHERE id IN (
    SELECT id FROM records WHERE entity = 'six_clears' AND NOT deleted
    AND data::jsonb #>> '{basic,education}' IS NOT NULL
    AND data::jsonb #>> '{basic,health}' IS NOT NULL
    AND data::jsonb #>> '{basic,phone}' IS NOT NULL
    AND data::jsonb #>> '{difficulty,categories}' IS NOT NULL
    AND data::jsonb #>> '{family,members}' IS NOT NULL
    AND data::jsonb #>> '{family,employed_members}' IS NOT NULL
    AND data::jsonb #>> '{family,monthly_income}' IS NOT NULL
    AND data::jsonb #>> '{family,zero_employment}' IS NOT NULL
    AND data::jsonb #>> '{needs,job_types}' IS NOT NULL
    AND data::jsonb #>> '{needs,training}' IS NOT NULL
    AND data::jsonb #>> '{needs,hours}' IS NOT NULL
    AND data::jsonb #>> '{insurance,pension}' IS NOT NULL
    AND data::jsonb #>> '{insurance,medical}' IS NOT NULL
    AND data::jsonb #>> '{insurance,unemployment}' IS NOT NULL
    AND data::jsonb #>> '{insurance,paying}' IS NOT NULL
    AND data::jsonb #>> '{policies,enjoyed}' IS NOT NULL);
