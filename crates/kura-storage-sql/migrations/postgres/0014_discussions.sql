-- Discussions and pull requests of a repo, numbered per repo from 1.
CREATE TABLE discussions (
    repo_id BIGINT NOT NULL,
    num BIGINT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    is_pull_request BOOLEAN NOT NULL,
    author_id BIGINT,
    created_at BIGINT NOT NULL,
    -- What its events hold, kept with every write (the budget is checked against them).
    event_count BIGINT NOT NULL DEFAULT 0,
    data_bytes BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (repo_id, num)
);
-- Their events in order (seq), each with its JSON data.
CREATE TABLE discussion_events (
    repo_id BIGINT NOT NULL,
    num BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    author_id BIGINT,
    created_at BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (repo_id, num, seq)
);
