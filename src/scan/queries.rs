//! The tree-sitter queries, compiled once. They live as `.scm` files in
//! `queries/`, are embedded in the binary, and `--queries DIR` replaces any of
//! them with a file of the same name from DIR.
//!
//! Each query is a struct holding the compiled query and the index of every
//! capture the Rust side reads, looked up when the queries load: a query
//! (an override, typically) that lacks one is a load error naming the file
//! and the capture, never a capture that silently matches nothing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tree_sitter::{Language, Query};

pub fn language() -> Language {
    tree_sitter_c::LANGUAGE.into()
}

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
            pub query: Query,
            /// The embedded query, not an override: its matches are known
            /// to hold the words it names.
            pub embedded: bool,
            $(pub $capture: u32,)+
        }

        impl $name {
            pub const FILE: &'static str = $file;

            fn load(dir: Option<&Path>) -> Result<$name, QueryLoadError> {
                let embedded = include_str!(concat!("../../queries/", $file));
                let source = Source::find($file, embedded, dir)?;
                let query = source.compile()?;
                Ok($name {
                    $($capture: source.capture(&query, stringify!($capture))?,)+
                    embedded: source.embedded,
                    query,
                })
            }
        }
    };
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

/// The queries a scan uses, the embedded ones compiled on a thread of their
/// own while the walk starts: compiling them takes ~40 ms (tree-sitter
/// analyses each pattern against the grammar's states), which the scan
/// spent before reading a file, one core idle. The walk's threads need
/// them only at the first file they parse, and wait for them there if
/// need be. Overrides (`--queries DIR`) are compiled at once, so that an
/// error in one stops the scan before it starts.
pub struct Prepared {
    queries: Arc<OnceLock<Queries>>,
}

impl Prepared {
    pub fn start(override_dir: Option<&Path>) -> Result<Prepared, QueryLoadError> {
        let queries = Arc::new(OnceLock::new());
        if override_dir.is_some() {
            let _ = queries.set(Queries::load(override_dir)?);
        } else {
            let early = Arc::clone(&queries);
            // Without the thread, `get` compiles them when first asked.
            let _ = std::thread::Builder::new()
                .name("queries".into())
                .spawn(move || {
                    early.get_or_init(embedded);
                });
        }
        Ok(Prepared { queries })
    }

    /// The queries; compiled by the first caller if no one has.
    pub fn get(&self) -> &Queries {
        self.queries.get_or_init(embedded)
    }
}

/// The embedded queries: `the_embedded_queries_load` checks that they do.
fn embedded() -> Queries {
    match Queries::load(None) {
        Ok(q) => q,
        Err(e) => panic!("the embedded queries do not load: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_queries_load() {
        let q = Queries::load(None).expect("embedded queries");
        assert_ne!(q.sets.delimiter, q.sets.set_name);
    }

    #[test]
    fn prepared_queries_are_the_embedded_ones_or_the_overrides() {
        let q = Prepared::start(None).unwrap();
        assert!(q.get().functions.embedded);
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
