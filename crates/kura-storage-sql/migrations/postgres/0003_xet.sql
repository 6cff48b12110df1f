-- Xet storage: verified xorbs and the files registered from shards.
CREATE TABLE xet_xorbs (
    hash TEXT PRIMARY KEY,
    num_chunks BIGINT NOT NULL,
    raw_bytes BIGINT NOT NULL,
    stored_bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE xet_files (
    file_hash TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    -- Terms as "xorb:start:end:unpacked" separated by newlines.
    terms TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX xet_files_sha256 ON xet_files (sha256);
-- Global dedup index: eligible chunks (first chunk of a file, or hash = 0 mod 1024) and the
-- xorb that holds them.
CREATE TABLE xet_dedup (
    chunk_hash TEXT PRIMARY KEY,
    xorb_hash TEXT NOT NULL
);
