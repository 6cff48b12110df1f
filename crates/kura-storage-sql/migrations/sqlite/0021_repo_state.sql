-- A repo's `state`: a value that changes, in the same transaction, with everything its cached
-- answers are derived from besides its own row: its refs (what every revision resolves to),
-- the large objects linked to it (`usedStorage`, the read proof), the cards that link to it
-- (the Spaces using a model) and its own id. Readers read the row fresh on every request and
-- key what they derived from it by `(id, state)`, so a change made by any process or replica is
-- seen by the next request everywhere, with no message between them.
--
-- Values come from one counter that only grows, never from the row's own previous value:
-- SQLite may give a deleted repo's id to the next new repo, and that repo must not find the
-- deleted one's entries under the same `(id, state)`.
ALTER TABLE repos ADD COLUMN state INTEGER NOT NULL DEFAULT 0;
CREATE TABLE repo_state_seq (value INTEGER NOT NULL);
-- Rows of earlier releases take their id (distinct), and the counter starts above them all;
-- 0 is left to a row being inserted (INSERT ... RETURNING answers before the triggers run), and
-- is never cached.
UPDATE repos SET state = id;
INSERT INTO repo_state_seq (value) SELECT COALESCE(MAX(id), 0) FROM repos;
CREATE TRIGGER repos_state_insert AFTER INSERT ON repos BEGIN
    UPDATE repo_state_seq SET value = value + 1;
    UPDATE repos SET state = (SELECT value FROM repo_state_seq) WHERE id = NEW.id;
END;
CREATE TRIGGER repos_state_rename AFTER UPDATE OF namespace, name ON repos BEGIN
    UPDATE repo_state_seq SET value = value + 1;
    UPDATE repos SET state = (SELECT value FROM repo_state_seq) WHERE id = NEW.id;
END;
CREATE TRIGGER refs_state_insert AFTER INSERT ON refs BEGIN
    UPDATE repo_state_seq SET value = value + 1;
    UPDATE repos SET state = (SELECT value FROM repo_state_seq) WHERE id = NEW.repo_id;
END;
CREATE TRIGGER refs_state_update AFTER UPDATE ON refs BEGIN
    UPDATE repo_state_seq SET value = value + 1;
    UPDATE repos SET state = (SELECT value FROM repo_state_seq) WHERE id = NEW.repo_id OR id = OLD.repo_id;
END;
CREATE TRIGGER refs_state_delete AFTER DELETE ON refs BEGIN
    UPDATE repo_state_seq SET value = value + 1;
    UPDATE repos SET state = (SELECT value FROM repo_state_seq) WHERE id = OLD.repo_id;
END;
CREATE TRIGGER lfs_links_state_insert AFTER INSERT ON repo_lfs_objects BEGIN
    UPDATE repo_state_seq SET value = value + 1;
    UPDATE repos SET state = (SELECT value FROM repo_state_seq) WHERE id = NEW.repo_id;
END;
CREATE TRIGGER lfs_links_state_delete AFTER DELETE ON repo_lfs_objects BEGIN
    UPDATE repo_state_seq SET value = value + 1;
    UPDATE repos SET state = (SELECT value FROM repo_state_seq) WHERE id = OLD.repo_id;
END;
-- Link targets are stored lower-cased as `namespace/name`; the lookup uses repos_id_nocase.
CREATE TRIGGER repo_links_state_insert AFTER INSERT ON repo_links BEGIN
    UPDATE repo_state_seq SET value = value + 1;
    UPDATE repos SET state = (SELECT value FROM repo_state_seq)
    WHERE repo_type = NEW.kind
        AND lower(namespace) = substr(NEW.target, 1, instr(NEW.target, '/') - 1)
        AND lower(name) = substr(NEW.target, instr(NEW.target, '/') + 1);
END;
CREATE TRIGGER repo_links_state_delete AFTER DELETE ON repo_links BEGIN
    UPDATE repo_state_seq SET value = value + 1;
    UPDATE repos SET state = (SELECT value FROM repo_state_seq)
    WHERE repo_type = OLD.kind
        AND lower(namespace) = substr(OLD.target, 1, instr(OLD.target, '/') - 1)
        AND lower(name) = substr(OLD.target, instr(OLD.target, '/') + 1);
END;
-- What a large object's bytes are (its Xet record, and whether its SHA-256 was verified)
-- belongs to every repo holding the object: a change moves each of their states.
CREATE INDEX repo_lfs_objects_oid ON repo_lfs_objects (oid);
CREATE TRIGGER xet_files_state_insert AFTER INSERT ON xet_files BEGIN
    UPDATE repo_state_seq SET value = value + 1;
    UPDATE repos SET state = (SELECT value FROM repo_state_seq)
    WHERE id IN (SELECT repo_id FROM repo_lfs_objects WHERE oid = NEW.sha256);
END;
CREATE TRIGGER xet_files_state_update AFTER UPDATE ON xet_files BEGIN
    UPDATE repo_state_seq SET value = value + 1;
    UPDATE repos SET state = (SELECT value FROM repo_state_seq)
    WHERE id IN (SELECT repo_id FROM repo_lfs_objects WHERE oid = NEW.sha256 OR oid = OLD.sha256);
END;
CREATE TRIGGER xet_files_state_delete AFTER DELETE ON xet_files BEGIN
    UPDATE repo_state_seq SET value = value + 1;
    UPDATE repos SET state = (SELECT value FROM repo_state_seq)
    WHERE id IN (SELECT repo_id FROM repo_lfs_objects WHERE oid = OLD.sha256);
END;
