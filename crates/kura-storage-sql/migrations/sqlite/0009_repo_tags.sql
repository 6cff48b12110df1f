-- A repo's README tags, one row each, in the README's order (`ordinal`), so listing filters by
-- tag with an index instead of searching newline-joined text. Filled from `repos.tags`, which
-- stays (no longer written or read) so a replica of the previous release keeps working while a
-- rollout is under way.
CREATE TABLE repo_tags (
    repo_id INTEGER NOT NULL,
    ordinal INTEGER NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (repo_id, tag)
);
CREATE INDEX repo_tags_tag ON repo_tags (tag, repo_id);
-- Splits each newline-joined list; a tag listed twice keeps its first place, empty lines go.
INSERT INTO repo_tags (repo_id, ordinal, tag)
WITH RECURSIVE split (repo_id, ordinal, tag, rest) AS (
    SELECT id, 0, '', tags || char(10) FROM repos WHERE tags <> ''
    UNION ALL
    SELECT repo_id, ordinal + 1, substr(rest, 1, instr(rest, char(10)) - 1),
        substr(rest, instr(rest, char(10)) + 1)
    FROM split WHERE rest <> ''
)
SELECT repo_id, MIN(ordinal), tag FROM split WHERE ordinal > 0 AND tag <> '' GROUP BY repo_id, tag;
