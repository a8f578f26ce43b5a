-- Throttle rows are keyed by a keyed hash (HMAC) of what they count: a username, a
-- source address, or the pair. The old rows held the typed username in clear, and a
-- password typed into the username field with it; they are dropped (at worst a lock in
-- force ends early on upgrade).
DELETE FROM login_throttle;
ALTER TABLE login_throttle RENAME COLUMN username TO throttle_key;
