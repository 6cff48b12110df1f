-- Downloads per repo and day (days since the Unix epoch); the repo row keeps the last 30
-- days' sum and the all-time count, updated with each batch.
CREATE TABLE repo_downloads (
    repo_id INTEGER NOT NULL,
    day INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (repo_id, day)
);
ALTER TABLE repos ADD COLUMN downloads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE repos ADD COLUMN downloads_all_time INTEGER NOT NULL DEFAULT 0;
-- Who was counted, per repo and day (an opaque key), so a client counts once whichever
-- replica it reaches; kept for the current and the previous day only.
CREATE TABLE download_clients (
    repo_id INTEGER NOT NULL,
    day INTEGER NOT NULL,
    client TEXT NOT NULL,
    PRIMARY KEY (repo_id, day, client)
);
CREATE INDEX repo_downloads_by_day ON repo_downloads (day);
CREATE INDEX download_clients_by_day ON download_clients (day);
