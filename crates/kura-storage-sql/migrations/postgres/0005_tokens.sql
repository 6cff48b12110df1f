-- Fine-grained scopes (JSON array of `target=perm,perm` strings) and revocation of tokens.
ALTER TABLE tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tokens ADD COLUMN revoked_at BIGINT;
CREATE INDEX tokens_user ON tokens (user_id, created_at);
