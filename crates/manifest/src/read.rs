//! Reading a manifest, which is untrusted input: another tool may have
//! written it, or a person. It is checked once, here, so that consumers can
//! rely on what they put in paths and C: kfunc, set, flag and program-type
//! names are C identifiers (a name becomes a page's file name and a
//! declaration in the header), text that goes on one line of a page or in
//! a C comment holds no line break and no `*/`, C types hold nothing that
//! ends a declaration or starts a comment or a directive, and no two kfuncs
//! share a name. Errors carry the line and column of the value at fault.

use crate::{BuiltInto, Kfunc, KfuncSet, Manifest, Restriction, SCHEMA_VERSION};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt;

/// Why a manifest was refused, and where in its text.
#[derive(Debug)]
pub struct ManifestError {
    line: usize,
    column: usize,
    kind: ManifestErrorKind,
}

/// What is wrong with a manifest.
#[derive(Debug)]
#[non_exhaustive]
pub enum ManifestErrorKind {
    /// Not JSON, or not the manifest's shape.
    Json(serde_json::Error),
    /// Written for another schema version: its fields may mean something else.
    SchemaVersion(u32),
    /// A value consumers cannot trust (`field` as `kfuncs[3].name`).
    Invalid {
        /// The field, as a path (`kfuncs[3].name`).
        field: String,
        /// What is wrong with its value.
        message: String,
    },
}

impl ManifestError {
    /// 1-based, as serde_json counts; 0 when the text gave no place.
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based byte column.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong.
    pub fn kind(&self) -> &ManifestErrorKind {
        &self.kind
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ManifestErrorKind::Json(e) => write!(f, "{e}"),
            ManifestErrorKind::SchemaVersion(v) => write!(
                f,
                "schema_version {v} is not one this kfunc-scan reads ({SCHEMA_VERSION})"
            ),
            ManifestErrorKind::Invalid { field, message } => write!(f, "{field}: {message}"),
        }
    }
}

impl std::error::Error for ManifestError {}

impl From<serde_json::Error> for ManifestError {
    fn from(e: serde_json::Error) -> Self {
        ManifestError {
            line: e.line(),
            column: e.column(),
            kind: ManifestErrorKind::Json(e),
        }
    }
}

/// One step into the JSON text: an object's member or an array's element.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// A value found wanting: where, and why.
pub(crate) struct Problem {
    pub(crate) path: Vec<Step>,
    pub(crate) message: String,
}

pub(crate) fn from_json(text: &str) -> Result<Manifest, ManifestError> {
    // the version first: a manifest of another version may not parse as this one
    #[derive(Deserialize)]
    struct Version {
        schema_version: u32,
    }
    let v: Version = serde_json::from_str(text)?;
    if v.schema_version != SCHEMA_VERSION {
        let path = [Step::Key("schema_version".into())];
        let (line, column) = locate(text, &path);
        return Err(ManifestError {
            line,
            column,
            kind: ManifestErrorKind::SchemaVersion(v.schema_version),
        });
    }
    let m: Manifest = serde_json::from_str(text)?;
    match first_problem(&m) {
        None => Ok(m),
        Some(p) => {
            let (line, column) = locate(text, &p.path);
            Err(ManifestError {
                line,
                column,
                kind: ManifestErrorKind::Invalid {
                    field: field_name(&p.path),
                    message: p.message,
                },
            })
        }
    }
}

