-- Gated access: one request per repo and user, deleted with the repo.
CREATE TABLE access_requests (
    id INTEGER PRIMARY KEY,
    repo_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    -- The requester's answers as JSON object text.
    fields TEXT,
    rejection_reason TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (repo_id, user_id)
);
CREATE INDEX access_requests_status ON access_requests (repo_id, status, created_at);
-- Security events, append-only.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL
);
