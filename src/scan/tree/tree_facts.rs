//! Facts read from fixed places of the tree rather than from kfunc sources:
//! the flag values (`include/linux/btf.h`), the implicit-argument types
//! (`tools/bpf/resolve_btfids/main.c`), the program type → kfunc hook table
//! (`kernel/bpf/btf.c`) and the version (`Makefile`).

use crate::conventions::{PROG_TYPE_ENUM, PROG_TYPE_ENUM_HEADER};
use crate::manifest::{Diagnostic, Severity, PROG_TYPE_UNSPEC};
use crate::scan::file::parse::text;
use crate::scan::file::queries::FlagDefinesQuery;
use crate::scan::file::{mask, parse};
use crate::scan::source::Tree;
use std::collections::BTreeMap;

/// What the tree says of itself, for the manifest's top fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct TreeFacts {
    pub kernel_version: Option<String>,
    pub flag_values: BTreeMap<String, u64>,
    pub implicit_types: Vec<String>,
    pub kfunc_hooks: BTreeMap<String, String>,
    /// `enum bpf_prog_type` but UNSPEC, in order.
    pub prog_type_enum: Vec<String>,
    /// `enum bpf_attach_type`, in order.
    pub attach_type_enum: Vec<String>,
}

/// Reads every fact; `extra_types` (`--implicit-type`) join the tree's
/// implicit-argument types. What cannot be read is a diagnostic, or left out.
pub(crate) fn read(
    tree: &dyn Tree,
    flag_query: &FlagDefinesQuery,
    extra_types: &[String],
    diags: &mut Vec<Diagnostic>,
) -> TreeFacts {
    let read = |rel: &str| tree.read_to_string(rel);
    let uapi = read(PROG_TYPE_ENUM_HEADER);
    let defines = flag_defines(tree, flag_query, diags);
    let mut implicit_types: Vec<String> = read(RESOLVE_BTFIDS)
        .and_then(|s| implicit_types_from_resolve_btfids(&s))
        .unwrap_or_else(|| {
            DEFAULT_IMPLICIT_TYPES
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
    for t in extra_types {
        if !implicit_types.contains(t) {
            implicit_types.push(t.clone());
        }
    }
    TreeFacts {
        kernel_version: read(MAKEFILE).and_then(|m| kernel_version(&m)),
        flag_values: evaluate_flags(&defines, FLAGS_HEADER, diags),
        implicit_types,
        kfunc_hooks: read(KFUNC_HOOKS_SOURCE)
            .map(|s| kfunc_hooks(&s))
            .unwrap_or_default(),
        prog_type_enum: uapi
            .as_deref()
            .map(|h| enum_members(h, PROG_TYPE_ENUM))
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t != PROG_TYPE_UNSPEC)
            .collect(),
        attach_type_enum: uapi
            .as_deref()
            .map(|h| enum_members(h, ATTACH_TYPE_ENUM))
            .unwrap_or_default(),
    }
}

/// The uapi enum listing attach types, for filters that allow all but some.
const ATTACH_TYPE_ENUM: &str = "bpf_attach_type";

/// The members of `enum NAME { … };` in a header, in order; `__MAX_…`
/// style sentinels (a leading `__`) left out.
pub(crate) fn enum_members(header: &str, name: &str) -> Vec<String> {
    let open = format!("enum {name} {{");
    let Some(start) = header.find(&open) else {
        return Vec::new();
    };
    let body = &header[start + open.len()..];
    let body = &body[..body.find('}').unwrap_or(body.len())];
    let mut plain = String::with_capacity(body.len());
    let mut rest = body;
    // comments out: `/* … */` and `// …`
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |e| &r[e + 2..]);
        } else if let Some(r) = rest.strip_prefix("//") {
            rest = r.find('\n').map_or("", |e| &r[e..]);
        } else {
            let mut chars = rest.chars();
            plain.extend(chars.next());
            rest = chars.as_str();
        }
    }
    plain
        .split(',')
        .filter_map(|m| {
            let ident: String = m
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!ident.is_empty() && !ident.starts_with("__")).then_some(ident)
        })
        .collect()
}

