//! The tree-sitter queries, compiled once. They live as `.scm` files in
//! `queries/`, are embedded in the binary, and `--queries DIR` replaces any of
//! them with a file of the same name from DIR.

use std::path::Path;
use tree_sitter::{Language, Query};

/// (file name, embedded text)
const EMBEDDED: &[(&str, &str)] = &[
    ("sets.scm", include_str!("../../queries/sets.scm")),
    ("functions.scm", include_str!("../../queries/functions.scm")),
    (
        "registrations.scm",
        include_str!("../../queries/registrations.scm"),
    ),
    ("id_sets.scm", include_str!("../../queries/id_sets.scm")),
    ("id_lists.scm", include_str!("../../queries/id_lists.scm")),
    (
        "flag_defines.scm",
        include_str!("../../queries/flag_defines.scm"),
    ),
];

pub struct Queries {
    pub sets: Query,
    pub functions: Query,
    pub registrations: Query,
    pub id_sets: Query,
    pub id_lists: Query,
    pub flag_defines: Query,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryLoadError {
    #[error("{path}: error[query-read]: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{col}: error[query-syntax]: {message}")]
    Syntax {
        path: String,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{path}: error[query-capture]: the query must capture @{capture}")]
    MissingCapture { path: String, capture: String },
}

pub fn language() -> Language {
    tree_sitter_c::LANGUAGE.into()
}

impl Queries {
    pub fn load(override_dir: Option<&Path>) -> Result<Queries, QueryLoadError> {
        let lang = language();
        let get = |name: &str| -> Result<Query, QueryLoadError> {
            let embedded = EMBEDDED
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| *t)
                .unwrap_or("");
            let (path, text) = match override_dir.map(|d| d.join(name)) {
                Some(p) if p.exists() => {
                    let text = std::fs::read_to_string(&p).map_err(|e| QueryLoadError::Read {
                        path: p.display().to_string(),
                        source: e,
                    })?;
                    (p.display().to_string(), text)
                }
                _ => (format!("queries/{name}"), embedded.to_string()),
            };
            Query::new(&lang, &text).map_err(|e| QueryLoadError::Syntax {
                path: path.clone(),
                line: e.row + 1,
                col: e.column + 1,
                message: e.message.replace('\n', " "),
            })
        };
        let q = Queries {
            sets: get("sets.scm")?,
            functions: get("functions.scm")?,
            registrations: get("registrations.scm")?,
            id_sets: get("id_sets.scm")?,
            id_lists: get("id_lists.scm")?,
            flag_defines: get("flag_defines.scm")?,
        };
        q.check()?;
        Ok(q)
    }

    /// The Rust side reads captures by name: an override must keep them.
    fn check(&self) -> Result<(), QueryLoadError> {
        let need: &[(&Query, &str, &[&str])] = &[
            (
                &self.sets,
                "sets.scm",
                &["delimiter", "set_name", "entry_macro", "entry_args"],
            ),
            (
                &self.functions,
                "functions.scm",
                &["function", "declarator"],
            ),
            (
                &self.registrations,
                "registrations.scm",
                &["register_fn", "register_args"],
            ),
            (&self.id_sets, "id_sets.scm", &["id_set_var", "id_set_init"]),
            (
                &self.id_lists,
                "id_lists.scm",
                &["list_name", "id_kind", "id_name"],
            ),
            (
                &self.flag_defines,
                "flag_defines.scm",
                &["flag_name", "flag_value"],
            ),
        ];
        for (q, file, caps) in need {
            for c in *caps {
                if q.capture_index_for_name(c).is_none() {
                    return Err(QueryLoadError::MissingCapture {
                        path: format!("queries/{file}"),
                        capture: (*c).to_string(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Capture index by name; `check` guarantees presence for the names we use.
pub fn cap(q: &Query, name: &str) -> u32 {
    q.capture_index_for_name(name).unwrap_or(u32::MAX)
}
