-- Discussions and pull requests of a repo, numbered per repo from 1.
CREATE TABLE discussions (
    repo_id INTEGER NOT NULL,
    num INTEGER NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    is_pull_request INTEGER NOT NULL,
    author_id INTEGER,
    created_at INTEGER NOT NULL,
    -- What its events hold, kept with every write (the budget is checked against them).
    event_count INTEGER NOT NULL DEFAULT 0,
    data_bytes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (repo_id, num)
);
-- Their events in order (seq), each with its JSON data.
CREATE TABLE discussion_events (
    repo_id INTEGER NOT NULL,
    num INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    author_id INTEGER,
    created_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (repo_id, num, seq)
);
