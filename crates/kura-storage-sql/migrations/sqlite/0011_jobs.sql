-- The durable job queue: one row per waiting, running or failed job, unique by kind and key.
-- A worker leases a job (lease_owner, lease_until); an expired lease may be claimed again.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    job_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    run_after INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (kind, job_key)
);
CREATE INDEX jobs_due ON jobs (state, run_after);
-- Facts the indexer computed from content: per blob (by content key) and per commit.
CREATE TABLE blob_facts (
    fact_key TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    facts TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE commit_facts (
    fact_key TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    facts TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
-- What the indexer computed for each repo's default branch: the parameter count, the library
-- and the task (the listing shows and filters on them).
ALTER TABLE repos ADD COLUMN parameters INTEGER;
ALTER TABLE repos ADD COLUMN library_name TEXT;
ALTER TABLE repos ADD COLUMN pipeline_tag TEXT;
-- Repos a repo's card names (a Space's `models:` and `datasets:`), by lower-cased id: what
-- `spaces` of a model lists.
CREATE TABLE repo_links (
    repo_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (repo_id, kind, target)
);
CREATE INDEX repo_links_target ON repo_links (kind, target);
