//! The tree-sitter queries. They live as `.scm` files in `queries/`, are
//! embedded in the binary (and run as code, `matchers.rs`, which the tests
//! hold to them), and `--queries DIR` replaces any of them with a file of
//! the same name from DIR, compiled once.
//!
//! Each query is a struct holding the compiled override and the index of
//! every capture the Rust side reads, looked up when the queries load: a
//! query (an override, typically) that lacks one is a load error naming the
//! file and the capture, never a capture that silently matches nothing.

use super::parse::language;
use std::path::{Path, PathBuf};
use tree_sitter::Query;

/// Why the queries could not be loaded. Plain facts; the command line words
/// them.
#[derive(Debug, thiserror::Error)]
pub enum QueryLoadError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{col}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{} does not capture @{capture}, which the scanner reads", path.display())]
    MissingCapture { path: PathBuf, capture: String },
}

impl QueryLoadError {
    /// The query file concerned (`queries/NAME.scm` for an embedded one).
    pub fn path(&self) -> &Path {
        match self {
            QueryLoadError::Read { path, .. }
            | QueryLoadError::Syntax { path, .. }
            | QueryLoadError::MissingCapture { path, .. } => path,
        }
    }
}

/// One query file's text and where it came from.
struct Source {
    path: PathBuf,
    text: String,
    embedded: bool,
}

impl Source {
    /// The override in `dir` when there is one, else the embedded text.
    fn find(file: &str, embedded: &str, dir: Option<&Path>) -> Result<Source, QueryLoadError> {
        if let Some(p) = dir.map(|d| d.join(file)).filter(|p| p.exists()) {
            let text = std::fs::read_to_string(&p).map_err(|source| QueryLoadError::Read {
                path: p.clone(),
                source,
            })?;
            return Ok(Source {
                path: p,
                text,
                embedded: false,
            });
        }
        Ok(Source {
            path: Path::new("queries").join(file),
            text: embedded.to_string(),
            embedded: true,
        })
    }

    fn compile(&self) -> Result<Query, QueryLoadError> {
        Query::new(&language(), &self.text).map_err(|e| QueryLoadError::Syntax {
            path: self.path.clone(),
            line: e.row + 1,
            col: e.column + 1,
            message: e.message.replace('\n', " "),
        })
    }

    fn capture(&self, query: &Query, name: &str) -> Result<u32, QueryLoadError> {
        query
            .capture_index_for_name(name)
            .ok_or_else(|| QueryLoadError::MissingCapture {
                path: self.path.clone(),
                capture: name.to_string(),
            })
    }
}

