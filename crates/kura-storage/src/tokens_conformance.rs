//! Conformance of `TokenStore`: lookup by secret hash, scopes and expiry kept as given, listing
//! per user without revoked tokens, revocation once. Run by `conformance::metadata_store`.

use kura_model::{Role, Sha256, TokenScope};

use crate::*;

fn new_token(user_id: i64, name: &str, secret: &[u8], role: Role, scopes: Vec<TokenScope>) -> NewToken {
    NewToken {
        user_id,
        name: name.into(),
        role,
        secret_hash: Sha256::digest(secret),
        created_at: 5,
        expires_at: None,
        scopes,
    }
}

/// Exercises every `TokenStore` method's contract (user names here are used nowhere else).
pub async fn token_store(store: &dyn MetadataStore) {
    let tara = store.create_user("tara", false, 1).await.unwrap();
    let uma = store.create_user("uma", false, 1).await.unwrap();
    let laptop =
        store.create_token(new_token(tara.id, "laptop", b"secret", Role::Write, vec![])).await.unwrap();
    assert_eq!(
        (laptop.role, laptop.user_id, laptop.last_used_at, laptop.revoked_at),
        (Role::Write, tara.id, None, None)
    );
    let found = store.token_by_hash(&Sha256::digest(b"secret")).await.unwrap().expect("token found");
    assert_eq!(found, laptop);
    assert!(store.token_by_hash(&Sha256::digest(b"other")).await.unwrap().is_none());
    let (with_user, user) =
        store.token_with_user(&Sha256::digest(b"secret")).await.unwrap().expect("token and user found");
    assert_eq!((with_user, user), (laptop.clone(), tara.clone()), "the token and its own user");
    assert!(store.token_with_user(&Sha256::digest(b"other")).await.unwrap().is_none());
    assert!(matches!(
        store.create_token(new_token(uma.id, "dup", b"secret", Role::Read, vec![])).await,
        Err(StorageError::AlreadyExists)
    ));

    let scopes = vec![
        TokenScope::parse("model:tara/m=repo.write").unwrap(),
        TokenScope::parse("*=repo.content.read").unwrap(),
    ];
    let fine = NewToken {
        expires_at: Some(99),
        ..new_token(tara.id, "ci \"quoted\" ✓", b"fine", Role::FineGrained, scopes.clone())
    };
    let fine = store.create_token(fine).await.unwrap();
    assert_eq!(
        (fine.scopes.clone(), fine.expires_at, fine.name.as_str()),
        (scopes, Some(99), "ci \"quoted\" ✓")
    );
    assert_eq!(store.token_by_id(fine.id).await.unwrap(), Some(fine.clone()));
    assert_eq!(store.token_by_id(-1).await.unwrap(), None);
    let other = store.create_token(new_token(uma.id, "uma", b"uma", Role::Read, vec![])).await.unwrap();

    store.touch_token(laptop.id, 9).await.unwrap();
    let touched = store.token_by_id(laptop.id).await.unwrap().unwrap();
    assert_eq!(touched.last_used_at, Some(9));
    assert_eq!(
        store.list_tokens(tara.id).await.unwrap(),
        vec![touched.clone(), fine.clone()],
        "oldest first"
    );
    assert_eq!(store.list_tokens(uma.id).await.unwrap(), vec![other]);

    store.revoke_token(laptop.id, 20).await.unwrap();
    assert!(matches!(store.revoke_token(laptop.id, 21).await, Err(StorageError::NotFound)), "once");
    assert!(matches!(store.revoke_token(-1, 21).await, Err(StorageError::NotFound)));
    let revoked = store.token_by_hash(&Sha256::digest(b"secret")).await.unwrap().expect("kept");
    assert_eq!(revoked.revoked_at, Some(20));
    assert_eq!(store.list_tokens(tara.id).await.unwrap(), vec![fine], "revoked tokens are not listed");
}