/// The `#define KF_X value` lines of the flags header: (name, value, line).
fn flag_defines(
    files: &dyn Tree,
    fq: &FlagDefinesQuery,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(String, String, u32)> {
    let Some(bytes) = files.read(FLAGS_HEADER) else {
        diags.push(Diagnostic::new(
            Severity::Warning,
            "no-flag-definitions",
            FLAGS_HEADER,
            0,
            0,
            "cannot read the tree's flag definitions: every flag is unknown",
        ));
        return Vec::new();
    };
    let masked = mask::mask(&bytes);
    let Some(tree) = parse::parse(&masked) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    fq.for_each_in(tree.root_node(), &masked, None, |caps| {
        if let (Some(n), Some(v)) = (caps.get(fq.flag_name), caps.get(fq.flag_value)) {
            let line = n.start_position().row as u32 + 1;
            out.push((
                text(n, &masked).into_owned(),
                text(v, &masked).into_owned(),
                line,
            ));
        }
    });
    out
}

/// The top Makefile, whose VERSION marks a kernel tree.
pub(crate) const MAKEFILE: &str = "Makefile";

/// Whether `tree` is a kernel tree: a top Makefile setting VERSION.
pub(crate) fn is_kernel_tree(tree: &dyn Tree) -> bool {
    tree.read_to_string(MAKEFILE)
        .is_some_and(|m| makefile_var(&m, "VERSION").is_some())
}

/// `KEY = value` among a Makefile's first lines, where the kernel's sets its
/// version.
fn makefile_var(makefile: &str, key: &str) -> Option<String> {
    makefile.lines().take(40).find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

pub(crate) const FLAGS_HEADER: &str = "include/linux/btf.h";
pub(crate) const RESOLVE_BTFIDS: &str = "tools/bpf/resolve_btfids/main.c";
/// Used when the tree has no `kf_implicit_arg_types` list (before v6.19).
pub(crate) const DEFAULT_IMPLICIT_TYPES: &[&str] = &["bpf_prog_aux", "btf_struct_meta"];

/// Evaluates `#define KF_X <expr>` bodies: integers, `<<`, `|`, `+`, `BIT(n)`,
/// parentheses and references to other defines. Undefined or unreadable
/// values are reported, never guessed.
pub(crate) fn evaluate_flags(
    defines: &[(String, String, u32)],
    path: &str,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, u64> {
    let raw: BTreeMap<&str, &str> = defines
        .iter()
        .map(|(n, v, _)| (n.as_str(), v.as_str()))
        .collect();
    let mut out = BTreeMap::new();
    for (name, value, line) in defines {
        match eval(value, &raw, 0) {
            Some(v) => {
                out.insert(name.clone(), v);
            }
            None => diags.push(Diagnostic::new(
                Severity::Warning,
                "flag-value",
                path,
                *line,
                1,
                format!("cannot evaluate `#define {name} {}`", value.trim()),
            )),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(u64),
    Ident(String),
    Op(&'static str),
}

fn tokenize(s: &str) -> Option<Vec<Tok>> {
    let s = crate::scan::file::cond::normalise_expr(s);
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let lit = s[start..i].trim_end_matches(['u', 'U', 'l', 'L']);
            let v = if let Some(h) = lit.strip_prefix("0x").or_else(|| lit.strip_prefix("0X")) {
                u64::from_str_radix(h, 16).ok()?
            } else {
                lit.parse().ok()?
            };
            out.push(Tok::Num(v));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(s[start..i].to_string()));
        } else if s[i..].starts_with("<<") {
            out.push(Tok::Op("<<"));
            i += 2;
        } else {
            let op = match c {
                b'(' => "(",
                b')' => ")",
                b'|' => "|",
                b'+' => "+",
                _ => return None,
            };
            out.push(Tok::Op(op));
            i += 1;
        }
    }
    Some(out)
}

fn eval(expr: &str, defs: &BTreeMap<&str, &str>, depth: u32) -> Option<u64> {
    if depth > 16 {
        return None; // a define cycle
    }
    let toks = tokenize(expr)?;
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        defs,
        depth,
    };
    let v = p.or()?;
    (p.pos == toks.len()).then_some(v)
}

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
    defs: &'a BTreeMap<&'a str, &'a str>,
    depth: u32,
}

impl Parser<'_> {
    fn peek(&self, op: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Op(o)) if *o == op)
    }
    fn or(&mut self) -> Option<u64> {
        let mut v = self.shift()?;
        while self.peek("|") {
            self.pos += 1;
            v |= self.shift()?;
        }
        Some(v)
    }
    fn shift(&mut self) -> Option<u64> {
        let mut v = self.sum()?;
        while self.peek("<<") {
            self.pos += 1;
            let by = self.sum()?;
            v = v.checked_shl(u32::try_from(by).ok()?)?;
        }
        Some(v)
    }
    fn sum(&mut self) -> Option<u64> {
        let mut v = self.atom()?;
        while self.peek("+") {
            self.pos += 1;
            v = v.checked_add(self.atom()?)?;
        }
        Some(v)
    }
    fn atom(&mut self) -> Option<u64> {
        let t = self.toks.get(self.pos)?.clone();
        self.pos += 1;
        match t {
            Tok::Num(n) => Some(n),
            Tok::Op("(") => {
                let v = self.or()?;
                self.peek(")").then(|| self.pos += 1)?;
                Some(v)
            }
            Tok::Ident(name) if name == "BIT" || name == "BIT_ULL" => {
                self.peek("(").then(|| self.pos += 1)?;
                let n = self.or()?;
                self.peek(")").then(|| self.pos += 1)?;
                1u64.checked_shl(u32::try_from(n).ok()?)
            }
            Tok::Ident(name) => eval(self.defs.get(name.as_str())?, self.defs, self.depth + 1),
            Tok::Op(_) => None,
        }
    }
}