/// `kfuncs[3].params[0].type`
pub(crate) fn field_name(path: &[Step]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

// ---- what is checked

/// `[A-Za-z_][A-Za-z0-9_]*`
pub fn is_c_identifier(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Text for one line of a page or a C comment: no control character, no
/// bidirectional override or isolate (which would reorder what a reader of
/// the generated header sees: "Trojan Source"), no `*/`. The characters
/// the terminal shows escaped ([`crate::term::needs_escape`]).
pub(crate) fn is_one_line(s: &str) -> bool {
    !s.chars().any(crate::term::needs_escape) && !s.contains("*/")
}

/// A source file's path as the reader takes it in a `file` field: one line
/// of a page or a C comment (the header writes it in one), so no control
/// character and no `*/`. The scanner reports a file whose path is not one
/// rather than write a manifest its readers refuse.
pub fn is_file_path(s: &str) -> bool {
    is_one_line(s)
}

/// A C type as the scanner writes one (`int (*)(void *map)`, `u8[16]`,
/// `...`): one line, and nothing that would end the declaration it is put
/// in, open a comment, a string or a directive.
fn is_c_type(s: &str) -> bool {
    is_one_line(s)
        && !s.contains("/*")
        && !s.contains("//")
        && !s.chars().any(|c| "#;{}\"'\\`".contains(c))
}

/// An object of a build: `vmlinux` or a module's name as Kbuild writes it
/// (letters, digits, `_`, `-`; `:` between the names of an object linked
/// into several modules).
fn is_object_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_-:".contains(&c))
}

/// A parameter's name: an identifier, none, or `...`.
fn is_param_name(s: &str) -> bool {
    s.is_empty() || s == "..." || is_c_identifier(s)
}

/// Collects the first problem, with the path to its value.
pub(crate) struct Checker {
    pub(crate) path: Vec<Step>,
    pub(crate) found: Option<Problem>,
}

impl Checker {
    pub(crate) fn at<R>(&mut self, step: Step, f: impl FnOnce(&mut Checker) -> R) -> R {
        self.path.push(step);
        let r = f(self);
        self.path.pop();
        r
    }

    pub(crate) fn key<R>(&mut self, k: &str, f: impl FnOnce(&mut Checker) -> R) -> R {
        self.at(Step::Key(k.into()), f)
    }

    pub(crate) fn fail(&mut self, message: String) {
        if self.found.is_none() {
            self.found = Some(Problem {
                path: self.path.clone(),
                message,
            });
        }
    }

    pub(crate) fn check(&mut self, key: &str, value: &str, ok: fn(&str) -> bool, what: &str) {
        if !ok(value) {
            let message = format!("{value:?} is not {what}");
            self.key(key, |c| c.fail(message));
        }
    }

    pub(crate) fn ident(&mut self, key: &str, value: &str) {
        self.check(key, value, is_c_identifier, "a C identifier");
    }

    fn idents(&mut self, key: &str, values: &[String]) {
        self.key(key, |c| {
            for (i, v) in values.iter().enumerate() {
                if !is_c_identifier(v) {
                    let message = format!("{v:?} is not a C identifier");
                    c.at(Step::Index(i), |c| c.fail(message));
                }
            }
        });
    }

    pub(crate) fn line(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.check(key, v, is_one_line, "one line of text without `*/`");
        }
    }
}

fn first_problem(m: &Manifest) -> Option<Problem> {
    let mut c = Checker {
        path: Vec::new(),
        found: None,
    };
    c.line("kernel_version", m.kernel_version.as_deref());
    if let Some(b) = &m.build {
        c.key("build", |c| {
            c.line("config", Some(&b.config));
            c.line("config_hash", Some(&b.config_hash));
            c.check("arch", &b.arch, is_object_name, "an architecture name");
        });
    }
    c.key("flag_values", |c| {
        for k in m.flag_values.keys() {
            c.ident(k, k);
        }
    });
    c.idents("implicit_arg_types", &m.implicit_arg_types);
    c.key("kfunc_hooks", |c| {
        for (t, hook) in &m.kfunc_hooks {
            c.ident(t, t);
            c.ident(t, hook);
        }
    });
    c.idents("prog_type_enum", &m.prog_type_enum);
    c.key("sets", |c| {
        for (i, s) in m.sets.iter().enumerate() {
            c.at(Step::Index(i), |c| check_set(c, s));
        }
    });
    c.key("kfuncs", |c| {
        let mut seen = BTreeSet::new();
        for (i, k) in m.kfuncs.iter().enumerate() {
            c.at(Step::Index(i), |c| {
                check_kfunc(c, k);
                if !seen.insert(k.name.as_str()) {
                    let message = format!("kfunc `{}` is defined twice", k.name);
                    c.key("name", |c| c.fail(message));
                }
            });
        }
    });
    c.found
}

fn check_object(c: &mut Checker, object: &BuiltInto) {
    if let Some(o) = object.object() {
        c.check("object", o, is_object_name, "an object name");
    }
}

