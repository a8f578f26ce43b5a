DROP TABLE audit_log;
DROP TABLE login_throttle;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE devices;
DROP TABLE user_org_nodes;
DROP TABLE users;
DROP TABLE org_nodes;
