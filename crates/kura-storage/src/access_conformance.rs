//! Conformance of `AccessStore`: access requests (one per repo and user, removed with the repo)
//! and the append-only audit log. Run by `conformance::metadata_store`.

use kura_model::{ObjectId, RepoId, RepoType};

use crate::*;

fn new_request(repo_id: i64, user_id: i64, status: AccessStatus, now: i64) -> NewAccessRequest {
    NewAccessRequest { repo_id, user_id, status, fields: Some(r#"{"org":"x"}"#.into()), now }
}

fn audit(at: i64, action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at,
        actor: Some("gina".into()),
        action: action.into(),
        target: "model:gina/gated".into(),
        details: "{}".into(),
    }
}

/// Exercises every `AccessStore` method's contract on a store that already ran the rest of
/// the metadata suite (names used here are not used there).
pub async fn access_store(store: &dyn MetadataStore) {
    let gina = store.create_user("gina", false, 100).await.unwrap();
    let hank = store.create_user("hank", false, 100).await.unwrap();
    let ivan = store.create_user("ivan", false, 100).await.unwrap();
    let repo = store
        .create_repo(NewRepo {
            repo_type: RepoType::Model,
            repo_id: RepoId::parse("gina/gated").unwrap(),
            private: false,
            created_at: 100,
            initial_commit: ObjectId([7; 20]),
            created_by: None,
        })
        .await
        .unwrap();

    assert_eq!(store.access_request(repo.id, hank.id).await.unwrap(), None);
    let first = store
        .create_access_request(&new_request(repo.id, hank.id, AccessStatus::Pending, 101))
        .await
        .unwrap();
    assert_eq!((first.user_name.as_str(), first.status), ("hank", AccessStatus::Pending));
    assert_eq!(first.fields.as_deref(), Some(r#"{"org":"x"}"#));
    assert_eq!((first.created_at, first.updated_at), (101, 101));
    assert!(matches!(
        store.create_access_request(&new_request(repo.id, hank.id, AccessStatus::Accepted, 102)).await,
        Err(StorageError::AlreadyExists)
    ));
    let second = store
        .create_access_request(&new_request(repo.id, ivan.id, AccessStatus::Accepted, 103))
        .await
        .unwrap();
    assert_eq!(store.access_request(repo.id, hank.id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.access_request_by_id(repo.id, second.id).await.unwrap(), Some(second.clone()));
    assert_eq!(
        store.access_request_by_id(repo.id + 1000, second.id).await.unwrap(),
        None,
        "scoped to the repo"
    );

    let pending = store.list_access_requests(repo.id, AccessStatus::Pending, 0, 10).await.unwrap();
    assert_eq!(pending, vec![first.clone()]);
    store.set_access_status(first.id, AccessStatus::Rejected, Some("no"), 104).await.unwrap();
    let rejected = store.access_request(repo.id, hank.id).await.unwrap().unwrap();
    assert_eq!(
        (rejected.status, rejected.rejection_reason.as_deref(), rejected.updated_at),
        (AccessStatus::Rejected, Some("no"), 104)
    );
    store.set_access_status(first.id, AccessStatus::Accepted, Some("ignored"), 105).await.unwrap();
    let accepted = store.list_access_requests(repo.id, AccessStatus::Accepted, 0, 10).await.unwrap();
    assert_eq!(accepted.iter().map(|r| r.id).collect::<Vec<_>>(), vec![first.id, second.id], "oldest first");
    assert_eq!(accepted[0].rejection_reason, None, "a reason is kept only for rejections");
    assert_eq!(
        store.list_access_requests(repo.id, AccessStatus::Accepted, 1, 10).await.unwrap(),
        vec![second]
    );
    assert_eq!(store.list_access_requests(repo.id, AccessStatus::Accepted, 0, 1).await.unwrap().len(), 1);
    assert!(matches!(
        store.set_access_status(-5, AccessStatus::Pending, None, 106).await,
        Err(StorageError::NotFound)
    ));

    store.delete_repo(repo.id).await.unwrap();
    assert_eq!(store.access_request(repo.id, hank.id).await.unwrap(), None, "requests go with the repo");
    assert!(store.list_access_requests(repo.id, AccessStatus::Accepted, 0, 10).await.unwrap().is_empty());
    let _ = gina;

    let before = store.audit_entries(0, 1000).await.unwrap().len();
    store.append_audit(&audit(200, "access.request")).await.unwrap();
    store.append_audit(&NewAuditEntry { actor: None, ..audit(201, "access.grant") }).await.unwrap();
    let entries = store.audit_entries(0, 2).await.unwrap();
    assert_eq!(entries[0].entry, NewAuditEntry { actor: None, ..audit(201, "access.grant") }, "newest first");
    assert_eq!(entries[1].entry, audit(200, "access.request"));
    assert!(entries[0].id > entries[1].id);
    assert_eq!(store.audit_entries(1, 1).await.unwrap()[0].entry.action, "access.request");
    assert_eq!(store.audit_entries(0, 1000).await.unwrap().len(), before + 2);
}
