-- A Xet file's SHA-256 counts only once kura computed it from the file's bytes. Rows written
-- before this migration carry the SHA-256 a client claimed in its shard: they stay invisible
-- to every lookup until `kura fsck` recomputes the hash and finds the claim true.
ALTER TABLE xet_files ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;