fn check_set(c: &mut Checker, s: &KfuncSet) {
    c.ident("name", &s.name);
    c.line("file", Some(&s.file));
    check_object(c, &s.object);
    c.key("entries", |c| {
        for (i, e) in s.entries.iter().enumerate() {
            c.at(Step::Index(i), |c| {
                c.ident("name", &e.name);
                c.idents("flags", &e.flags);
                c.line("condition", e.condition.as_deref());
            });
        }
    });
    c.key("registrations", |c| {
        for (i, r) in s.registrations.iter().enumerate() {
            c.at(Step::Index(i), |c| {
                c.ident("prog_type", &r.prog_type);
                c.ident("id_set", &r.id_set);
                if let Some(f) = &r.filter {
                    c.ident("filter", f);
                }
                c.line("file", Some(&r.file));
                c.line("condition", r.condition.as_deref());
                if let Some(rs) = &r.restriction {
                    c.key("restriction", |c| check_restriction(c, rs));
                }
            });
        }
    });
}

fn check_restriction(c: &mut Checker, r: &Restriction) {
    c.line("file", r.file.as_deref());
    c.line("unread", r.unread.as_deref());
    if let Some(t) = &r.prog_types {
        c.idents("prog_types", t);
    }
    if let Some(t) = &r.attach_types {
        c.idents("attach_types", t);
    }
    c.key("requires", |c| {
        for (i, q) in r.requires.iter().enumerate() {
            if !is_one_line(q) {
                let message = format!("{q:?} is not one line of text without `*/`");
                c.at(Step::Index(i), |c| c.fail(message));
            }
        }
    });
}

fn check_kfunc(c: &mut Checker, k: &Kfunc) {
    c.ident("name", &k.name);
    c.line("file", Some(&k.file));
    check_object(c, &k.object);
    c.check("return_type", &k.return_type, is_c_type, "a C type");
    c.key("params", |c| {
        for (i, p) in k.params.iter().enumerate() {
            c.at(Step::Index(i), |c| {
                c.check("name", &p.name, is_param_name, "a parameter name");
                c.check("type", &p.ty, is_c_type, "a C type");
                if let Some(a) = &p.annotation {
                    c.ident("annotation", a);
                }
            });
        }
    });
    c.idents("sets", &k.sets);
    c.idents("prog_types", &k.prog_types);
    c.idents("flags", &k.flags);
    c.line("condition", k.condition.as_deref());
    if let Some(va) = &k.verifier_args {
        c.key("magic", |c| {
            c.ident("bpf_name", &va.bpf_name);
            c.ident("impl_name", &va.impl_name);
            c.key("omitted_params", |c| {
                for (i, &p) in va.omitted_params.iter().enumerate() {
                    if p >= k.params.len() {
                        let message = format!("{p} is not the index of a parameter");
                        c.at(Step::Index(i), |c| c.fail(message));
                    }
                }
            });
        });
    }
}

// ---- where a value is in the text

