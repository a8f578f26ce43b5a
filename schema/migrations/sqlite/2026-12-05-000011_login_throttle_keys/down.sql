DELETE FROM login_throttle;
ALTER TABLE login_throttle RENAME COLUMN throttle_key TO username;
