//! The tree-sitter queries. They live as `.scm` files in `queries/`, are
//! embedded in the binary, and `--queries DIR` replaces any of them with a
//! file of the same name from DIR; either way they are compiled once, when
//! the scan starts, and run by one engine ([`super::pattern`]).
//!
//! Each query is a struct holding the compiled override and the index of
//! every capture the Rust side reads, looked up when the queries load: a
//! query (an override, typically) that lacks one is a load error naming the
//! file and the capture, never a capture that silently matches nothing.

use super::pattern::Patterns;
use std::path::{Path, PathBuf};

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
    #[error("{} is {size} bytes, over the limit of {bound} (MAX_QUERY_FILE_SIZE), or not a regular file", path.display())]
    TooLarge {
        path: PathBuf,
        size: u64,
        bound: u64,
    },
}

impl QueryLoadError {
    /// The query file concerned (`queries/NAME.scm` for an embedded one).
    pub fn path(&self) -> &Path {
        match self {
            QueryLoadError::Read { path, .. }
            | QueryLoadError::Syntax { path, .. }
            | QueryLoadError::MissingCapture { path, .. }
            | QueryLoadError::TooLarge { path, .. } => path,
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
            // a regular file of bounded size: a FIFO would block, a huge
            // file cost its size before the parser saw it
            let bound = crate::limits::MAX_QUERY_FILE_SIZE;
            let meta = std::fs::metadata(&p).map_err(|source| QueryLoadError::Read {
                path: p.clone(),
                source,
            })?;
            if !meta.is_file() || meta.len() > bound {
                return Err(QueryLoadError::TooLarge {
                    path: p,
                    size: meta.len(),
                    bound,
                });
            }
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

    fn compile(&self) -> Result<Patterns, QueryLoadError> {
        Patterns::compile(&self.text).map_err(|e| QueryLoadError::Syntax {
            path: self.path.clone(),
            line: e.line,
            col: e.col,
            message: e.message,
        })
    }

    fn capture(&self, patterns: &Patterns, name: &str) -> Result<u32, QueryLoadError> {
        patterns
            .capture_index(name)
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
            pub patterns: Patterns,
            /// The embedded query, not an override: its matches are known
            /// to hold the words it names.
            pub embedded: bool,
            $(pub $capture: u32,)+
        }

        impl $name {
            pub const FILE: &'static str = $file;
            /// The captures the scanner reads.
            pub const CAPTURES: &'static [&'static str] = &[$(stringify!($capture)),+];
            /// The embedded query's text.
            pub const EMBEDDED: &'static str = include_str!(concat!("../../../queries/", $file));

            fn load(dir: Option<&Path>) -> Result<$name, QueryLoadError> {
                let source = Source::find($file, Self::EMBEDDED, dir)?;
                let patterns = source.compile()?;
                Ok($name {
                    $($capture: source.capture(&patterns, stringify!($capture))?,)+
                    embedded: source.embedded,
                    patterns,
                })
            }

            /// Each match's captures, in document order. `within`: a byte
            /// range every match meets (see `extract::scope`).
            pub fn for_each_in<'t>(
                &self,
                root: tree_sitter::Node<'t>,
                src: &[u8],
                within: Option<std::ops::Range<usize>>,
                f: impl FnMut(&super::parse::Captures<'_, 't>),
            ) {
                self.patterns.for_each(root, src, within, f)
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
    /// Every embedded query: its file name, its text, the captures the
    /// scanner reads.
    pub const EMBEDDED: [(&'static str, &'static str, &'static [&'static str]); 6] = [
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
    ];

    /// A hash of the text of every query `load` would compile (a cache of
    /// scan results is only good for the same queries).
    pub fn text_hash(override_dir: Option<&Path>) -> Result<u64, QueryLoadError> {
        let mut all = String::new();
        for (file, embedded, _) in Self::EMBEDDED {
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

/// The queries a scan uses, compiled at once (microseconds), so that an
/// error in an override (`--queries DIR`) stops the scan before it starts.
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
        // tree-sitter's own engine compiles them too, with every capture
        // read: they stay tree-sitter queries
        for (file, text, captures) in Queries::EMBEDDED {
            let query = tree_sitter::Query::new(&crate::scan::file::parse::language(), text)
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            for c in captures {
                assert!(query.capture_index_for_name(c).is_some(), "{file}: @{c}");
            }
        }
    }

    fn q_with_functions(dir: &Path) -> Queries {
        std::fs::remove_file(dir.join(SetsQuery::FILE)).unwrap();
        Queries::load(Some(dir)).unwrap()
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
        // an override runs: this one finds function definitions without
        // a body check, so a prototype-free K&R body still matches
        let src = b"int f(void) { return 0; }\nint g(void);\n";
        let tree = crate::scan::file::parse::parse(src).unwrap();
        let mut found = Vec::new();
        let functions = &q_with_functions(dir.path()).functions;
        functions.for_each_in(tree.root_node(), src, None, |c| {
            found.push(c.get(functions.function).map(|n| n.start_byte()))
        });
        assert_eq!(found, [Some(0)]);
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
    fn an_override_is_read_only_up_to_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(FunctionsQuery::FILE);
        let bound = crate::limits::MAX_QUERY_FILE_SIZE as usize;
        let body = "(function_definition declarator: (_) @declarator) @function\n";
        // at the bound: read (padded with a comment)
        let at = format!("{body};{}\n", "x".repeat(bound - body.len() - 2));
        assert_eq!(at.len(), bound);
        std::fs::write(&f, &at).unwrap();
        assert!(Queries::load(Some(dir.path())).is_ok());
        // one byte past: refused, naming the file
        std::fs::write(&f, format!("{at} ")).unwrap();
        let Err(e) = Queries::load(Some(dir.path())) else {
            panic!("read a query past its bound");
        };
        assert!(
            matches!(&e, QueryLoadError::TooLarge { path, .. } if *path == f),
            "{e:?}"
        );
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
