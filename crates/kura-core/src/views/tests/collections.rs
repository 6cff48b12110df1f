//! Snapshot tests of the collection views (`get_collection`, `list_collections`, and the 409
//! that `create_collection(exists_ok=True)` reads).

use kura_model::RepoType;
use kura_storage::Gating;

use super::{TIME, check, repo};
use crate::views::{CollectionExistsView, CollectionView};

#[test]
fn collection_views() {
    use kura_storage::{CollectionItemRecord, CollectionRecord, ItemObject, NamespaceKind};
    let collection = |title: &str, n: u8| CollectionRecord {
        id: i64::from(n),
        public_id: format!("{n:024x}"),
        namespace: "alice".into(),
        title: title.into(),
        description: None,
        private: false,
        theme: "green".into(),
        position: 0,
        upvotes: 0,
        created_at: TIME,
        updated_at: TIME + 2000,
    };
    let item = |n: u8, note: Option<&str>, object| CollectionItemRecord {
        collection: 1,
        public_id: format!("{:024x}", 0x100 + u32::from(n)),
        position: i64::from(n) * 7,
        note: note.map(str::to_owned),
        added_at: TIME,
        object,
    };
    let mut mine = collection("Recent models!", 1);
    mine.description = Some("What I use".into());
    let details = crate::CollectionDetails {
        collection: mine,
        owner: NamespaceKind::User,
        items: vec![
            item(1, Some("<b>as given</b>"), ItemObject::Repo(repo(RepoType::Model, Gating::Auto))),
            item(2, None, ItemObject::Collection(collection("日本語", 2))),
        ],
        position: Some(3),
    };
    check("collection", &CollectionView::new(&details));
    let listed = crate::CollectionDetails { position: None, owner: NamespaceKind::Org, ..details };
    check("collection_listed", &vec![CollectionView::new(&listed)]);
    let exists = CollectionExistsView { error: "taken".into(), slug: "alice/recent-models-1".into() };
    check("collection_exists", &exists);
}
