-- Users and organizations share one namespace table so a name is taken once.
CREATE TABLE namespaces (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    kind TEXT NOT NULL
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    is_admin INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE orgs (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
CREATE TABLE org_members (
    org TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (org, user_id)
);
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER
);
CREATE TABLE repos (
    id INTEGER PRIMARY KEY,
    repo_type TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    private INTEGER NOT NULL,
    gating TEXT NOT NULL DEFAULT 'off',
    created_at INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    -- README tags of the default branch, one per line.
    tags TEXT NOT NULL DEFAULT '',
    UNIQUE (repo_type, namespace, name)
);
CREATE TABLE refs (
    repo_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (repo_id, name)
);
CREATE TABLE repo_commits (
    repo_id INTEGER NOT NULL,
    oid TEXT NOT NULL,
    PRIMARY KEY (repo_id, oid)
);
CREATE TABLE lfs_objects (
    oid TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE repo_lfs_objects (
    repo_id INTEGER NOT NULL,
    oid TEXT NOT NULL,
    PRIMARY KEY (repo_id, oid)
);
