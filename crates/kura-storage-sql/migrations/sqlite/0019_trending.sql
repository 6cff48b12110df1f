-- A repo's trending score: ten times its likes of the last 7 days plus its downloads of the last
-- 7 days (today included), kept on the row for listings to sort on; recomputed when the repo is
-- liked or downloaded, and once a day for every repo that has one.
ALTER TABLE repos ADD COLUMN trending INTEGER NOT NULL DEFAULT 0;
