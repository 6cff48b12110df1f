-- Downloads per repo and day (days since the Unix epoch); the repo row keeps the last 30
-- days' sum and the all-time count, updated with each batch.
CREATE TABLE repo_downloads (
    repo_id BIGINT NOT NULL,
    day BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (repo_id, day)
);
ALTER TABLE repos ADD COLUMN downloads BIGINT NOT NULL DEFAULT 0;
ALTER TABLE repos ADD COLUMN downloads_all_time BIGINT NOT NULL DEFAULT 0;
-- Who was counted, per repo and day (an opaque key), so a client counts once whichever
-- replica it reaches; kept for the current and the previous day only.
CREATE TABLE download_clients (
    repo_id BIGINT NOT NULL,
    day BIGINT NOT NULL,
    client TEXT NOT NULL,
    PRIMARY KEY (repo_id, day, client)
);
CREATE INDEX repo_downloads_by_day ON repo_downloads (day);
CREATE INDEX download_clients_by_day ON download_clients (day);
