//! The history document (`kfunc-scan history`): for each kfunc, each set
//! membership of a kfunc and each program type it may be called from, the
//! first version that has it (`since`) and the first version after the last
//! one that has it (`until`, absent while the newest version has it), over
//! a sequence of versions, oldest first.
//!
//! A thing gone and back again keeps its first `since` and its last
//! `until`; the versions between where it was gone are its `missing_in`.
//! `since` is the oldest version compared when that version already has
//! it: the document cannot tell whether an older one did.
//!
//! Reading a history is reading untrusted input, as for a manifest
//! ([`crate::read`]): names are C identifiers, versions short words of a
//! safe alphabet, and every `since` / `until` / `missing_in` names a version
//! of the document's list, in order. Errors carry the line and column.

use crate::read::{field_name, locate, Checker, Problem, Step};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The version of the history document's shape; bumped when a field's
/// meaning changes.
pub const HISTORY_VERSION: u32 = 1;

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct History {
    pub history_version: u32,
    pub generator: String,
    /// The versions compared, oldest first.
    pub versions: Vec<Version>,
    /// Every kfunc some version can call (a kfunc set lists it and the tree
    /// defines it), by name.
    pub kfuncs: Vec<KfuncHistory>,
    /// Every kfunc set of some version, by name (sets of the same name in
    /// two files count as one).
    pub sets: Vec<SetHistory>,
}

/// One version compared.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Version {
    /// The tag (or other revision) named with `--git`, or the manifest's
    /// kernel version.
    pub version: String,
    /// The commit, for a tree read from git; null for a manifest.
    pub commit: Option<String>,
    /// The version the tree's top Makefile gives.
    pub kernel_version: Option<String>,
}

/// A version, as `since` and `until` name it.
#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct VersionRef {
    pub version: String,
    /// That version's commit, when known.
    pub commit: Option<String>,
}

/// When something is there.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Span {
    /// The first version that has it.
    pub since: VersionRef,
    /// The first version after the last one that has it; absent when the
    /// newest version has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<VersionRef>,
    /// Versions between `since` and `until` that do not have it, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_in: Vec<String>,
}

/// A kfunc, and when it could be called.
#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct KfuncHistory {
    pub name: String,
    #[serde(flatten)]
    pub span: Span,
    /// The sets listing it, by name, each with when it did.
    pub sets: Vec<Named>,
    /// The program types that may call it ([`crate::Manifest::callable_from`],
    /// every type of the common hook spelled out), each with when.
    pub prog_types: Vec<Named>,
}

/// A kfunc set, and when it was there.
#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct SetHistory {
    pub name: String,
    #[serde(flatten)]
    pub span: Span,
    /// The program types its registrations make its kfuncs callable from,
    /// as ebpf-docs lists them (the common hook as `BPF_PROG_TYPE_UNSPEC`),
    /// each with when.
    pub prog_types: Vec<Named>,
}

/// A set or a program type, and when.
#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Named {
    pub name: String,
    #[serde(flatten)]
    pub span: Span,
}

impl History {
    /// The kfunc of that name.
    pub fn kfunc(&self, name: &str) -> Option<&KfuncHistory> {
        self.kfuncs
            .binary_search_by(|k| k.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.kfuncs[i])
    }

    /// The set of that name.
    pub fn set(&self, name: &str) -> Option<&SetHistory> {
        self.sets
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.sets[i])
    }

    /// Whether `span` starts at the oldest version compared (then an older
    /// version may have had it too).
    pub fn since_oldest(&self, span: &Span) -> bool {
        self.versions
            .first()
            .is_some_and(|v| v.version == span.since.version)
    }

    /// The JSON Schema of the history document.
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(History);
        let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The document as JSON, pretty-printed, with a final line break.
    pub fn to_json(&self) -> String {
        // Serialising plain data structs into a String cannot fail.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads a history, untrusted input: refused when of another
    /// `history_version`, or when a value could not be trusted (see the
    /// module's documentation). Errors say where in `text`.
    pub fn from_json(text: &str) -> Result<History, HistoryError> {
        #[derive(Deserialize)]
        struct Shape {
            history_version: u32,
        }
        let v: Shape = serde_json::from_str(text).map_err(HistoryError::json)?;
        if v.history_version != HISTORY_VERSION {
            let (line, column) = locate(text, &[Step::Key("history_version".into())]);
            return Err(HistoryError {
                line,
                column,
                message: format!(
                    "history_version {} is not one this kfunc-scan reads ({HISTORY_VERSION})",
                    v.history_version
                ),
            });
        }
        let h: History = serde_json::from_str(text).map_err(HistoryError::json)?;
        match first_problem(&h) {
            None => Ok(h),
            Some(p) => {
                let (line, column) = locate(text, &p.path);
                Err(HistoryError {
                    line,
                    column,
                    message: format!("{}: {}", field_name(&p.path), p.message),
                })
            }
        }
    }
}

