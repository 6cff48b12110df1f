-- Runs of an upstream xorb's chunks inside an object a mirrored repo fetched through the
-- upstream's Xet reconstruction and holds: chunks [first_chunk, end_chunk) of upstream xorb
-- `xorb` are the bytes at file_offset of object `sha256`, chunk lengths comma-separated.
CREATE TABLE mirror_runs (
    xorb TEXT NOT NULL,
    first_chunk BIGINT NOT NULL,
    end_chunk BIGINT NOT NULL,
    mirror_id BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    file_offset BIGINT NOT NULL,
    chunk_lengths TEXT NOT NULL,
    PRIMARY KEY (xorb, first_chunk, mirror_id, sha256)
);
CREATE INDEX mirror_runs_by_mirror ON mirror_runs (mirror_id);
