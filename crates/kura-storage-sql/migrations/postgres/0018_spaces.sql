-- The subdomain each Space is served on: given once (at creation or first use), unique, kept
-- across a move, freed when the Space is deleted.
CREATE TABLE space_hosts (
    repo_id BIGINT PRIMARY KEY,
    subdomain TEXT NOT NULL UNIQUE
);
-- A Space's variables: public configuration its page reads (window.huggingface.variables).
CREATE TABLE space_variables (
    repo_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    description TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repo_id, key)
);
