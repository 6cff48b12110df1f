-- Who likes which repo, and since when; `repos.likes` counts them (kept in the same write).
CREATE TABLE repo_likes (
    repo_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (repo_id, user_id)
);
CREATE INDEX repo_likes_by_user ON repo_likes (user_id, created_at);
CREATE INDEX repo_likes_by_time ON repo_likes (repo_id, created_at);
ALTER TABLE repos ADD COLUMN likes BIGINT NOT NULL DEFAULT 0;
