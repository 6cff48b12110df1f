-- Who likes which repo, and since when; `repos.likes` counts them (kept in the same write).
CREATE TABLE repo_likes (
    repo_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (repo_id, user_id)
);
CREATE INDEX repo_likes_by_user ON repo_likes (user_id, created_at);
CREATE INDEX repo_likes_by_time ON repo_likes (repo_id, created_at);
ALTER TABLE repos ADD COLUMN likes INTEGER NOT NULL DEFAULT 0;
