//! A git repository read as untrusted input, without a checkout: its
//! revisions, its trees listed in full, its blobs read one by one through
//! the object database or many at once in the order of their packs' delta
//! chains. Knows nothing of kfuncs nor of what the blobs hold: the scanner
//! (`kfunc_scan::scan::git_tree`) walks a [`Listing`] by its own rules.
//!
//! - [`Repo`]: a repository opened with nothing of the environment or of
//!   the user's git configuration, its files checked before gix opens them.
//! - [`Listing`]: a tree's entries; paths resolved through its links.
//! - [`packs`]: many blobs at once, each delta chain inflated once.
//! - [`limits`]: every bound the reading keeps to.
//! - [`par`]: a slice's items mapped on a few scoped threads.

pub mod limits;
pub mod packs;
pub mod par;
mod repo;

/// gix, whose handles ([`Repo::with_handle`]) and ids the API takes.
pub use gix;
pub use gix::ObjectId;
pub use repo::{read_blob, Entry, Found, GitError, Kind, Listing, Repo, Revision};
