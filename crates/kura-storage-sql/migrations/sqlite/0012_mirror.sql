-- Repos answered from the upstream hub: one per type and lower-cased id, as first spelled.
CREATE TABLE mirror_repos (
    id INTEGER PRIMARY KEY,
    repo_type TEXT NOT NULL,
    repo_key TEXT NOT NULL,
    repo_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (repo_type, repo_key)
);
-- The commit each branch or tag of a mirrored repo resolved to when last asked upstream.
CREATE TABLE mirror_refs (
    mirror_id INTEGER NOT NULL,
    ref_name TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (mirror_id, ref_name)
);
-- Cached upstream answers, addressed by commit and key (so never replaced).
CREATE TABLE mirror_docs (
    mirror_id INTEGER NOT NULL,
    commit_id TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    body TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (mirror_id, commit_id, doc_key)
);
-- Files the upstream listed with a Xet hash, found by that hash within their mirrored repo.
CREATE TABLE mirror_files (
    mirror_id INTEGER NOT NULL,
    xet_hash TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    commit_id TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (mirror_id, xet_hash)
);
-- A mirrored repo's holding: the objects (`sha256:<hex>`, `git:<blob id>`) it fetched and verified.
CREATE TABLE mirror_objects (
    mirror_id INTEGER NOT NULL,
    object_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (mirror_id, object_key)
);
-- A user's own token for the mirror's upstream hub, sealed by the core (never stored in clear).
CREATE TABLE external_tokens (
    user_id INTEGER PRIMARY KEY,
    sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
