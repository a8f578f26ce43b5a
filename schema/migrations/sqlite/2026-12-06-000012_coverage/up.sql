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
    latitude DOUBLE,
    longitude DOUBLE,
    deleted BOOLEAN NOT NULL
);
CREATE INDEX visits_index_community_time ON visits_index (community_id, started_at);
CREATE INDEX visits_index_household_time ON visits_index (household_id, started_at);

INSERT INTO visits_index
    (id, community_id, household_id, user_id, device_id, started_at, ended_at, outcome,
     latitude, longitude, deleted)
SELECT id, community_id, json_extract(data, '$.household_id'), created_by, updated_device,
    CAST(strftime('%s', json_extract(data, '$.started_at')) AS INTEGER) * 1000000
        + CAST(substr(json_extract(data, '$.started_at'), 21, 3) AS INTEGER) * 1000,
    CASE WHEN json_extract(data, '$.ended_at') IS NULL THEN NULL ELSE
        CAST(strftime('%s', json_extract(data, '$.ended_at')) AS INTEGER) * 1000000
        + CAST(substr(json_extract(data, '$.ended_at'), 21, 3) AS INTEGER) * 1000 END,
    json_extract(data, '$.outcome'),
    json_extract(data, '$.latitude'), json_extract(data, '$.longitude'), deleted
FROM records WHERE entity = 'visit' AND json_extract(data, '$.started_at') IS NOT NULL;

-- Whether a person's six clears are complete in all six sections (the items each section
-- needs: liuqing_schema::domain::six_clears), for the reports' counts.
ALTER TABLE persons_index ADD COLUMN six_clears_complete BOOLEAN NOT NULL DEFAULT 0;
UPDATE persons_index SET six_clears_complete = 1 WHERE id IN (
    SELECT id FROM records WHERE entity = 'six_clears' AND NOT deleted
    AND json_extract(data, '$.basic.education') IS NOT NULL
    AND json_extract(data, '$.basic.health') IS NOT NULL
    AND json_extract(data, '$.basic.phone') IS NOT NULL
    AND json_extract(data, '$.difficulty.categories') IS NOT NULL
    AND json_extract(data, '$.family.members') IS NOT NULL
    AND json_extract(data, '$.family.employed_members') IS NOT NULL
    AND json_extract(data, '$.family.monthly_income') IS NOT NULL
    AND json_extract(data, '$.family.zero_employment') IS NOT NULL
    AND json_extract(data, '$.needs.job_types') IS NOT NULL
    AND json_extract(data, '$.needs.training') IS NOT NULL
    AND json_extract(data, '$.needs.hours') IS NOT NULL
    AND json_extract(data, '$.insurance.pension') IS NOT NULL
    AND json_extract(data, '$.insurance.medical') IS NOT NULL
    AND json_extract(data, '$.insurance.unemployment') IS NOT NULL
    AND json_extract(data, '$.insurance.paying') IS NOT NULL
    AND json_extract(data, '$.policies.enjoyed') IS NOT NULL);
