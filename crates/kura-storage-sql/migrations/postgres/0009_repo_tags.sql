-- A repo's README tags, one row each, in the README's order (`ordinal`), so listing filters by
-- tag with an index instead of searching newline-joined text. Filled from `repos.tags`, which
-- stays (no longer written or read) so a replica of the previous release keeps working while a
-- rollout is under way.
CREATE TABLE repo_tags (
    repo_id BIGINT NOT NULL,
    ordinal BIGINT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (repo_id, tag)
);
CREATE INDEX repo_tags_tag ON repo_tags (tag, repo_id);
-- Splits each newline-joined list; a tag listed twice keeps its first place, empty lines go.
INSERT INTO repo_tags (repo_id, ordinal, tag)
SELECT r.id, MIN(t.ordinal), t.tag
FROM repos r
CROSS JOIN LATERAL unnest(string_to_array(r.tags, chr(10))) WITH ORDINALITY AS t (tag, ordinal)
WHERE r.tags <> '' AND t.tag <> ''
GROUP BY r.id, t.tag;
