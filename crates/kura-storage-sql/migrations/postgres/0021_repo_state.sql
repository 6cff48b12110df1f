-- A repo's `state`: a value that changes, in the same transaction, with everything its cached
-- answers are derived from besides its own row: its refs (what every revision resolves to),
-- the large objects linked to it (`usedStorage`, the read proof), the cards that link to it
-- (the Spaces using a model) and its own id. Readers read the row fresh on every request and
-- key what they derived from it by `(id, state)`, so a change made by any process or replica is
-- seen by the next request everywhere, with no message between them.
--
-- Values come from one sequence, never from the row's own previous value, so that no two
-- lifetimes of a repo id ever share a `(id, state)`.
ALTER TABLE repos ADD COLUMN state BIGINT NOT NULL DEFAULT 0;
CREATE SEQUENCE repo_state_seq;
-- Rows of earlier releases take fresh values; 0 is never cached.
UPDATE repos SET state = nextval('repo_state_seq');

CREATE FUNCTION kura_bump_repo_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE repos SET state = nextval('repo_state_seq') WHERE id = OLD.repo_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE repos SET state = nextval('repo_state_seq') WHERE id = NEW.repo_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER refs_state AFTER INSERT OR UPDATE OR DELETE ON refs
    FOR EACH ROW EXECUTE FUNCTION kura_bump_repo_state();
CREATE TRIGGER lfs_links_state AFTER INSERT OR DELETE ON repo_lfs_objects
    FOR EACH ROW EXECUTE FUNCTION kura_bump_repo_state();

-- Link targets are stored lower-cased as `namespace/name`; the lookup uses repos_id_nocase.
CREATE FUNCTION kura_bump_linked_state() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    link repo_links%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN link := OLD; ELSE link := NEW; END IF;
    UPDATE repos SET state = nextval('repo_state_seq')
    WHERE repo_type = link.kind
        AND lower(namespace) = split_part(link.target, '/', 1)
        AND lower(name) = split_part(link.target, '/', 2);
    RETURN NULL;
END;
$$;
CREATE TRIGGER repo_links_state AFTER INSERT OR DELETE ON repo_links
    FOR EACH ROW EXECUTE FUNCTION kura_bump_linked_state();

-- A new row, and a renamed one, take a fresh value before they are written.
CREATE FUNCTION kura_fresh_repo_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.state := nextval('repo_state_seq');
    RETURN NEW;
END;
$$;
CREATE TRIGGER repos_state_insert BEFORE INSERT ON repos
    FOR EACH ROW EXECUTE FUNCTION kura_fresh_repo_state();
CREATE TRIGGER repos_state_rename BEFORE UPDATE OF namespace, name ON repos
    FOR EACH ROW EXECUTE FUNCTION kura_fresh_repo_state();

-- What a large object's bytes are (its Xet record, and whether its SHA-256 was verified)
-- belongs to every repo holding the object: a change moves each of their states.
CREATE INDEX repo_lfs_objects_oid ON repo_lfs_objects (oid);
CREATE FUNCTION kura_bump_holders_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE repos SET state = nextval('repo_state_seq')
        WHERE id IN (SELECT repo_id FROM repo_lfs_objects WHERE oid = OLD.sha256);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE repos SET state = nextval('repo_state_seq')
        WHERE id IN (SELECT repo_id FROM repo_lfs_objects WHERE oid = NEW.sha256);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER xet_files_state AFTER INSERT OR UPDATE OR DELETE ON xet_files
    FOR EACH ROW EXECUTE FUNCTION kura_bump_holders_state();