/// Why a history was refused, and where in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryError {
    /// 1-based; 0 when the text gave no place.
    pub line: usize,
    /// 1-based byte column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl HistoryError {
    fn json(e: serde_json::Error) -> HistoryError {
        HistoryError {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HistoryError {}

/// A version's name: a tag or a kernel version (`v6.12`, `6.12.117-rc1`,
/// `release/6.1`), which pages and YAML print as they are.
pub fn is_version_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._+~/-".contains(&c))
}

/// A commit id: 40 or 64 lowercase hexadecimal digits.
fn is_commit_id(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

fn first_problem(h: &History) -> Option<Problem> {
    let mut c = Checker {
        path: Vec::new(),
        found: None,
    };
    let mut seen = BTreeSet::new();
    c.key("versions", |c| {
        for (i, v) in h.versions.iter().enumerate() {
            c.at(Step::Index(i), |c| {
                c.check("version", &v.version, is_version_name, "a version name");
                if !seen.insert(v.version.as_str()) {
                    let message = format!("version `{}` is listed twice", v.version);
                    c.key("version", |c| c.fail(message));
                }
                if let Some(id) = &v.commit {
                    c.check("commit", id, is_commit_id, "a commit id");
                }
                c.line("kernel_version", v.kernel_version.as_deref());
            });
        }
    });
    let spans = Spans {
        versions: &h.versions,
    };
    c.key("kfuncs", |c| {
        let names = h.kfuncs.iter().map(|k| k.name.as_str());
        spans.sorted_names(c, names);
        for (i, k) in h.kfuncs.iter().enumerate() {
            c.at(Step::Index(i), |c| {
                c.ident("name", &k.name);
                spans.check(c, &k.span);
                spans.named(c, "sets", &k.sets);
                spans.named(c, "prog_types", &k.prog_types);
            });
        }
    });
    c.key("sets", |c| {
        let names = h.sets.iter().map(|s| s.name.as_str());
        spans.sorted_names(c, names);
        for (i, s) in h.sets.iter().enumerate() {
            c.at(Step::Index(i), |c| {
                c.ident("name", &s.name);
                spans.check(c, &s.span);
                spans.named(c, "prog_types", &s.prog_types);
            });
        }
    });
    c.found
}

/// Checks spans against the document's versions.
struct Spans<'h> {
    versions: &'h [Version],
}

impl Spans<'_> {
    fn index(&self, version: &str) -> Option<usize> {
        self.versions.iter().position(|v| v.version == version)
    }

    /// Names in strictly increasing order (the lookups are binary searches).
    fn sorted_names<'a>(&self, c: &mut Checker, names: impl Iterator<Item = &'a str>) {
        let mut last: Option<&str> = None;
        for (i, n) in names.enumerate() {
            if last.is_some_and(|l| l >= n) {
                let message = format!("`{n}` is out of order or listed twice (names are sorted)");
                c.at(Step::Index(i), |c| c.key("name", |c| c.fail(message)));
            }
            last = Some(n);
        }
    }

    fn named(&self, c: &mut Checker, key: &str, items: &[Named]) {
        c.key(key, |c| {
            self.sorted_names(c, items.iter().map(|n| n.name.as_str()));
            for (i, n) in items.iter().enumerate() {
                c.at(Step::Index(i), |c| {
                    c.ident("name", &n.name);
                    self.check(c, &n.span);
                });
            }
        });
    }

    /// A reference to a version of the list, with that version's commit.
    fn reference(&self, c: &mut Checker, key: &str, r: &VersionRef) -> Option<usize> {
        let Some(i) = self.index(&r.version) else {
            let message = format!("`{}` is not one of the versions compared", r.version);
            c.key(key, |c| c.fail(message));
            return None;
        };
        if r.commit != self.versions[i].commit {
            let message = format!("the commit is not version `{}`'s", r.version);
            c.key(key, |c| c.fail(message));
        }
        Some(i)
    }

    fn check(&self, c: &mut Checker, span: &Span) {
        let since = self.reference(c, "since", &span.since);
        let until = span
            .until
            .as_ref()
            .and_then(|u| self.reference(c, "until", u));
        if let (Some(s), Some(u)) = (since, until) {
            if u <= s {
                let message = "until is not after since".to_string();
                c.key("until", |c| c.fail(message));
            }
        }
        let Some(s) = since else { return };
        let end = until.unwrap_or(self.versions.len());
        let mut last = s;
        c.key("missing_in", |c| {
            for (i, m) in span.missing_in.iter().enumerate() {
                match self.index(m) {
                    Some(at) if at > last && at < end => last = at,
                    _ => {
                        let message = format!(
                            "`{m}` is not a version between since and until, after the one before"
                        );
                        c.at(Step::Index(i), |c| c.fail(message));
                    }
                }
            }
        });
        // a span ends with the thing there: the version before `until` has it
        if span
            .missing_in
            .last()
            .is_some_and(|m| self.index(m) == Some(end - 1))
        {
            let message = "the version before until is missing: until would be earlier".to_string();
            c.key("missing_in", |c| c.fail(message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(name: &str) -> Version {
        Version {
            version: name.into(),
            commit: None,
            kernel_version: None,
        }
    }

    fn at(name: &str) -> VersionRef {
        VersionRef {
            version: name.into(),
            commit: None,
        }
    }

    fn sample() -> History {
        History {
            history_version: HISTORY_VERSION,
            generator: "t".into(),
            versions: vec![v("a"), v("b"), v("c")],
            kfuncs: vec![KfuncHistory {
                name: "f".into(),
                span: Span {
                    since: at("a"),
                    until: None,
                    missing_in: vec!["b".into()],
                },
                sets: vec![Named {
                    name: "s".into(),
                    span: Span {
                        since: at("a"),
                        until: Some(at("b")),
                        missing_in: vec![],
                    },
                }],
                prog_types: vec![],
            }],
            sets: vec![],
        }
    }

    #[test]
    fn round_trips_and_flattens_spans() {
        let h = sample();
        let text = h.to_json();
        assert!(
            text.contains("\"missing_in\": [\n        \"b\"\n      ]"),
            "{text}"
        );
        assert!(!text.contains("\"span\""), "{text}");
        assert_eq!(History::from_json(&text).unwrap(), h);
    }

    #[test]
    fn refuses_what_consumers_could_not_trust() {
        let text = sample().to_json();
        let refused = |from: &str, to: &str| {
            let bad = text.replacen(from, to, 1);
            assert_ne!(bad, text, "{from}");
            History::from_json(&bad).expect_err(to).to_string()
        };
        assert!(refused("\"history_version\": 1", "\"history_version\": 2")
            .contains("history_version 2"));
        assert!(
            refused("\"version\": \"a\"", "\"version\": \"a b\"").contains("versions[0].version")
        );
        assert!(refused("\"version\": \"b\"", "\"version\": \"a\"").contains("listed twice"));
        assert!(refused("\"name\": \"f\"", "\"name\": \"../f\"").contains("kfuncs[0].name"));
        // an until before its since; a version the list lacks
        let e = refused(
            "\"until\": {\n            \"version\": \"b\"",
            "\"until\": {\n            \"version\": \"a\"",
        );
        assert!(e.contains("kfuncs[0].sets[0].until"), "{e}");
        assert!(refused(
            "\"since\": {\n        \"version\": \"a\"",
            "\"since\": {\n        \"version\": \"z\""
        )
        .contains("not one of the versions"));
        // a commit that is not the version's
        let e = refused(
            "\"commit\": null,\n      \"kernel_version\"",
            "\"commit\": \"0123456789012345678901234567890123456789\",\n      \"kernel_version\"",
        );
        assert!(e.contains("kfuncs[0]"), "{e}");
    }

    #[test]
    fn missing_in_lies_strictly_inside_the_span() {
        let mut h = sample();
        h.kfuncs[0].span.missing_in = vec!["a".into()];
        assert!(History::from_json(&h.to_json()).is_err());
        // the newest version missing means the span ended: until says so
        h.kfuncs[0].span.missing_in = vec!["c".into()];
        assert!(History::from_json(&h.to_json()).is_err());
        h.kfuncs[0].span.missing_in = vec!["b".into()];
        assert!(History::from_json(&h.to_json()).is_ok());
    }

    #[test]
    fn version_names() {
        for ok in ["v6.12", "6.12.117-rc1", "release/6.1", "v6.1+deb~1"] {
            assert!(is_version_name(ok), "{ok}");
        }
        for bad in ["", "a b", "v6<b>", "v:1", "x\n"] {
            assert!(!is_version_name(bad), "{bad:?}");
        }
    }
}
