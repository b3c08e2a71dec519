//! The Markdown pages, rendered from the [`Site`] model: a page per kfunc,
//! per set and per program type, their indexes and the top index.

use super::kerneldoc::{self, KernelDoc};
use super::model::{restriction_words, KfuncDoc, SetDoc, Site};
use super::{annotation_words, flag_words, md_code, md_path, MARKER};
use crate::cdecl;
use crate::manifest::{Kfunc, PROG_TYPE_UNSPEC};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Relative path → content, for every page of the site.
pub(crate) fn pages(site: &Site, source_url: Option<&str>) -> BTreeMap<String, String> {
    let mut pages = BTreeMap::new();
    for k in &site.kfuncs {
        pages.insert(
            format!("kfuncs/{}.md", k.kfunc.name),
            kfunc_page(site, k, source_url),
        );
    }
    for s in &site.sets {
        pages.insert(format!("sets/{}.md", s.page), set_page(site, s));
    }
    pages.insert("sets/index.md".into(), set_index(site));
    for (t, ks) in &site.by_prog_type {
        pages.insert(format!("program-types/{t}.md"), prog_type_page(site, t, ks));
    }
    pages.insert("program-types/index.md".into(), prog_type_index(site));
    pages.insert("index.md".into(), top_index(site));
    pages
}

/// The kfunc's comment, parsed (empty when it has none).
fn parsed_doc(k: &Kfunc) -> KernelDoc {
    k.doc.as_deref().map(kerneldoc::parse).unwrap_or_default()
}

/// The first sentence of its comment's short description, for a table cell.
fn summary_cell(k: &Kfunc) -> String {
    cell(&parsed_doc(k).summary)
}

/// Text for a table cell: one line, `|` escaped.
fn cell(s: &str) -> String {
    s.replace('\n', " ").replace('|', "\\|")
}

fn prog_type_text(site: &Site, p: &str) -> String {
    if p == PROG_TYPE_UNSPEC {
        format!("{PROG_TYPE_UNSPEC} (the common hook: every program type that calls kfuncs)")
    } else if let Some(h) = site.manifest.kfunc_hooks.get(p) {
        format!("{p} ({h})")
    } else {
        p.to_string()
    }
}

fn kfunc_page(site: &Site, kd: &KfuncDoc, source_url: Option<&str>) -> String {
    let k = kd.kfunc;
    let mut p = String::new();
    let _ = writeln!(p, "{MARKER}\n# {}\n", k.name);
    let doc = parsed_doc(k);
    if !doc.description.is_empty() {
        let _ = writeln!(p, "{}\n", doc.description);
    }
    let _ = writeln!(p, "```c\n{};\n```\n", cdecl::bpf_signature(k));
    verifier_args_section(&mut p, k);
    flags_section(&mut p, k);
    params_section(&mut p, k, &doc);
    if let Some(r) = &doc.returns {
        let _ = writeln!(p, "## Returns\n\n{r}\n");
    }
    prog_types_section(&mut p, site, kd);
    sets_section(&mut p, site, kd);
    if let Some(c) = &k.condition {
        let _ = writeln!(p, "## Configuration\n\nDefined when {}.\n", md_code(c));
    }
    if !doc.body.is_empty() {
        let _ = writeln!(p, "## Description\n\n```text\n{}\n```\n", doc.body);
    }
    if let Some(since) = super::since::kfunc_sentence(site, &k.name) {
        let _ = writeln!(p, "{since}\n");
    }
    // a file name is no Markdown: quoted by Markdown's rules, and
    // percent-encoded in the link
    let loc = format!("{}:{}", k.file, k.line);
    let version = site.version;
    let _ = match source_url {
        Some(u) => writeln!(
            p,
            "Defined at [{}]({}), Linux {version}.",
            md_path(&loc),
            super::source_link(u, &k.file, k.line)
        ),
        None => writeln!(p, "Defined at {}, Linux {version}.", md_code(&loc)),
    };
    p
}

