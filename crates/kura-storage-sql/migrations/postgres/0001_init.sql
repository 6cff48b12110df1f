-- Users and organizations share one namespace table so a name is taken once, case-insensitively.
CREATE TABLE namespaces (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL
);
CREATE UNIQUE INDEX namespaces_lower_name ON namespaces (lower(name));
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    is_admin BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE orgs (
    name TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);
CREATE TABLE org_members (
    org TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (org, user_id)
);
CREATE TABLE tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT
);
CREATE TABLE repos (
    id BIGSERIAL PRIMARY KEY,
    repo_type TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    private BOOLEAN NOT NULL,
    gating TEXT NOT NULL DEFAULT 'off',
    created_at BIGINT NOT NULL,
    last_modified BIGINT NOT NULL,
    -- README tags of the default branch, one per line.
    tags TEXT NOT NULL DEFAULT '',
    UNIQUE (repo_type, namespace, name)
);
CREATE TABLE refs (
    repo_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (repo_id, name)
);
CREATE TABLE repo_commits (
    repo_id BIGINT NOT NULL,
    oid TEXT NOT NULL,
    PRIMARY KEY (repo_id, oid)
);
CREATE TABLE lfs_objects (
    oid TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE repo_lfs_objects (
    repo_id BIGINT NOT NULL,
    oid TEXT NOT NULL,
    PRIMARY KEY (repo_id, oid)
);