/// The 1-based line and column where the value at `path` starts in `text`
/// (JSON serde_json has accepted); as far as the path could be followed.
pub(crate) fn locate(text: &str, path: &[Step]) -> (usize, usize) {
    let mut cur = Cursor {
        b: text.as_bytes(),
        i: 0,
    };
    cur.ws();
    for step in path {
        if !cur.enter(step) {
            break;
        }
    }
    let before = &text.as_bytes()[..cur.i.min(text.len())];
    let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
    let column = before.len()
        - before
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (line, column)
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    /// From the value at the cursor to the start of the value `step` names.
    fn enter(&mut self, step: &Step) -> bool {
        let (open, close) = match step {
            Step::Key(_) => (b'{', b'}'),
            Step::Index(_) => (b'[', b']'),
        };
        if self.peek() != Some(open) {
            return false;
        }
        let start = self.i;
        self.i += 1;
        let mut n = 0;
        loop {
            self.ws();
            if self.peek() == Some(close) || self.peek().is_none() {
                self.i = start;
                return false;
            }
            let hit = match step {
                Step::Key(k) => {
                    let key = self.string();
                    self.ws();
                    self.i += 1; // ':'
                    self.ws();
                    serde_json::from_str::<String>(key).is_ok_and(|s| s == *k)
                }
                Step::Index(want) => n == *want,
            };
            if hit {
                return true;
            }
            self.skip_value();
            self.ws();
            if self.peek() == Some(b',') {
                self.i += 1;
            }
            n += 1;
        }
    }

    /// The string literal at the cursor, quotes included.
    fn string(&mut self) -> &'a str {
        let b: &'a [u8] = self.b;
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'\\' => self.i += 1,
                b'"' => break,
                _ => {}
            }
        }
        let end = self.i.min(b.len());
        std::str::from_utf8(&b[start..end]).unwrap_or("")
    }

    fn skip_value(&mut self) {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    self.string();
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.i += 1;
                }
                b'}' | b']' if depth == 0 => return,
                b'}' | b']' => {
                    depth -= 1;
                    self.i += 1;
                }
                b',' if depth == 0 => return,
                _ => self.i += 1,
            }
            if depth == 0 && matches!(c, b'"' | b'}' | b']') {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_values() {
        let text = "{\n  \"a\": [1, {\"b\\\"\": \"x,}\"}, 3],\n  \"c\": {\"d\": [true]}\n}";
        let at = |p: &[Step]| locate(text, p);
        assert_eq!(at(&[Step::Key("a".into())]), (2, 8));
        assert_eq!(at(&[Step::Key("a".into()), Step::Index(2)]), (2, 28));
        assert_eq!(
            at(&[
                Step::Key("a".into()),
                Step::Index(1),
                Step::Key("b\"".into())
            ]),
            (2, 20)
        );
        assert_eq!(
            at(&[Step::Key("c".into()), Step::Key("d".into()), Step::Index(0)]),
            (3, 15)
        );
        // a path that goes nowhere stops where it could
        assert_eq!(at(&[Step::Key("c".into()), Step::Key("zz".into())]), (3, 8));
        // past scalars that end their object or array
        let text = "{\"n\": [1, 2], \"t\": true}";
        assert_eq!(locate(text, &[Step::Key("zz".into())]), (1, 1));
        assert_eq!(
            locate(text, &[Step::Key("n".into()), Step::Index(5)]),
            (1, 7)
        );
    }

    #[test]
    fn file_paths_are_one_line_without_comment_ends_or_reordering() {
        for ok in [
            "net/core/filter.c",
            "with space/\"q\".c",
            "<b>/[x](y).c",
            "star*.c",
            "é.c",
        ] {
            assert!(is_file_path(ok), "{ok:?}");
        }
        for bad in [
            "drv*/x.c",
            "a\nb.c",
            "\u{1b}[31m.c",
            "a\u{202e}b.c",
            "x\u{85}.c",
            "a\rb",
        ] {
            assert!(!is_file_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn identifiers_and_types() {
        assert!(is_c_identifier("bpf_obj_new_impl") && is_c_identifier("_x1"));
        for bad in ["", "1x", "../x", "a b", "a\n", "é"] {
            assert!(!is_c_identifier(bad), "{bad:?}");
        }
        for ok in [
            "int (*)(void *map, int *key)",
            "u8[16]",
            "...",
            "const struct a *",
        ] {
            assert!(is_c_type(ok), "{ok}");
        }
        for bad in [
            "int; int x",
            "int /* x",
            "int\n#include",
            "char \"",
            "int */",
        ] {
            assert!(!is_c_type(bad), "{bad:?}");
        }
    }

    #[test]
    fn build_view_fields_round_trip_and_object_names_are_checked() {
        let base = crate::Manifest {
            schema_version: SCHEMA_VERSION,
            ..Default::default()
        };
        let mut m = base.clone();
        m.build = Some(crate::BuildInfo {
            config: "config".into(),
            config_hash: "fnv1a64:0123456789abcdef".into(),
            arch: "x86_64".into(),
        });
        m.sets.push(KfuncSet {
            name: "s".into(),
            kind: crate::SetKind::Kfuncs,
            file: "net/a.c".into(),
            line: 1,
            end_line: None,
            entries: vec![],
            registrations: vec![],
            object: BuiltInto::Object("nf_conntrack".into()),
        });
        let mut unbuilt = m.sets[0].clone();
        unbuilt.name = "t".into();
        unbuilt.object = BuiltInto::NotBuilt;
        m.sets.push(unbuilt);
        let text = m.to_json();
        // unknown: absent; not built: null; built: the object
        assert!(text.contains("\"object\": \"nf_conntrack\""), "{text}");
        assert!(text.contains("\"object\": null"), "{text}");
        assert!(!base.to_json().contains("\"object\""));
        assert!(!base.to_json().contains("\"build\""));
        assert_eq!(from_json(&text).expect("reads back"), m);

        let bad = text.replace("nf_conntrack", "../x");
        let e = from_json(&bad).expect_err("a path is no object name");
        assert!(e.to_string().contains("sets[0].object"), "{e}");
    }

    /// A manifest with one set and one kfunc, every value as consumers
    /// trust it, for the tests below to spoil one value at a time.
    fn good() -> serde_json::Value {
        let param = |name: &str, ty: &str| crate::Param {
            name: name.into(),
            ty: ty.into(),
            annotation: None,
        };
        let mut k = crate::tests::kfunc(
            "bpf_wq_set_callback",
            "kernel/bpf/helpers.c",
            &["BPF_PROG_TYPE_TRACING"],
        );
        k.params = vec![
            param("wq", "struct bpf_wq *"),
            param("", "void *"),
            param("...", "..."),
        ];
        k.params[1].annotation = Some("__ign".into());
        k.sets = vec!["generic_btf_ids".into()];
        k.flags = vec!["KF_TRUSTED_ARGS".into(), "KF_RCU".into()];
        k.condition = Some("defined(CONFIG_X)".into());
        k.verifier_args = Some(crate::tests::implicit_args(&k, &[2]));
        let mut other = k.clone();
        other.name = "bpf_other".into();
        other.verifier_args = None;
        let m = Manifest {
            schema_version: SCHEMA_VERSION,
            kernel_version: Some("6.12.0".into()),
            kfuncs: vec![k, other],
            ..Default::default()
        };
        serde_json::to_value(&m).expect("json")
    }

    /// `from_json` of `v` pretty-printed, refused: the error's text, its
    /// line and column checked to be where the last `needle` (the value at
    /// fault, as JSON) starts in that text.
    fn refused(v: &serde_json::Value, needle: &str) -> String {
        let text = serde_json::to_string_pretty(v).expect("text");
        let e = from_json(&text).expect_err("refused");
        let at = text.rfind(needle).expect("needle");
        let line = text[..at].matches('\n').count() + 1;
        let column = at - text[..at].rfind('\n').map_or(0, |n| n + 1) + 1;
        assert_eq!((e.line(), e.column()), (line, column), "{e}");
        e.to_string()
    }

    #[test]
    fn every_trusted_value_is_checked_where_it_is() {
        let text = serde_json::to_string_pretty(&good()).expect("text");
        // a parameter may be unnamed or `...`; each kfunc once is fine
        let m = from_json(&text).expect("a good manifest");
        assert_eq!(m.kfuncs.len(), 2);

        // (spoil one value, the value as it then is in the text, the error)
        type Spoil = fn(&mut serde_json::Value);
        let cases: [(Spoil, &str, &str); 7] = [
            (
                |v| v["kfuncs"][1]["name"] = "../x".into(),
                "\"../x\"",
                "kfuncs[1].name: \"../x\" is not a C identifier",
            ),
            (
                |v| v["kfuncs"][0]["flags"][1] = "KF_RCU */".into(),
                "\"KF_RCU */\"",
                "kfuncs[0].flags[1]: \"KF_RCU */\" is not a C identifier",
            ),
            (
                |v| v["kfuncs"][0]["params"][0]["name"] = "a b".into(),
                "\"a b\"",
                "kfuncs[0].params[0].name: \"a b\" is not a parameter name",
            ),
            (
                |v| v["kfuncs"][1]["condition"] = "x */ y".into(),
                "\"x */ y\"",
                "kfuncs[1].condition: \"x */ y\" is not one line of text without `*/`",
            ),
            (
                |v| v["kernel_version"] = "6.12\n#define x".into(),
                "\"6.12\\n#define x\"",
                "kernel_version: \"6.12\\n#define x\" is not one line of text without `*/`",
            ),
            // three parameters: 2 is the last index, 3 none
            (
                |v| v["kfuncs"][0]["magic"]["omitted_params"][0] = 3.into(),
                "3\n",
                "kfuncs[0].magic.omitted_params[0]: 3 is not the index of a parameter",
            ),
            (
                |v| v["kfuncs"][1]["name"] = "bpf_wq_set_callback".into(),
                "\"bpf_wq_set_callback\",\n      \"file\"",
                "kfuncs[1].name: kfunc `bpf_wq_set_callback` is defined twice",
            ),
        ];
        for (spoil, needle, want) in cases {
            let mut v = good();
            spoil(&mut v);
            assert_eq!(refused(&v, needle), want);
        }
    }
}
