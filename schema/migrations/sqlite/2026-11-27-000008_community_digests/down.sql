-- The digests are filled again from the records when the table comes back.
DELETE FROM sync_state WHERE name = 'community_digests_built';
DROP TABLE community_digests;
