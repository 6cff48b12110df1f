//! Shared conformance suites: every engine must pass these. Engines call them from their own
//! tests with a fresh store.

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use kura_model::{ObjectId, RefName, RepoId, RepoType, Sha256};

use crate::*;

pub use crate::inventory_conformance::inventory_store;

fn oid(n: u8) -> ObjectId {
    ObjectId([n; 20])
}

async fn collect(mut stream: ByteStream) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.expect("stream chunk"));
    }
    out
}

/// Exercises every `MetadataStore` method's contract.
/// A repo of `repo_type` for a conformance check, created at time 100 by nobody.
pub(crate) async fn new_repo(
    store: &dyn MetadataStore,
    repo_type: RepoType,
    id: &str,
    private: bool,
) -> RepoRecord {
    let repo_id = RepoId::parse(id).unwrap();
    let new = NewRepo {
        repo_type,
        repo_id,
        private,
        created_at: 100,
        initial_commit: ObjectId([9; 20]),
        created_by: None,
    };
    store.create_repo(new).await.unwrap()
}

pub async fn metadata_store(store: &dyn MetadataStore) {
    let first = store.server_secret("signing-key", "aaa").await.expect("store secret");
    assert_eq!(first, "aaa");
    assert_eq!(store.server_secret("signing-key", "bbb").await.unwrap(), "aaa", "first value wins");
    let alice = store.create_user("alice", false, 1).await.expect("create user");
    assert!(matches!(store.create_user("alice", false, 1).await, Err(StorageError::AlreadyExists)));
    store.create_org("acme", alice.id, 2).await.expect("create org");
    assert!(matches!(store.create_user("acme", false, 1).await, Err(StorageError::AlreadyExists)));
    assert!(matches!(store.create_org("alice", alice.id, 1).await, Err(StorageError::AlreadyExists)));
    assert_eq!(store.namespace_kind("acme").await.unwrap(), Some(NamespaceKind::Org));
    assert_eq!(store.namespace_kind("alice").await.unwrap(), Some(NamespaceKind::User));
    assert_eq!(store.namespace_kind("nobody").await.unwrap(), None);
    assert_eq!(store.org_role("acme", alice.id).await.unwrap(), Some(OrgRole::Admin));
    let bob = store.create_user("bob", false, 3).await.unwrap();
    assert_eq!(store.org_role("acme", bob.id).await.unwrap(), None);
    store.set_org_member("acme", bob.id, OrgRole::Read).await.unwrap();
    store.set_org_member("acme", bob.id, OrgRole::Write).await.unwrap();
    assert_eq!(store.user_orgs(bob.id).await.unwrap(), vec![("acme".to_owned(), OrgRole::Write)]);
    // Several orgs come by name, each with its own role.
    let carol = store.create_user("carol", false, 3).await.unwrap();
    assert_eq!(store.user_orgs(carol.id).await.unwrap(), vec![]);
    store.create_org("zeta-lab", carol.id, 3).await.unwrap();
    store.create_org("beta-lab", carol.id, 3).await.unwrap();
    assert_eq!(
        store.user_orgs(carol.id).await.unwrap(),
        vec![("beta-lab".to_owned(), OrgRole::Admin), ("zeta-lab".to_owned(), OrgRole::Admin)]
    );
    let members = store.org_members("acme").await.unwrap();
    let names: Vec<(&str, OrgRole)> = members.iter().map(|(u, r)| (u.name.as_str(), *r)).collect();
    assert_eq!(names, vec![("alice", OrgRole::Admin), ("bob", OrgRole::Write)]);
    // The last admin can be neither demoted nor removed; nothing changes.
    assert!(matches!(
        store.set_org_member("acme", alice.id, OrgRole::Write).await,
        Err(StorageError::Conflict)
    ));
    assert!(matches!(store.remove_org_member("acme", alice.id).await, Err(StorageError::Conflict)));
    assert_eq!(store.org_role("acme", alice.id).await.unwrap(), Some(OrgRole::Admin));
    assert!(matches!(store.set_org_member("nope", bob.id, OrgRole::Read).await, Err(StorageError::NotFound)));
    store.set_org_member("acme", bob.id, OrgRole::Admin).await.unwrap();
    store.set_org_member("acme", alice.id, OrgRole::Contributor).await.expect("another admin is left");
    store.remove_org_member("acme", alice.id).await.unwrap();
    assert!(matches!(store.remove_org_member("acme", alice.id).await, Err(StorageError::NotFound)));
    assert_eq!(store.org_role("acme", alice.id).await.unwrap(), None);
    store.set_org_member("acme", alice.id, OrgRole::Admin).await.unwrap();
    store.set_org_member("acme", bob.id, OrgRole::Write).await.unwrap();
    assert_eq!(store.user_by_id(bob.id).await.unwrap().unwrap().name, "bob");

    let repo_id = RepoId::parse("alice/model").unwrap();
    let new_repo = NewRepo {
        repo_type: RepoType::Model,
        repo_id: repo_id.clone(),
        private: false,
        created_at: 10,
        initial_commit: oid(1),
        created_by: Some(alice.id),
    };
    let repo = store.create_repo(new_repo.clone()).await.unwrap();
    assert!(matches!(store.create_repo(new_repo.clone()).await, Err(StorageError::AlreadyExists)));
    let dataset = store
        .create_repo(NewRepo { repo_type: RepoType::Dataset, ..new_repo.clone() })
        .await
        .expect("same id, other type");
    assert_ne!(dataset.id, repo.id);
    assert_eq!(repo.created_by, Some(alice.id), "the creator is kept");
    let main = RefName::branch("main").unwrap();
    assert_eq!(store.ref_target(repo.id, &main).await.unwrap(), Some(oid(1)));
    assert!(store.has_commit(repo.id, &oid(1)).await.unwrap());
    assert!(!store.has_commit(dataset.id, &oid(9)).await.unwrap());

    // Compare-and-swap.
    store.update_ref(repo.id, &main, Some(oid(1)), Some(oid(2)), 20).await.unwrap();
    assert!(matches!(
        store.update_ref(repo.id, &main, Some(oid(1)), Some(oid(3)), 21).await,
        Err(StorageError::Conflict)
    ));
    assert_eq!(store.ref_target(repo.id, &main).await.unwrap(), Some(oid(2)));
    let tag = RefName::tag("v1").unwrap();
    store.update_ref(repo.id, &tag, None, Some(oid(2)), 22).await.unwrap();
    assert!(matches!(
        store.update_ref(repo.id, &tag, None, Some(oid(3)), 23).await,
        Err(StorageError::Conflict)
    ));
    assert_eq!(store.refs(repo.id).await.unwrap().len(), 2);
    store.update_ref(repo.id, &tag, Some(oid(2)), None, 24).await.unwrap();
    assert_eq!(store.ref_target(repo.id, &tag).await.unwrap(), None);
    assert!(matches!(
        store.update_ref(repo.id, &tag, Some(oid(2)), None, 25).await,
        Err(StorageError::Conflict)
    ));
    assert_eq!(store.repo(RepoType::Model, &repo_id).await.unwrap().unwrap().last_modified, 24);

    store.add_commits(repo.id, &[oid(2), oid(0xab)]).await.unwrap();
    store.add_commits(repo.id, &[oid(2)]).await.expect("idempotent");
    assert_eq!(store.commits_with_prefix(repo.id, "abab", 5).await.unwrap(), vec![oid(0xab)]);

    // Settings, tags, listing, rename, delete.
    store.set_repo_private(repo.id, true).await.unwrap();
    store.set_repo_gating(repo.id, Gating::Manual).await.unwrap();
    store.set_repo_tags(repo.id, &["text".to_owned(), "en".to_owned()]).await.unwrap();
    let record = store.repo(RepoType::Model, &repo_id).await.unwrap().unwrap();
    assert!(record.private);
    assert_eq!(record.gating, Gating::Manual);
    assert_eq!(record.tags, ["text", "en"]);
    let mut query = RepoQuery {
        repo_type: RepoType::Model,
        search: Some("MOD".into()),
        author: None,
        tags: vec!["en".into()],
        private_namespaces: Some(vec![]),
        private_repos: vec![],
        parameters: None,
        linking: None,
        pipeline_tag: None,
        sort: RepoSort::Id,
        descending: false,
        offset: 0,
        limit: 10,
    };
    assert!(store.list_repos(&query).await.unwrap().is_empty(), "private hidden");
    query.private_repos = vec![RepoId::parse("alice/other").unwrap(), repo_id.clone()];
    assert_eq!(store.list_repos(&query).await.unwrap().len(), 1, "private repo listed by id");
    query.private_repos = vec![RepoId::parse("alice/other").unwrap()];
    assert!(store.list_repos(&query).await.unwrap().is_empty(), "only the repos named");
    query.private_repos = vec![];
    query.private_namespaces = Some(vec!["alice".into()]);
    assert_eq!(store.list_repos(&query).await.unwrap().len(), 1);
    query.tags = vec!["fr".into()];
    assert!(store.list_repos(&query).await.unwrap().is_empty());

    let renamed = RepoId::parse("acme/model2").unwrap();
    store.rename_repo(repo.id, &renamed).await.unwrap();
    assert!(store.repo(RepoType::Model, &repo_id).await.unwrap().is_none());
    assert_eq!(store.repo(RepoType::Model, &renamed).await.unwrap().unwrap().id, repo.id);

    // Content index.
    let blob = Sha256::digest(b"weights");
    assert_eq!(store.lfs_object_size(&blob).await.unwrap(), None);
    store.record_lfs_object(&blob, 7, 30).await.unwrap();
    store.record_lfs_object(&blob, 7, 31).await.expect("idempotent");
    assert_eq!(store.lfs_object_size(&blob).await.unwrap(), Some(7));
    assert!(!store.repo_has_lfs_object(repo.id, &blob).await.unwrap());
    store.link_lfs_object(repo.id, &blob).await.unwrap();
    store.link_lfs_object(repo.id, &blob).await.expect("idempotent");
    assert!(store.repo_has_lfs_object(repo.id, &blob).await.unwrap());
    repo_lfs_listing(store, repo.id, &blob).await;
    // Held by a public repo only while that repo is public and not gated.
    store.set_repo_private(repo.id, false).await.unwrap();
    store.set_repo_gating(repo.id, Gating::Off).await.unwrap();
    assert!(store.public_repo_holds(&blob).await.unwrap());
    assert!(!store.public_repo_holds(&Sha256::digest(b"other")).await.unwrap());
    store.set_repo_gating(repo.id, Gating::Manual).await.unwrap();
    assert!(!store.public_repo_holds(&blob).await.unwrap(), "gated");
    store.set_repo_gating(repo.id, Gating::Off).await.unwrap();
    store.set_repo_private(repo.id, true).await.unwrap();
    assert!(!store.public_repo_holds(&blob).await.unwrap(), "private");

    // Xet indexes.
    assert!(store.record_xorb("ab12", 3, 300, 200, 40).await.unwrap());
    assert!(!store.record_xorb("ab12", 3, 300, 200, 41).await.unwrap(), "second insert reports existing");
    assert!(store.xorb_exists("ab12").await.unwrap());
    assert!(!store.xorb_exists("cd34").await.unwrap());
    assert_eq!(store.xorb_bytes().await.unwrap(), 200);
    let file =
        XetFileRecord { file_hash: "f00d".into(), sha256: blob, size: 7, terms: "ab12:0:3:300".into() };
    store.record_xet_file(&file, 42).await.unwrap();
    store.record_xet_file(&file, 43).await.expect("idempotent");
    assert_eq!(store.xet_file("f00d").await.unwrap(), Some(file.clone()));
    assert_eq!(store.xet_file_by_sha256(&blob).await.unwrap(), Some(file));
    assert_eq!(store.xet_file("beef").await.unwrap(), None);
    store.index_chunks(&[("c1".into(), "ab12".into()), ("c2".into(), "ab12".into())]).await.unwrap();
    store.index_chunks(&[("c1".into(), "newer".into())]).await.expect("re-indexing is allowed");
    assert_eq!(store.xorb_for_chunk("c1").await.unwrap().as_deref(), Some("newer"), "the newest entry wins");
    assert_eq!(store.xorb_for_chunk("c2").await.unwrap().as_deref(), Some("ab12"));
    assert_eq!(store.xorb_for_chunk("c3").await.unwrap(), None);

    store.delete_repo(repo.id).await.unwrap();
    assert!(store.repo(RepoType::Model, &renamed).await.unwrap().is_none());
    assert!(store.refs(repo.id).await.unwrap().is_empty());
    assert!(!store.repo_has_lfs_object(repo.id, &blob).await.unwrap());

    crate::tags_conformance::repo_tags(store).await;
    crate::ids_conformance::repo_ids(store).await;
    crate::access_conformance::access_store(store).await;
    crate::tokens_conformance::token_store(store).await;
    crate::session_conformance::session_store(store).await;
    crate::jobs_conformance::job_store(store).await;
    crate::mirror_conformance::mirror_store(store).await;
    crate::discussions_conformance::discussion_store(store).await;
    crate::likes_conformance::like_store(store).await;
    crate::collections_conformance::collection_store(store).await;
    crate::downloads_conformance::download_store(store).await;
    crate::spaces_conformance::space_store(store).await;
    crate::state_conformance::repo_state(store).await;
}

