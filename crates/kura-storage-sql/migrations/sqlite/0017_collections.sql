-- Collections: curated lists owned by a user or an org (`namespace`, spelled as the namespace
-- is). `public_id` is the 24 hex digits a slug ends with; `position` orders a namespace's
-- collections and is distinct within it.
CREATE TABLE collections (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    namespace TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    private INTEGER NOT NULL,
    theme TEXT NOT NULL,
    position INTEGER NOT NULL,
    upvotes INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (namespace, title)
);
CREATE INDEX collections_by_position ON collections (namespace, position);
CREATE INDEX collections_by_update ON collections (updated_at);
-- Their items: a repo (`kind` 'repo', `target` a repos.id) or a collection ('collection', a
-- collections.id), each at most once per collection; `position` orders them and is distinct
-- within a collection. Deleting a repo or a collection deletes the items naming it.
CREATE TABLE collection_items (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    collection_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    target INTEGER NOT NULL,
    position INTEGER NOT NULL,
    note TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (collection_id, kind, target)
);
CREATE INDEX collection_items_by_position ON collection_items (collection_id, position);
CREATE INDEX collection_items_by_target ON collection_items (kind, target);