/// A query file and the captures read from its matches: the field names are
/// the capture names.
macro_rules! query {
    ($(#[$doc:meta])* $name:ident = $file:literal { $($capture:ident),+ $(,)? }) => {
        $(#[$doc])*
        pub struct $name {
            /// An override, compiled; None for the embedded query, which
            /// [`super::matchers`] runs as code.
            pub query: Option<Query>,
            /// The embedded query, not an override: its matches are known
            /// to hold the words it names.
            pub embedded: bool,
            $(pub $capture: u32,)+
        }

        impl $name {
            pub const FILE: &'static str = $file;
            /// The captures read, in the order the matchers number them.
            pub const CAPTURES: &'static [&'static str] = &[$(stringify!($capture)),+];
            /// The embedded query's text.
            pub const EMBEDDED: &'static str = include_str!(concat!("../../queries/", $file));

            fn load(dir: Option<&Path>) -> Result<$name, QueryLoadError> {
                let source = Source::find($file, Self::EMBEDDED, dir)?;
                if source.embedded {
                    // the matchers' own capture numbers
                    let mut n = 0..;
                    return Ok($name {
                        $($capture: n.next().unwrap_or_default(),)+
                        embedded: true,
                        query: None,
                    });
                }
                let query = source.compile()?;
                Ok($name {
                    $($capture: source.capture(&query, stringify!($capture))?,)+
                    embedded: false,
                    query: Some(query),
                })
            }

        }

        impl Compiled for $name {
            fn compiled(&self) -> Option<&Query> {
                self.query.as_ref()
            }
        }
    };
}

/// A query's override, when one was given: it runs as a tree-sitter query;
/// without one, the embedded query runs as code ([`super::matchers::Run`]).
pub trait Compiled {
    fn compiled(&self) -> Option<&Query>;
}

query! {
    /// Set delimiters (`@delimiter` with `@set_name`) and entries (`@entry_args`).
    SetsQuery = "sets.scm" { delimiter, set_name, entry_args }
}
query! {
    /// Function definitions: the whole `@function` and its `@declarator`.
    FunctionsQuery = "functions.scm" { function, declarator }
}
query! {
    /// Registration calls: the function's name and the argument list.
    RegistrationsQuery = "registrations.scm" { register_fn, register_args }
}
query! {
    /// `struct btf_kfunc_id_set` variables and their initialisers.
    IdSetsQuery = "id_sets.scm" { id_set_var, id_set_init }
}
query! {
    /// `BTF_ID_LIST(@list_name)` and its `BTF_ID(@id_kind, @id_name)` lines.
    IdListsQuery = "id_lists.scm" { list_name, id_kind, id_name }
}
query! {
    /// `#define @flag_name @flag_value` in the flags header.
    FlagDefinesQuery = "flag_defines.scm" { flag_name, flag_value }
}

pub struct Queries {
    pub sets: SetsQuery,
    pub functions: FunctionsQuery,
    pub registrations: RegistrationsQuery,
    pub id_sets: IdSetsQuery,
    pub id_lists: IdListsQuery,
    pub flag_defines: FlagDefinesQuery,
}

impl Queries {
    /// A hash of the text of every query `load` would compile (a cache of
    /// scan results is only good for the same queries).
    pub fn text_hash(override_dir: Option<&Path>) -> Result<u64, QueryLoadError> {
        let mut all = String::new();
        for (file, embedded) in [
            (SetsQuery::FILE, SetsQuery::EMBEDDED),
            (FunctionsQuery::FILE, FunctionsQuery::EMBEDDED),
            (RegistrationsQuery::FILE, RegistrationsQuery::EMBEDDED),
            (IdSetsQuery::FILE, IdSetsQuery::EMBEDDED),
            (IdListsQuery::FILE, IdListsQuery::EMBEDDED),
            (FlagDefinesQuery::FILE, FlagDefinesQuery::EMBEDDED),
        ] {
            let text = Source::find(file, embedded, override_dir)?.text;
            all.push_str(&format!("{file}\0{}\0{text}\0", text.len()));
        }
        Ok(crate::kbuild::config::fnv1a64(all.as_bytes()))
    }

    pub fn load(override_dir: Option<&Path>) -> Result<Queries, QueryLoadError> {
        Ok(Queries {
            sets: SetsQuery::load(override_dir)?,
            functions: FunctionsQuery::load(override_dir)?,
            registrations: RegistrationsQuery::load(override_dir)?,
            id_sets: IdSetsQuery::load(override_dir)?,
            id_lists: IdListsQuery::load(override_dir)?,
            flag_defines: FlagDefinesQuery::load(override_dir)?,
        })
    }
}

/// The queries a scan uses. The embedded ones cost nothing to load (they
/// run as code, [`super::matchers`]); overrides (`--queries DIR`) are
/// compiled at once, so that an error in one stops the scan before it
/// starts.
pub struct Prepared {
    queries: Queries,
}

impl Prepared {
    pub fn start(override_dir: Option<&Path>) -> Result<Prepared, QueryLoadError> {
        Ok(Prepared {
            queries: Queries::load(override_dir)?,
        })
    }

    pub fn get(&self) -> &Queries {
        &self.queries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_queries_load() {
        let q = Queries::load(None).expect("embedded queries");
        assert_ne!(q.sets.delimiter, q.sets.set_name);
        // they are run as code, but they are the definition: they compile,
        // with every capture read
        for (file, text, captures) in [
            (SetsQuery::FILE, SetsQuery::EMBEDDED, SetsQuery::CAPTURES),
            (
                FunctionsQuery::FILE,
                FunctionsQuery::EMBEDDED,
                FunctionsQuery::CAPTURES,
            ),
            (
                RegistrationsQuery::FILE,
                RegistrationsQuery::EMBEDDED,
                RegistrationsQuery::CAPTURES,
            ),
            (
                IdSetsQuery::FILE,
                IdSetsQuery::EMBEDDED,
                IdSetsQuery::CAPTURES,
            ),
            (
                IdListsQuery::FILE,
                IdListsQuery::EMBEDDED,
                IdListsQuery::CAPTURES,
            ),
            (
                FlagDefinesQuery::FILE,
                FlagDefinesQuery::EMBEDDED,
                FlagDefinesQuery::CAPTURES,
            ),
        ] {
            let query = Query::new(&language(), text).unwrap_or_else(|e| panic!("{file}: {e}"));
            for c in captures {
                assert!(query.capture_index_for_name(c).is_some(), "{file}: @{c}");
            }
        }
    }

    #[test]
    fn prepared_queries_are_the_embedded_ones_or_the_overrides() {
        let q = Prepared::start(None).unwrap();
        assert!(q.get().functions.embedded && q.get().functions.query.is_none());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FunctionsQuery::FILE),
            "(function_definition declarator: (_) @declarator) @function\n",
        )
        .unwrap();
        let q = Prepared::start(Some(dir.path())).unwrap();
        assert!(!q.get().functions.embedded);
        assert!(q.get().sets.embedded);
        std::fs::write(dir.path().join(SetsQuery::FILE), "(oops").unwrap();
        assert!(Prepared::start(Some(dir.path())).is_err());
    }

    #[test]
    fn the_text_hash_changes_with_an_override_only() {
        let dir = tempfile::tempdir().unwrap();
        let embedded = Queries::text_hash(None).unwrap();
        assert_eq!(Queries::text_hash(Some(dir.path())).unwrap(), embedded);
        std::fs::write(
            dir.path().join(SetsQuery::FILE),
            format!("{}\n; changed\n", SetsQuery::EMBEDDED),
        )
        .unwrap();
        assert_ne!(Queries::text_hash(Some(dir.path())).unwrap(), embedded);
    }

    #[test]
    fn an_override_missing_a_capture_is_a_load_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FunctionsQuery::FILE),
            "(function_definition declarator: (_) @declarator) @fn\n",
        )
        .unwrap();
        let Err(e) = Queries::load(Some(dir.path())) else {
            panic!("loaded a query without @function");
        };
        assert!(
            matches!(&e, QueryLoadError::MissingCapture { path, capture }
                if *path == dir.path().join("functions.scm") && capture == "function"),
            "{e:?}"
        );
    }
}