/// `kf_implicit_arg_types[] = { "bpf_prog_aux", ... }` in resolve_btfids.
pub(crate) fn implicit_types_from_resolve_btfids(src: &str) -> Option<Vec<String>> {
    let start = src.find("kf_implicit_arg_types")?;
    let rest = &src[start..];
    let open = rest.find('{')?;
    let close = rest[open..].find('}')? + open;
    let body = &rest[open + 1..close];
    let names: Vec<String> = body
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    (!names.is_empty()).then_some(names)
}

pub(crate) const KFUNC_HOOKS_SOURCE: &str = "kernel/bpf/btf.c";

/// The `case BPF_PROG_TYPE_X: … return BTF_KFUNC_HOOK_Y;` switch of
/// `bpf_prog_type_to_kfunc_hook()`: program type → hook. Types that fall to
/// the default (no hook) are left out.
pub(crate) fn kfunc_hooks(btf_c: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(start) = btf_c.find("bpf_prog_type_to_kfunc_hook(enum bpf_prog_type") else {
        return out;
    };
    let body = &btf_c[start..];
    let body = &body[..body.find("\n}").unwrap_or(body.len())];
    let mut pending: Vec<String> = Vec::new();
    for line in body.lines() {
        let l = line.trim();
        if let Some(t) = l.strip_prefix("case ").and_then(|r| r.strip_suffix(':')) {
            pending.push(t.trim().to_string());
        } else if let Some(h) = l.strip_prefix("return ").and_then(|r| r.strip_suffix(';')) {
            let h = h.trim();
            if h.starts_with("BTF_KFUNC_HOOK_") && h != "BTF_KFUNC_HOOK_MAX" {
                for t in pending.drain(..) {
                    out.insert(t, h.to_string());
                }
            }
            pending.clear();
        } else if l.starts_with("default") {
            pending.clear();
        }
    }
    out
}