fn verifier_args_section(p: &mut String, k: &Kfunc) {
    let Some(va) = &k.verifier_args else { return };
    let omitted: Vec<String> = cdecl::verifier_params(k)
        .iter()
        .map(|p| format!("`{}`", p.name))
        .collect();
    let _ = writeln!(
        p,
        "The verifier supplies {} ({}); BPF programs call the prototype above. The kernel's full prototype is `{}`{}.\n",
        omitted.join(", "),
        va.convention.flag(),
        cdecl::impl_signature(k).unwrap_or_default(),
        if va.legacy_impl { ", also defined in the source for older programs" } else { "" }
    );
}

fn flags_section(p: &mut String, k: &Kfunc) {
    if k.flags.is_empty() {
        return;
    }
    p.push_str("## Flags\n\n");
    for f in &k.flags {
        let _ = writeln!(p, "- `{f}`: {}", flag_words(f).unwrap_or("(not described)"));
    }
    p.push('\n');
}

fn params_section(p: &mut String, k: &Kfunc, doc: &KernelDoc) {
    let params = cdecl::bpf_params(k);
    if params.is_empty() {
        return;
    }
    p.push_str(
        "## Parameters\n\n| name | type | description | notes |\n| --- | --- | --- | --- |\n",
    );
    for prm in params {
        let note = prm
            .annotation
            .as_deref()
            .map(|a| {
                format!(
                    "`{a}`: {}",
                    annotation_words(a).unwrap_or("annotation not described")
                )
            })
            .unwrap_or_default();
        let desc = cell(doc.param(&prm.name).unwrap_or_default());
        let _ = writeln!(p, "| `{}` | `{}` | {desc} | {note} |", prm.name, prm.ty);
    }
    p.push('\n');
}

/// Why "Callable from" lists more types than the registrations name.
pub(super) const SHARED_HOOKS: &str = "\nThe kernel keeps kfuncs by hook, and several program types share one (tracing, tracepoint, perf-event and LSM programs the tracing hook; every cgroup type the cgroup hook; the four LWT types theirs): so more types may call it than its sets are registered for.\n";

fn prog_types_section(p: &mut String, site: &Site, kd: &KfuncDoc) {
    p.push_str("## Program types\n\n");
    if kd.kfunc.prog_types.is_empty() {
        p.push_str("No registration of its sets was found.\n\n");
        return;
    }
    let registered: BTreeSet<&String> = kd.kfunc.prog_types.iter().collect();
    let shared = kd.callable_from.len() > registered.len();
    for t in registered {
        let _ = writeln!(p, "- registered for {}", prog_type_text(site, t));
    }
    let filters: BTreeSet<String> = kd
        .listed_in
        .iter()
        .flat_map(|&(i, _)| &site.sets[i].set.registrations)
        .filter_map(|r| {
            let words = restriction_words(r)?;
            Some(format!("{}: {words}", r.prog_type))
        })
        .collect();
    for f in filters {
        let _ = writeln!(p, "- {f}");
    }
    if !kd.callable_from.is_empty() {
        let links: Vec<String> = kd
            .callable_from
            .iter()
            .map(|t| match kd.condition_for(t) {
                c if c.is_empty() => format!("[{t}](../program-types/{t}.md)"),
                c => format!("[{t}](../program-types/{t}.md) ({c})"),
            })
            .collect();
        if shared {
            p.push_str(SHARED_HOOKS);
        }
        let _ = writeln!(p, "\nCallable from: {}.", links.join(", "));
    }
    p.push('\n');
}

fn sets_section(p: &mut String, site: &Site, kd: &KfuncDoc) {
    p.push_str("## Sets\n\n");
    for &(i, e) in &kd.listed_in {
        let SetDoc { set: s, page } = &site.sets[i];
        let cond = e
            .condition
            .as_deref()
            .map(|c| format!(", if {}", md_code(c)))
            .unwrap_or_default();
        let _ = writeln!(
            p,
            "- [{}](../sets/{page}.md) ({}){cond}",
            s.name,
            md_path(&format!("{}:{}", s.file, e.line))
        );
    }
    p.push('\n');
}

