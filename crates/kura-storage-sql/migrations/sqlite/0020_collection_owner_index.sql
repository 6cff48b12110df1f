-- Listings filter collections by owner in any case (`owner=` names a namespace as typed).
CREATE INDEX collections_by_owner ON collections (lower(namespace), updated_at);