/// The repo's linked objects: listed by SHA-256 with size and time, a link without stored
/// bytes left out, unlinking counts what it removed and leaves the bytes' record alone.
async fn repo_lfs_listing(store: &dyn MetadataStore, repo: i64, blob: &Sha256) {
    let listed = store.repo_lfs_objects(repo, None, 10).await.unwrap();
    assert_eq!(listed, vec![RepoLfsObject { oid: *blob, size: 7, stored_at: 30 }]);
    let dangling = Sha256::digest(b"no bytes");
    store.link_lfs_object(repo, &dangling).await.unwrap();
    assert_eq!(store.repo_lfs_objects(repo, None, 10).await.unwrap().len(), 1, "no bytes, not listed");
    assert_eq!(store.repo_lfs_bytes(repo).await.unwrap(), 7, "the sum counts stored objects only");
    assert!(store.repo_lfs_objects(repo, Some(blob), 10).await.unwrap().is_empty(), "keyset");
    let extra = Sha256::digest(b"extra");
    store.record_lfs_object(&extra, 5, 33).await.unwrap();
    store.link_lfs_object(repo, &extra).await.unwrap();
    let first = store.repo_lfs_objects(repo, None, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    let rest = store.repo_lfs_objects(repo, Some(&first[0].oid), 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_ne!(rest[0].oid, first[0].oid);
    assert_eq!(
        store.unlink_lfs_objects(repo, &[extra, dangling, Sha256::digest(b"never")]).await.unwrap(),
        2
    );
    assert!(!store.repo_has_lfs_object(repo, &extra).await.unwrap());
    assert_eq!(store.lfs_object_size(&extra).await.unwrap(), Some(5), "bytes' record stays");
    assert!(store.repo_has_lfs_object(repo, blob).await.unwrap());
}

/// Exercises every `BlobStore` method's contract.
pub async fn blob_store(store: &dyn BlobStore) {
    let key = BlobKey::new("test/ab/cdef");
    assert_eq!(store.size(&key).await.unwrap(), None);
    assert!(matches!(store.get_bytes(&key).await, Err(StorageError::NotFound)));
    assert!(matches!(store.get(&key, 0, None).await, Err(StorageError::NotFound)));

    let chunks = vec![Ok(Bytes::from_static(b"hello ")), Ok(Bytes::from_static(b"world"))];
    let written = store.put(&key, Box::pin(stream::iter(chunks))).await.unwrap();
    assert_eq!(written, 11);
    assert_eq!(store.size(&key).await.unwrap(), Some(11));
    assert_eq!(&store.get_bytes(&key).await.unwrap()[..], b"hello world");
    assert_eq!(collect(store.get(&key, 6, None).await.unwrap()).await, b"world");
    assert_eq!(collect(store.get(&key, 2, Some(3)).await.unwrap()).await, b"llo");
    assert_eq!(&store.get_range(&key, 2, 3).await.unwrap()[..], b"llo");
    let many = store.get_many(&[key.clone(), BlobKey::new("test/none"), key.clone()]).await;
    assert_eq!(many.len(), 3);
    assert_eq!(&many[0].as_ref().unwrap()[..], b"hello world");
    assert!(matches!(many[1], Err(StorageError::NotFound)));
    assert_eq!(&many[2].as_ref().unwrap()[..], b"hello world");
    assert_eq!(&store.get_range(&key, 0, 11).await.unwrap()[..], b"hello world");
    assert!(store.get_range(&key, 6, 6).await.is_err(), "a range past the end is an error");
    assert!(matches!(store.get_range(&BlobKey::new("test/none"), 0, 1).await, Err(StorageError::NotFound)));
    for (offset, len) in [(0, 11), (2, 3), (6, 5), (11, 0)] {
        let once = store.get_range_once(&key, offset, len).await.unwrap();
        assert_eq!(
            &once[..],
            &b"hello world"[offset as usize..(offset + len) as usize],
            "once {offset}+{len}"
        );
    }
    assert!(store.get_range_once(&key, 6, 6).await.is_err(), "a range past the end is an error");
    assert!(matches!(
        store.get_range_once(&BlobKey::new("test/none"), 0, 1).await,
        Err(StorageError::NotFound)
    ));

    // A failing stream stores nothing, even over an existing key.
    let failing = vec![Ok(Bytes::from_static(b"partial")), Err(std::io::Error::other("hash mismatch"))];
    let other = BlobKey::new("test/failing");
    assert!(matches!(store.put(&other, Box::pin(stream::iter(failing))).await, Err(StorageError::Stream(_))));
    assert_eq!(store.size(&other).await.unwrap(), None);

    store.put_bytes(&other, Bytes::from_static(b"x")).await.unwrap();
    assert_eq!(store.size(&other).await.unwrap(), Some(1));
    store.delete(&other).await.unwrap();
    store.delete(&other).await.expect("deleting a missing object is fine");
    assert_eq!(store.size(&other).await.unwrap(), None);
}

/// Exercises `BlobStore::list`: every object under a prefix at any depth, with its size and a
/// plausible modification time, and nothing outside it.
pub async fn blob_store_listing(store: &dyn BlobStore) {
    let prefix = BlobKey::new("listing/root");
    let empty: Vec<BlobMeta> =
        store.list(&prefix).await.unwrap().map(|m| m.unwrap()).collect::<Vec<_>>().await;
    assert!(empty.is_empty(), "a prefix with nothing under it lists nothing");
    let deep = BlobKey::new("listing/root/ab/deep.chunks");
    let shallow = BlobKey::new("listing/root/top");
    let outside = BlobKey::new("listing/rooted/not-under");
    store.put_bytes(&deep, Bytes::from_static(b"12345")).await.unwrap();
    store.put_bytes(&shallow, Bytes::from_static(b"1")).await.unwrap();
    store.put_bytes(&outside, Bytes::from_static(b"1")).await.unwrap();
    let mut listed: Vec<BlobMeta> =
        store.list(&prefix).await.unwrap().map(|m| m.expect("listing entry")).collect::<Vec<_>>().await;
    listed.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    let keys: Vec<(&str, u64)> = listed.iter().map(|m| (m.key.as_str(), m.size)).collect();
    assert_eq!(keys, vec![("listing/root/ab/deep.chunks", 5), ("listing/root/top", 1)]);
    let year_2020 = 1_577_836_800_000;
    assert!(listed.iter().all(|m| m.modified > year_2020), "modification times are Unix millis");
    for key in [&deep, &shallow, &outside] {
        store.delete(key).await.unwrap();
    }
    let after: Vec<BlobMeta> =
        store.list(&prefix).await.unwrap().map(|m| m.unwrap()).collect::<Vec<_>>().await;
    assert!(after.is_empty(), "deleted objects are no longer listed");
}
