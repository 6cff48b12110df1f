-- Password login: an optional argon2id hash (PHC string) per user.
ALTER TABLE users ADD COLUMN password_hash TEXT;
-- Browser sessions, keyed by the SHA-256 of the cookie value (the value itself is not stored).
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
