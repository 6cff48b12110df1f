//! In-memory caches of immutable facts (decoded trees, blob facts, repo cards, xet chunk
//! tables), each bounded by the bytes it holds rather than by entry count: one huge tree
//! weighs what it costs, and a full cache evicts its coldest entries instead of emptying.
//!
//! Built on `quick_cache` (CLOCK-Pro eviction, no background threads). Its sync cache uses
//! `parking_lot` locks, which are not poisoned: a request that panics while a cache lock is
//! held cannot make every later request panic. Entries are inserted whole, so none can be
//! half-written.

use std::hash::Hash;

use quick_cache::Weighter;

/// Budget of the decoded-tree cache.
pub(crate) const TREE_CACHE_BYTES: u64 = 64 << 20;
/// Budget of the decoded-commit cache.
pub(crate) const COMMIT_CACHE_BYTES: u64 = 16 << 20;
/// Budget of the indexer's commit facts (about a few KiB of JSON each).
pub(crate) const FACTS_CACHE_BYTES: u64 = 16 << 20;
/// Budget of the small-blob cache (contents of git blobs up to 64 KiB).
pub(crate) const SMALL_BLOB_CACHE_BYTES: u64 = 32 << 20;
/// Budget of the commit-links cache (tree and parents per commit id: what history walks read).
pub(crate) const COMMIT_LINKS_CACHE_BYTES: u64 = 16 << 20;
/// Budget of the blob-facts cache (size and LFS pointer per blob id).
pub(crate) const BLOB_INFO_CACHE_BYTES: u64 = 64 << 20;
/// Budget of the repo-card cache (front matter of `README.md` per root tree).
pub(crate) const CARD_CACHE_BYTES: u64 = 8 << 20;
/// Budget of the xet chunk-table cache (a table holds up to 8,192 chunks of 48 bytes).
pub(crate) const CHUNK_TABLE_CACHE_BYTES: u64 = 56 << 20;
/// Parsed parquet footers and page indexes of the dataset viewer.
pub(crate) const TABLE_META_CACHE_BYTES: u64 = 128 << 20;

/// Bookkeeping per entry on top of what the value itself weighs: the key, the cache's slot
/// and the value's own header.
const ENTRY_OVERHEAD: u64 = 64;

/// A value with the bytes it holds, measured once when it is inserted (the weigher runs
/// during eviction and must be cheap).
#[derive(Clone)]
struct Weighed<V> {
    value: V,
    bytes: u64,
}

#[derive(Clone, Copy)]
struct ByBytes;

impl<K, V> Weighter<K, Weighed<V>> for ByBytes {
    fn weight(&self, _key: &K, entry: &Weighed<V>) -> u64 {
        entry.bytes
    }
}

/// A cache that holds at most `budget` bytes, as the caller measures them.
pub struct ByteCache<K, V> {
    inner: quick_cache::sync::Cache<K, Weighed<V>, ByBytes>,
}

impl<K: Eq + Hash + Clone, V: Clone> ByteCache<K, V> {
    /// A cache of at most `budget` bytes, sized for entries of about `typical_bytes`.
    pub fn new(budget: u64, typical_bytes: u64) -> Self {
        let estimated = usize::try_from(budget / typical_bytes.max(1)).unwrap_or(usize::MAX).max(16);
        Self { inner: quick_cache::sync::Cache::with_weighter(estimated, budget, ByBytes) }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        self.inner.get(key).map(|entry| entry.value)
    }

    /// Inserts `value`, which holds `bytes` bytes (beyond its fixed size). Colder entries
    /// are evicted to stay within the budget; a value larger than a shard of the cache is
    /// not kept.
    pub fn put(&self, key: K, value: V, bytes: u64) {
        let bytes = bytes.saturating_add(ENTRY_OVERHEAD + std::mem::size_of::<(K, V)>() as u64);
        self.inner.insert(key, Weighed { value, bytes });
    }

    /// Bytes held now.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> u64 {
        self.inner.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::ByteCache;

    #[test]
    fn a_cache_stays_under_its_budget_when_given_more_than_it_holds() {
        let budget = 1 << 20;
        let cache = ByteCache::<u64, Vec<u8>>::new(budget, 4096);
        for key in 0..2_000u64 {
            cache.put(key, vec![0; 4096], 4096);
            assert!(cache.bytes() <= budget, "{} bytes held after {key} inserts", cache.bytes());
        }
        assert!(cache.bytes() > budget / 2, "the budget is used, not emptied: {}", cache.bytes());
        let kept = (0..2_000u64).filter(|key| cache.get(key).is_some()).count();
        assert!(kept > 100 && kept < 256, "{kept} entries of 4 KiB kept in 1 MiB");
    }

    #[test]
    fn hot_entries_survive_a_stream_of_cold_ones() {
        let cache = ByteCache::<u64, Vec<u8>>::new(1 << 20, 4096);
        let hot: Vec<u64> = (0..16).collect();
        for &key in &hot {
            cache.put(key, vec![1; 4096], 4096);
        }
        for cold in 1_000..11_000u64 {
            for &key in &hot {
                assert!(cache.get(&key).is_some(), "hot entry {key} evicted by cold entry {cold}");
            }
            cache.put(cold, vec![0; 4096], 4096);
        }
        let cold_kept = (1_000..11_000u64).filter(|key| cache.get(key).is_some()).count();
        assert!(cold_kept < 256, "cold entries come and go: {cold_kept} kept");
        assert!(cache.bytes() <= 1 << 20);
    }
}
