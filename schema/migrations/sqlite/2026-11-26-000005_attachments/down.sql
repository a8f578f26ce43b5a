DROP TABLE commitment_seals;
DROP INDEX jobs_ready;
DROP TABLE jobs;
DROP INDEX uploads_updated;
DROP TABLE uploads;
DROP TABLE blob_intents;
DROP TABLE attachment_uploaders;
DROP TABLE attachments;
