//! What the read-ahead made of each blob, for the walks of the run's trees.

use crate::git::ObjectId;
use crate::scan::records::FileRecords;
use rustc_hash::FxHashMap;
use std::sync::RwLock;

/// What the prefilter and the parser made of one blob, kept for the other
/// trees of the run.
#[derive(Clone)]
pub(super) enum Sifted {
    /// Kept and parsed, at each of these paths (records name their file: a
    /// blob met at another path is parsed again). By path: one blob may be
    /// at 100,000 paths.
    Parsed(FxHashMap<String, FileRecords>),
    /// Passed over, defining these functions in kernel style.
    Passed(Box<[u64]>),
}

/// What the read-ahead of one run made of the trees' blobs, by blob id,
/// for their walks: the queries are the same for every tree of a run, and
/// so is the result.
#[derive(Default)]
pub struct BlobCache {
    pub(super) sifted: RwLock<FxHashMap<ObjectId, Sifted>>,
}

impl BlobCache {
    /// Keeps the records blob `oid` gives at `rel`.
    pub(super) fn keep_parsed(&self, oid: ObjectId, rel: &str, records: FileRecords) {
        let mut sifted = self.sifted.write().unwrap_or_else(|p| p.into_inner());
        match sifted.get_mut(&oid) {
            Some(Sifted::Parsed(at)) => {
                at.entry(rel.to_string()).or_insert(records);
            }
            _ => {
                let mut at = FxHashMap::default();
                at.insert(rel.to_string(), records);
                sifted.insert(oid, Sifted::Parsed(at));
            }
        }
    }

    /// Keeps blob `oid` as passed over, defining `defs`.
    pub(super) fn keep_passed(&self, oid: ObjectId, defs: &[u64]) {
        let mut sifted = self.sifted.write().unwrap_or_else(|p| p.into_inner());
        sifted.insert(oid, Sifted::Passed(defs.into()));
    }
}