/// `6.12.117` from the top Makefile's VERSION/PATCHLEVEL/SUBLEVEL/EXTRAVERSION.
pub(crate) fn kernel_version(makefile: &str) -> Option<String> {
    let get = |key: &str| makefile_var(makefile, key);
    let (v, p) = (get("VERSION")?, get("PATCHLEVEL")?);
    let mut s = format!("{v}.{p}");
    if let Some(sub) = get("SUBLEVEL").filter(|s| !s.is_empty() && s != "0") {
        s.push('.');
        s.push_str(&sub);
    }
    if let Some(extra) = get("EXTRAVERSION") {
        s.push_str(&extra);
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_kernel_flag_defines() {
        let defs = vec![
            ("KF_ACQUIRE".to_string(), "(1 << 0) /* c */".to_string(), 1),
            ("KF_RELEASE".to_string(), "(1 << 1)".to_string(), 2),
            (
                "KF_BOTH".to_string(),
                "(KF_ACQUIRE | KF_RELEASE)".to_string(),
                3,
            ),
            ("KF_HEX".to_string(), "0x40U".to_string(), 4),
            ("KF_BIT".to_string(), "BIT(12)".to_string(), 5),
            ("KF_BAD".to_string(), "(1 << UNDEFINED)".to_string(), 6),
            ("KF_LOOP".to_string(), "KF_LOOP".to_string(), 7),
        ];
        let mut d = Vec::new();
        let v = evaluate_flags(&defs, "btf.h", &mut d);
        assert_eq!(v["KF_ACQUIRE"], 1);
        assert_eq!(v["KF_RELEASE"], 2);
        assert_eq!(v["KF_BOTH"], 3);
        assert_eq!(v["KF_HEX"], 64);
        assert_eq!(v["KF_BIT"], 4096);
        assert!(!v.contains_key("KF_BAD") && !v.contains_key("KF_LOOP"));
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].line, 6);
    }

    #[test]
    fn hooks_from_the_switch() {
        let src = "static int bpf_prog_type_to_kfunc_hook(enum bpf_prog_type prog_type)\n{\n\tswitch (prog_type) {\n\tcase BPF_PROG_TYPE_UNSPEC:\n\t\treturn BTF_KFUNC_HOOK_COMMON;\n\tcase BPF_PROG_TYPE_TRACING:\n\tcase BPF_PROG_TYPE_LSM:\n\t\treturn BTF_KFUNC_HOOK_TRACING;\n\tdefault:\n\t\treturn BTF_KFUNC_HOOK_MAX;\n\t}\n}\n";
        let h = kfunc_hooks(src);
        assert_eq!(h.len(), 3);
        assert_eq!(h["BPF_PROG_TYPE_LSM"], "BTF_KFUNC_HOOK_TRACING");
        assert_eq!(h["BPF_PROG_TYPE_UNSPEC"], "BTF_KFUNC_HOOK_COMMON");
        assert!(kfunc_hooks("nothing").is_empty());
    }

    #[test]
    fn version_and_implicit_types() {
        let mk = "# c\nVERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\nEXTRAVERSION = -rc1\n";
        assert_eq!(kernel_version(mk).as_deref(), Some("6.12.117-rc1"));
        assert_eq!(
            kernel_version("VERSION = 7\nPATCHLEVEL = 0\nSUBLEVEL = 0\nEXTRAVERSION =\n")
                .as_deref(),
            Some("7.0")
        );
        let src = "static const char *const kf_implicit_arg_types[] = {\n\t\"bpf_prog_aux\",\n\t\"btf_struct_meta\",\n};";
        assert_eq!(
            implicit_types_from_resolve_btfids(src).unwrap(),
            vec!["bpf_prog_aux", "btf_struct_meta"]
        );
        assert_eq!(implicit_types_from_resolve_btfids("nothing"), None);
    }
}
