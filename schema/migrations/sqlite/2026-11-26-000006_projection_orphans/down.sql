-- Nothing to put back: the rows removed belonged to records that no longer exist.
SELECT 1;