fn set_index(site: &Site) -> String {
    let mut out = format!(
        "{MARKER}\n# Kfunc sets of Linux {}\n\n| set | file | kfuncs | program types |\n| --- | --- | --- | --- |\n",
        site.version
    );
    for SetDoc { set: s, page } in &site.sets {
        // as registered; each kfunc's page says where it is callable from
        let registered: BTreeSet<&str> = s
            .registrations
            .iter()
            .map(|r| r.prog_type.as_str())
            .collect();
        let _ = writeln!(
            out,
            "| [{}]({page}.md) | {} | {} | {} |",
            s.name,
            cell(&md_code(&format!("{}:{}", s.file, s.line))),
            s.entries.len(),
            registered.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    out
}

fn set_page(site: &Site, sd: &SetDoc) -> String {
    let s = sd.set;
    let mut p = format!(
        "{MARKER}\n# Set {}\n\nDeclared at {} ({:?}).\n\n## Registrations\n\n",
        s.name,
        md_code(&format!("{}:{}", s.file, s.line)),
        s.kind
    );
    if s.registrations.is_empty() {
        p.push_str("None found.\n");
    }
    let mut registrations: Vec<_> = s.registrations.iter().collect();
    registrations.sort();
    for r in registrations {
        let filter = restriction_words(r)
            .map(|w| format!(", {w}"))
            .unwrap_or_default();
        let _ = writeln!(
            p,
            "- {} through `{}` at {}{filter}",
            prog_type_text(site, &r.prog_type),
            r.id_set,
            md_code(&format!("{}:{}", r.file, r.line))
        );
    }
    p.push_str("\n## Kfuncs\n\n| kfunc | flags | condition |\n| --- | --- | --- |\n");
    for e in &s.entries {
        let name = if site.is_defined(&e.name) {
            format!("[{0}](../kfuncs/{0}.md)", e.name)
        } else {
            format!("{} (definition not found)", e.name)
        };
        let cond = e
            .condition
            .as_deref()
            .map(|c| cell(&md_code(c)))
            .unwrap_or_default();
        let _ = writeln!(p, "| {name} | {} | {cond} |", e.flags.join(" \\| "));
    }
    p
}

fn prog_type_index(site: &Site) -> String {
    let hooks = &site.manifest.kfunc_hooks;
    let mut out = format!(
        "{MARKER}\n# Kfuncs by program type, Linux {}\n\n",
        site.version
    );
    if hooks.is_empty() {
        out.push_str("The tree's kfunc hook table was not found: program types are listed as registered.\n\n");
    }
    out.push_str("| program type | hook | kfuncs |\n| --- | --- | --- |\n");
    for (t, ks) in &site.by_prog_type {
        let hook = hooks.get(t).map(String::as_str).unwrap_or("");
        let _ = writeln!(out, "| [{t}]({t}.md) | {hook} | {} |", ks.len());
    }
    out
}

fn prog_type_page(site: &Site, t: &str, kfuncs: &[usize]) -> String {
    let mut p = format!("{MARKER}\n# {t}\n\nKfuncs a {t} program may call");
    if let Some(h) = site.manifest.kfunc_hooks.get(t) {
        let _ = write!(
            p,
            " (its hook: {h}; sets registered for {PROG_TYPE_UNSPEC} apply to every hook)"
        );
    }
    p.push_str(".\n\n| kfunc | summary |\n| --- | --- |\n");
    for &i in kfuncs {
        let kd = &site.kfuncs[i];
        let k = kd.kfunc;
        let condition = match kd.condition_for(t) {
            c if c.is_empty() => c,
            c => format!(" ({})", cell(&c)),
        };
        let _ = writeln!(
            p,
            "| [{0}](../kfuncs/{0}.md){condition} | {1} |",
            k.name,
            summary_cell(k)
        );
    }
    p
}

fn top_index(site: &Site) -> String {
    let mut out = format!(
        "{MARKER}\n# Kfuncs of Linux {}\n\n{} kfuncs in {} sets. Indexes: [by program type](program-types/index.md), [by set](sets/index.md).\n\n| kfunc | summary |\n| --- | --- |\n",
        site.version,
        site.kfuncs.len(),
        site.sets.len()
    );
    for kd in &site.kfuncs {
        let k = kd.kfunc;
        let _ = writeln!(
            out,
            "| [{0}](kfuncs/{0}.md) | {1} |",
            k.name,
            summary_cell(k)
        );
    }
    out
}
