//! Conformance for the `InventoryStore` supertrait: keyset paging over xorbs, Xet files,
//! dedup entries and large objects. Run by `conformance::inventory_store`.

use kura_model::Sha256;

use crate::*;

fn hex(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

/// Exercises every `InventoryStore` method on a store with no content yet.
pub async fn inventory_store(store: &dyn MetadataStore) {
    assert!(store.list_xorbs(None, 10).await.unwrap().is_empty());
    assert!(store.list_xet_files(None, 10).await.unwrap().is_empty());
    assert!(store.list_dedup_entries(None, 10).await.unwrap().is_empty());
    assert!(store.list_lfs_objects(None, 10).await.unwrap().is_empty());

    for n in [3u8, 1, 2] {
        store.record_xorb(&hex(n), u64::from(n), 100 * u64::from(n), 90, 5).await.unwrap();
        let file = XetFileRecord {
            file_hash: hex(n + 10),
            sha256: Sha256([n; 32]),
            size: u64::from(n),
            terms: format!("{}:0:1:{n}", hex(n)),
        };
        store.record_xet_file(&file, 6).await.unwrap();
        store.record_lfs_object(&Sha256([n; 32]), u64::from(n), 7).await.unwrap();
    }
    store.index_chunks(&[(hex(21), format!("f:{}", hex(11))), (hex(22), hex(2))]).await.unwrap();

    let first = store.list_xorbs(None, 2).await.unwrap();
    let hashes: Vec<&str> = first.iter().map(|x| x.hash.as_str()).collect();
    assert_eq!(hashes, vec![hex(1), hex(2)]);
    assert_eq!(
        first[1],
        XorbRecord { hash: hex(2), num_chunks: 2, raw_bytes: 200, stored_bytes: 90, created_at: 5 }
    );
    let rest = store.list_xorbs(Some(&hex(2)), 2).await.unwrap();
    assert_eq!(rest.iter().map(|x| x.hash.clone()).collect::<Vec<_>>(), vec![hex(3)]);
    assert!(store.list_xorbs(Some(&hex(3)), 2).await.unwrap().is_empty());

    let files = store.list_xet_files(Some(&hex(11)), 10).await.unwrap();
    assert_eq!(files.iter().map(|f| f.file_hash.clone()).collect::<Vec<_>>(), vec![hex(12), hex(13)]);
    assert_eq!(files[0].terms, format!("{}:0:1:2", hex(2)));
    assert_eq!(files[0].sha256, Sha256([2; 32]));

    let entries = store.list_dedup_entries(None, 10).await.unwrap();
    assert_eq!(
        entries,
        vec![
            DedupEntry { chunk_hash: hex(21), target: format!("f:{}", hex(11)) },
            DedupEntry { chunk_hash: hex(22), target: hex(2) },
        ]
    );
    assert_eq!(store.list_dedup_entries(Some(&hex(21)), 10).await.unwrap().len(), 1);

    let objects = store.list_lfs_objects(Some(&Sha256([1; 32])), 1).await.unwrap();
    assert_eq!(objects, vec![LfsObjectRecord { oid: Sha256([2; 32]), size: 2 }]);
}
