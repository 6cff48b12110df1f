-- Repo ids are unique per type whatever their case, as on the Hub: `alice/demo` and
-- `alice/Demo` name one repo. Earlier releases compared ids exactly, so a database may already
-- hold repos that differ only in case. kura has no command to rename a repo while the server is
-- down, so refusing to start would leave the operator with hand-written SQL: instead each such
-- repo but the oldest is marked a `case_twin` (its own id; 0 for every other repo), which keeps
-- it out of the unique index. All stay reachable by their exact names; a lookup in another case
-- prefers the exact spelling, then the oldest. Renaming a twin clears the mark (the index then
-- decides whether its new name is free). docs/deploy.md tells operators how to find twins.
ALTER TABLE repos ADD COLUMN case_twin BIGINT NOT NULL DEFAULT 0;
UPDATE repos SET case_twin = id WHERE EXISTS (
    SELECT 1 FROM repos older
    WHERE older.repo_type = repos.repo_type AND lower(older.namespace) = lower(repos.namespace)
        AND lower(older.name) = lower(repos.name) AND older.id < repos.id
);
CREATE UNIQUE INDEX repos_id_nocase ON repos (repo_type, lower(namespace), lower(name), case_twin);
-- A moved repo's earlier ids, answered with a redirect to its current one. A new repo created
-- at an old id takes it over (the row goes); deleting the repo drops its rows.
CREATE TABLE repo_redirects (
    repo_type TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    repo_id BIGINT NOT NULL
);
CREATE UNIQUE INDEX repo_redirects_old_id ON repo_redirects (repo_type, lower(namespace), lower(name));
CREATE INDEX repo_redirects_repo ON repo_redirects (repo_id);
