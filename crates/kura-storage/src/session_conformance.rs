//! Conformance of `SessionStore`: password hashes on users and sessions keyed by the hash of
//! their id. Run by `conformance::metadata_store`.

use kura_model::Sha256;

use crate::*;

fn session(secret: &str, user_id: i64, created_at: i64, expires_at: i64) -> SessionRecord {
    SessionRecord {
        id_hash: Sha256::digest(secret.as_bytes()),
        user_id,
        created_at,
        expires_at,
        last_seen_at: created_at,
    }
}

/// Exercises every `SessionStore` method's contract on a store that already ran the rest of
/// the metadata suite (names used here are not used there).
pub async fn session_store(store: &dyn MetadataStore) {
    let kate = store.create_user("kate", false, 100).await.unwrap();
    let liam = store.create_user("liam", false, 100).await.unwrap();

    assert_eq!(store.password_hash(kate.id).await.unwrap(), None, "no password until one is set");
    store.set_password_hash(kate.id, Some("$argon2id$v=19$x")).await.unwrap();
    assert_eq!(store.password_hash(kate.id).await.unwrap().as_deref(), Some("$argon2id$v=19$x"));
    assert_eq!(store.password_hash(liam.id).await.unwrap(), None, "per user");
    store.set_password_hash(kate.id, None).await.unwrap();
    assert_eq!(store.password_hash(kate.id).await.unwrap(), None, "cleared");
    assert!(matches!(store.set_password_hash(-7, Some("h")).await, Err(StorageError::NotFound)));
    assert_eq!(store.password_hash(-7).await.unwrap(), None);

    let first = session("s1", kate.id, 200, 1_000);
    store.create_session(&first).await.unwrap();
    assert!(matches!(store.create_session(&first).await, Err(StorageError::AlreadyExists)));
    assert_eq!(store.session(&first.id_hash).await.unwrap(), Some(first.clone()));
    assert_eq!(store.session(&Sha256::digest(b"other")).await.unwrap(), None);
    store.touch_session(&first.id_hash, 300).await.unwrap();
    let touched = store.session(&first.id_hash).await.unwrap().unwrap();
    assert_eq!((touched.last_seen_at, touched.expires_at, touched.created_at), (300, 1_000, 200));

    assert!(store.delete_session(&first.id_hash).await.unwrap());
    assert!(!store.delete_session(&first.id_hash).await.unwrap(), "already gone");
    assert_eq!(store.session(&first.id_hash).await.unwrap(), None);

    store.create_session(&session("k1", kate.id, 1, 500)).await.unwrap();
    store.create_session(&session("k2", kate.id, 1, 5_000)).await.unwrap();
    store.create_session(&session("l1", liam.id, 1, 500)).await.unwrap();
    assert_eq!(store.delete_expired_sessions(500).await.unwrap(), 2, "expiry at `now` counts");
    assert!(store.session(&Sha256::digest(b"k2")).await.unwrap().is_some());
    store.create_session(&session("k3", kate.id, 1, 5_000)).await.unwrap();
    store.create_session(&session("l2", liam.id, 1, 5_000)).await.unwrap();
    assert_eq!(store.delete_user_sessions(kate.id).await.unwrap(), 2);
    assert_eq!(store.session(&Sha256::digest(b"k3")).await.unwrap(), None);
    assert!(store.session(&Sha256::digest(b"l2")).await.unwrap().is_some(), "other users keep theirs");
}
