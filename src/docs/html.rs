//! A static site for BPF programmers, rendered from the [`Site`] model: no
//! server and no external assets (the style and the index's script are in
//! the pages). The index lists every kfunc with a search box and filters
//! (program type, set, module, flags); a page per kfunc, per program type
//! (with the `SEC()` names libbpf gives it) and per set.

use super::kerneldoc::{self, KernelDoc};
use super::model::{restriction_words, KfuncDoc, SetDoc, Site};
use super::{annotation_words, flag_words, MARKER};
use crate::cdecl;
use crate::conventions;
use crate::manifest::{Kfunc, PROG_TYPE_UNSPEC};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:72em;margin:1em auto;padding:0 1em;line-height:1.4}\
code,pre{font-family:ui-monospace,monospace}pre{background:#f4f4f4;padding:.6em;overflow-x:auto}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}\
.filters{display:flex;flex-wrap:wrap;gap:.5em 1em;margin:1em 0}.flag{font-size:.8em;background:#eef;border-radius:3px;padding:0 .3em;margin-right:.2em}\
nav{display:flex;flex-wrap:wrap;gap:.3em 1.2em;align-items:baseline;border-bottom:1px solid #ddd;padding:.4em 0;margin-bottom:1em}nav .v{color:#666;margin-left:auto}\
#q{min-width:22em;flex:1 1 22em}.caveat{color:#8a4b00}";

/// The index's filtering: a row shows when it matches the search text and
/// every filter. Rows carry their values in data attributes, space-padded.
const SCRIPT: &str = r#"(function(){
var q=document.getElementById('q'),sel=['f-prog','f-set','f-module'].map(function(i){return document.getElementById(i)});
var flags=Array.prototype.slice.call(document.querySelectorAll('input.f-flag'));
var rows=Array.prototype.slice.call(document.querySelectorAll('tr.k')),count=document.getElementById('count');
var keys=['progs','sets','module'];
var names=['prog','set','module'];
function restore(){var h=new URLSearchParams(location.hash.slice(1));q.value=h.get('q')||'';
sel.forEach(function(s,i){var v=h.get(names[i])||'';s.value=Array.prototype.some.call(s.options,function(o){return o.value===v})?v:''});
var on=(h.get('flags')||'').split(',');flags.forEach(function(f){f.checked=on.indexOf(f.value)>=0});}
function save(){var h=new URLSearchParams();if(q.value.trim())h.set('q',q.value.trim());
sel.forEach(function(s,i){if(s.value)h.set(names[i],s.value)});
var on=flags.filter(function(f){return f.checked}).map(function(f){return f.value});if(on.length)h.set('flags',on.join(','));
var frag=h.toString(),url=location.href.split('#')[0]+(frag?'#'+frag:'');
try{history.replaceState(null,'',url)}catch(e){if(frag)location.hash=frag}}
function apply(){var t=q.value.trim().toLowerCase(),n=0;
rows.forEach(function(r){var ok=!t||r.dataset.name.indexOf(t)>=0||r.dataset.summary.indexOf(t)>=0;
sel.forEach(function(s,i){if(ok&&s.value&&r.dataset[keys[i]].indexOf(' '+s.value+' ')<0)ok=false});
flags.forEach(function(f){if(ok&&f.checked&&r.dataset.flags.indexOf(' '+f.value+' ')<0)ok=false});
r.hidden=!ok;if(ok)n++});count.textContent=n;}
function changed(){apply();save()}
['input','change','search'].forEach(function(e){q.addEventListener(e,changed)});sel.forEach(function(s){s.addEventListener('change',changed)});
flags.forEach(function(f){f.addEventListener('change',changed)});
window.addEventListener('hashchange',function(){restore();apply()});restore();apply();})();"#;

/// Relative path → content, for every page of the site.
pub(crate) fn pages(site: &Site, source_url: Option<&str>) -> BTreeMap<String, String> {
    let mut pages = BTreeMap::new();
    for k in &site.kfuncs {
        pages.insert(
            format!("kfuncs/{}.html", k.kfunc.name),
            kfunc_page(site, k, source_url),
        );
    }
    for s in &site.sets {
        pages.insert(format!("sets/{}.html", s.page), set_page(site, s));
    }
    for (t, ks) in &site.by_prog_type {
        pages.insert(
            format!("program-types/{t}.html"),
            prog_type_page(site, t, ks),
        );
    }
    pages.insert("sets/index.html".into(), set_index(site));
    pages.insert("program-types/index.html".into(), prog_type_index(site));
    pages.insert("index.html".into(), index(site));
    pages
}

/// `&`, `<`, `>`, `"` escaped.
/// `text` escaped, its `backticked` spans as `<code>`.
fn code_spans(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", esc(part));
        } else {
            out.push_str(&esc(part));
        }
    }
    out
}

pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A page's head and the bar every page starts with: the three ways in
/// (all kfuncs, by program type, by set) and the kernel's version.
fn head(site: &Site, title: &str, up: &str) -> String {
    format!(
        "{MARKER}\n<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title>\
<style>{STYLE}</style></head><body>\n<nav><a href=\"{up}index.html\">All kfuncs</a>\
<a href=\"{up}program-types/index.html\">Program types</a><a href=\"{up}sets/index.html\">Sets</a>\
<span class=\"v\">Linux {}</span></nav>\n",
        esc(title),
        esc(site.version)
    )
}

/// Kernel-doc text as prose: paragraphs at blank lines, their lines
/// joined; an indented run (an example, a table) kept as it is written.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut para: Vec<&str> = Vec::new();
    let mut pre: Vec<&str> = Vec::new();
    let flush_para = |out: &mut String, para: &mut Vec<&str>| {
        if !para.is_empty() {
            let _ = writeln!(out, "<p>{}</p>", code_spans(&para.join(" ")));
            para.clear();
        }
    };
    let flush_pre = |out: &mut String, pre: &mut Vec<&str>| {
        if !pre.is_empty() {
            let _ = writeln!(out, "<pre>{}</pre>", esc(&pre.join("\n")));
            pre.clear();
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush_para(&mut out, &mut para);
            flush_pre(&mut out, &mut pre);
        } else if line.starts_with('\t') || line.starts_with("  ") {
            flush_para(&mut out, &mut para);
            pre.push(line);
        } else {
            flush_pre(&mut out, &mut pre);
            para.push(line.trim());
        }
    }
    flush_para(&mut out, &mut para);
    flush_pre(&mut out, &mut pre);
    out
}

/// Whether some section name of program type `t` loads a sleepable
/// program (`lsm.s/`, `fentry.s/`, …); XDP and the like never sleep.
fn may_sleep(t: &str) -> bool {
    conventions::sec_names(t).any(|d| d.sleepable)
}

/// The caveat beside a KF_SLEEPABLE kfunc listed for program type `t`.
fn sleepable_caveat(k: &Kfunc, t: &str) -> String {
    caveat_for(&k.flags, t)
}

fn caveat_for(flags: &[String], t: &str) -> String {
    if !flags.iter().any(|f| f == "KF_SLEEPABLE") || t == PROG_TYPE_UNSPEC {
        return String::new();
    }
    if may_sleep(t) {
        " <span class=\"caveat\">(from sleepable programs only)</span>".to_string()
    } else {
        format!(
            " <span class=\"caveat\">(sleepable programs only: {} programs never sleep, so the verifier refuses it there)</span>",
            esc(t)
        )
    }
}

const FOOT: &str = "</body></html>\n";

fn parsed(k: &Kfunc) -> KernelDoc {
    k.doc.as_deref().map(kerneldoc::parse).unwrap_or_default()
}

/// Where a kfunc's code lands: its object with a build view, else the
/// directory of its source file.
fn module(k: &Kfunc) -> String {
    match k.object.object() {
        Some(o) => o.to_string(),
        None => k
            .file
            .rsplit_once('/')
            .map_or(k.file.clone(), |(d, _)| d.to_string()),
    }
}

fn index(site: &Site) -> String {
    let mut p = head(site, &format!("Kfuncs of Linux {}", site.version), "");
    let _ = write!(
        p,
        "<h1>Kfuncs of Linux {}</h1>\n<p><span id=\"count\">{}</span> of {} kfuncs shown.</p>\n<div class=\"filters\">\
<input id=\"q\" type=\"search\" placeholder=\"Search names and summaries\" autofocus>\n",
        esc(site.version),
        site.kfuncs.len(),
        site.kfuncs.len()
    );
    let progs: Vec<&str> = site.by_prog_type.keys().map(String::as_str).collect();
    let sets: BTreeSet<&str> = site.sets.iter().map(|s| s.set.name.as_str()).collect();
    let modules: BTreeSet<String> = site.kfuncs.iter().map(|k| module(k.kfunc)).collect();
    select(&mut p, "f-prog", "program type", progs);
    select(&mut p, "f-set", "set", sets);
    // without a build view a kfunc's place is its source directory
    let built = site
        .kfuncs
        .iter()
        .any(|k| k.kfunc.object.object().is_some());
    select(
        &mut p,
        "f-module",
        if built { "module" } else { "directory" },
        modules.iter().map(String::as_str),
    );
    let flags: BTreeSet<&str> = site
        .kfuncs
        .iter()
        .flat_map(|k| k.kfunc.flags.iter().map(String::as_str))
        .collect();
    for f in flags {
        let short = f.strip_prefix("KF_").unwrap_or(f).to_lowercase();
        let _ = writeln!(
            p,
            "<label><input type=\"checkbox\" class=\"f-flag\" value=\"{0}\"> {1}</label>",
            esc(f),
            esc(&short)
        );
    }
    p.push_str("</div>\n<table><thead><tr><th>kfunc</th><th>summary</th><th>flags</th></tr></thead><tbody>\n");
    for kd in &site.kfuncs {
        index_row(&mut p, site, kd);
    }
    let _ = write!(p, "</tbody></table>\n<script>{SCRIPT}</script>\n{FOOT}");
    p
}

fn select<'a>(p: &mut String, id: &str, what: &str, values: impl IntoIterator<Item = &'a str>) {
    let _ = write!(
        p,
        "<label>{what} <select id=\"{id}\"><option value=\"\">any</option>"
    );
    for v in values {
        let _ = write!(p, "<option>{}</option>", esc(v));
    }
    p.push_str("</select></label>\n");
}

fn index_row(p: &mut String, site: &Site, kd: &KfuncDoc) {
    let k = kd.kfunc;
    let summary = parsed(k).summary;
    let padded = |v: Vec<&str>| format!(" {} ", v.join(" "));
    let sets: Vec<&str> = kd
        .listed_in
        .iter()
        .map(|(i, _)| site.sets[*i].set.name.as_str())
        .collect();
    let progs: Vec<&str> = kd.callable_from.iter().map(String::as_str).collect();
    let flags: Vec<&str> = k.flags.iter().map(String::as_str).collect();
    let _ = writeln!(
        p,
        "<tr class=\"k\" data-name=\"{lname}\" data-summary=\"{lsummary}\" data-progs=\"{progs}\" data-sets=\"{sets}\" data-module=\"{module}\" data-flags=\"{flags}\">\
<td><a href=\"kfuncs/{name}.html\"><code>{name}</code></a></td><td>{summary}</td><td>{badges}</td></tr>",
        lname = esc(&k.name.to_lowercase()),
        lsummary = esc(&summary.to_lowercase()),
        name = esc(&k.name),
        progs = esc(&padded(progs)),
        sets = esc(&padded(sets)),
        module = esc(&format!(" {} ", module(k))),
        flags = esc(&padded(flags.clone())),
        summary = esc(&summary),
        badges = flag_badges(&flags)
    );
}

fn flag_badges(flags: &[&str]) -> String {
    flags
        .iter()
        .map(|f| format!("<span class=\"flag\">{}</span>", esc(f)))
        .collect()
}

fn kfunc_page(site: &Site, kd: &KfuncDoc, source_url: Option<&str>) -> String {
    let k = kd.kfunc;
    let doc = parsed(k);
    let mut p = head(site, &k.name, "../");
    let _ = writeln!(p, "<h1><code>{}</code></h1>", esc(&k.name));
    if !doc.description.is_empty() {
        let _ = writeln!(p, "<p>{}</p>", esc(&doc.description));
    }
    let _ = writeln!(
        p,
        "<pre><code>{};</code></pre>",
        esc(&cdecl::bpf_signature(k))
    );
    if !k.flags.is_empty() {
        p.push_str("<h2>Flags</h2>\n<ul>\n");
        for f in &k.flags {
            let words = flag_words(f).unwrap_or("(not described)");
            let _ = writeln!(p, "<li><code>{}</code>: {}</li>", esc(f), esc(words));
        }
        p.push_str("</ul>\n");
    }
    params(&mut p, k, &doc);
    if let Some(r) = &doc.returns {
        let _ = writeln!(p, "<h2>Returns</h2>\n<p>{}</p>", esc(r));
    }
    prog_types(&mut p, site, kd);
    let _ = match super::since::kfunc_sentence(site, &k.name) {
        Some(since) => writeln!(p, "<h2>Since</h2>\n<p>{}</p>", esc(&since)),
        None => writeln!(p, "<p>Present in Linux {}.</p>", esc(site.version)),
    };
    if !doc.body.is_empty() {
        let _ = write!(p, "<h2>Description</h2>\n{}", prose(&doc.body));
    }
    if let Some(c) = &k.condition {
        let _ = writeln!(p, "<p>Defined when <code>{}</code>.</p>", esc(c));
    }
    let loc = format!("{}:{}", k.file, k.line);
    let _ = match source_url {
        Some(u) => writeln!(
            p,
            "<p>Defined at <a href=\"{}\">{}</a>.</p>",
            esc(&super::source_link(u, &k.file, k.line)),
            esc(&loc)
        ),
        None => writeln!(p, "<p>Defined at <code>{}</code>.</p>", esc(&loc)),
    };
    p.push_str(FOOT);
    p
}

fn params(p: &mut String, k: &Kfunc, doc: &KernelDoc) {
    let params = cdecl::bpf_params(k);
    if params.is_empty() {
        return;
    }
    p.push_str("<h2>Parameters</h2>\n<table><tr><th>name</th><th>type</th><th>description</th><th>notes</th></tr>\n");
    for prm in params {
        let note = prm
            .annotation
            .as_deref()
            .map(|a| format!("{a}: {}", annotation_words(a).unwrap_or("not described")))
            .unwrap_or_default();
        let _ = writeln!(
            p,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(&prm.name),
            esc(&prm.ty),
            esc(doc.param(&prm.name).unwrap_or_default()),
            esc(&note)
        );
    }
    p.push_str("</table>\n");
}

/// Registrations (with their filters) and the types it may be called from.
fn prog_types(p: &mut String, site: &Site, kd: &KfuncDoc) {
    p.push_str("<h2>Program types</h2>\n<ul>\n");
    for &(i, _) in &kd.listed_in {
        let s = &site.sets[i];
        for r in &s.set.registrations {
            let filter = restriction_words(r)
                .map(|w| format!(", {}", code_spans(&w)))
                .unwrap_or_default();
            let what = if r.prog_type == PROG_TYPE_UNSPEC {
                "every program type (the common hook)".to_string()
            } else {
                format!("<code>{}</code>", esc(&r.prog_type))
            };
            let _ = writeln!(
                p,
                "<li>{what} through set <a href=\"../sets/{}.html\">{}</a>{filter}</li>",
                esc(&s.page),
                esc(&s.set.name)
            );
        }
    }
    p.push_str("</ul>\n");
    let registered: std::collections::BTreeSet<&String> = kd.kfunc.prog_types.iter().collect();
    if kd.callable_from.len() > registered.len() {
        let _ = writeln!(p, "<p>{}</p>", esc(super::markdown::SHARED_HOOKS.trim()));
    }
    p.push_str("<p>Callable from: ");
    let links: Vec<String> = kd
        .callable_from
        .iter()
        .map(|t| {
            let link = format!(
                "<a href=\"../program-types/{0}.html\">{0}</a>{1}",
                esc(t),
                sleepable_caveat(kd.kfunc, t)
            );
            match kd.condition_for(t) {
                c if c.is_empty() => link,
                c => format!("{link} ({})", code_spans(&c)),
            }
        })
        .collect();
    p.push_str(&links.join(", "));
    p.push_str(".</p>\n");
}

fn prog_type_page(site: &Site, t: &str, kfuncs: &[usize]) -> String {
    let mut p = head(site, t, "../");
    let _ = writeln!(p, "<h1>{}</h1>", esc(t));
    if let Some(h) = site.manifest.kfunc_hooks.get(t) {
        let _ = writeln!(p, "<p>Kfunc hook: <code>{}</code>.</p>", esc(h));
    }
    p.push_str("<h2>Section names</h2>\n<ul>\n");
    for d in conventions::sec_names(t) {
        let attach = d
            .attach_type
            .map(|a| format!(", attach type <code>{}</code>", esc(a)))
            .unwrap_or_default();
        let sleepable = if d.sleepable { ", sleepable" } else { "" };
        let _ = writeln!(
            p,
            "<li><code>SEC(\"{}\")</code>{attach}{sleepable}</li>",
            esc(d.sec)
        );
    }
    let _ = writeln!(
        p,
        "</ul>\n<h2>Kfuncs</h2>\n<table><tr><th>kfunc</th><th>summary</th><th>flags</th></tr>"
    );
    for &i in kfuncs {
        let kd = &site.kfuncs[i];
        let k = kd.kfunc;
        let flags: Vec<&str> = k.flags.iter().map(String::as_str).collect();
        let condition = match kd.condition_for(t) {
            c if c.is_empty() => c,
            c => format!(" ({})", code_spans(&c)),
        };
        let _ = writeln!(
            p,
            "<tr><td><a href=\"../kfuncs/{0}.html\"><code>{0}</code></a>{condition}{3}</td><td>{1}</td><td>{2}</td></tr>",
            esc(&k.name),
            esc(&parsed(k).summary),
            flag_badges(&flags),
            sleepable_caveat(k, t)
        );
    }
    p.push_str("</table>\n");
    p.push_str(FOOT);
    p
}

/// Every program type with the number of kfuncs it may call.
fn prog_type_index(site: &Site) -> String {
    let mut p = head(
        site,
        &format!("Kfuncs by program type, Linux {}", site.version),
        "../",
    );
    let _ = writeln!(
        p,
        "<h1>Kfuncs by program type</h1>\n<p>What a program of each type may call: the sets registered for its hook and for every program type (the common hook), less what filters refuse.</p>\n<table><tr><th>program type</th><th>hook</th><th>kfuncs</th></tr>"
    );
    for (t, ks) in &site.by_prog_type {
        let hook = site
            .manifest
            .kfunc_hooks
            .get(t)
            .map(String::as_str)
            .unwrap_or("");
        let _ = writeln!(
            p,
            "<tr><td><a href=\"{0}.html\">{0}</a></td><td><code>{1}</code></td><td>{2}</td></tr>",
            esc(t),
            esc(hook),
            ks.len()
        );
    }
    p.push_str("</table>\n");
    p.push_str(FOOT);
    p
}

/// Every kfunc set: where it is declared, its size, its registrations.
fn set_index(site: &Site) -> String {
    let mut p = head(site, &format!("Kfunc sets, Linux {}", site.version), "../");
    let _ = writeln!(
        p,
        "<h1>Kfunc sets</h1>\n<table><tr><th>set</th><th>declared at</th><th>kfuncs</th><th>registered for</th></tr>"
    );
    for sd in &site.sets {
        let s = sd.set;
        let registered: BTreeSet<&str> = s
            .registrations
            .iter()
            .map(|r| r.prog_type.as_str())
            .collect();
        let registered: Vec<String> = registered
            .into_iter()
            .map(|t| format!("<code>{}</code>", esc(t)))
            .collect();
        let _ = writeln!(
            p,
            "<tr><td><a href=\"{}.html\"><code>{}</code></a></td><td><code>{}:{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(&sd.page),
            esc(&s.name),
            esc(&s.file),
            s.line,
            s.entries.len(),
            registered.join(", ")
        );
    }
    p.push_str("</table>\n");
    p.push_str(FOOT);
    p
}

fn set_page(site: &Site, sd: &SetDoc) -> String {
    let s = sd.set;
    let mut p = head(site, &s.name, "../");
    let _ = writeln!(
        p,
        "<h1>Set <code>{}</code></h1>\n<p>Declared at <code>{}:{}</code>.</p>\n<h2>Registrations</h2>\n<ul>",
        esc(&s.name),
        esc(&s.file),
        s.line
    );
    for r in &s.registrations {
        let filter = restriction_words(r)
            .map(|w| format!(", {}", code_spans(&w)))
            .unwrap_or_default();
        let _ = writeln!(
            p,
            "<li><code>{}</code> at <code>{}:{}</code>{filter}</li>",
            esc(&r.prog_type),
            esc(&r.file),
            r.line
        );
    }
    p.push_str(
        "</ul>\n<h2>Kfuncs</h2>\n<table><tr><th>kfunc</th><th>flags</th><th>condition</th></tr>\n",
    );
    for e in &s.entries {
        let name = if site.is_defined(&e.name) {
            format!(
                "<a href=\"../kfuncs/{0}.html\"><code>{0}</code></a>",
                esc(&e.name)
            )
        } else {
            format!("<code>{}</code> (definition not found)", esc(&e.name))
        };
        let flags: Vec<&str> = e.flags.iter().map(String::as_str).collect();
        let cond = e.condition.as_deref().map(esc).unwrap_or_default();
        let _ = writeln!(
            p,
            "<tr><td>{name}</td><td>{}</td><td><code>{cond}</code></td></tr>",
            flag_badges(&flags)
        );
    }
    p.push_str("</table>\n");
    p.push_str(FOOT);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_has_paragraphs_and_keeps_indented_runs() {
        let text =
            "First line\nsecond line with `code`.\n\nNext one.\n\tint x = 1;\n\tint y;\nAfter.";
        assert_eq!(
            prose(text),
            "<p>First line second line with <code>code</code>.</p>\n<p>Next one.</p>\n<pre>\tint x = 1;\n\tint y;</pre>\n<p>After.</p>\n"
        );
        assert_eq!(prose("a < b & c"), "<p>a &lt; b &amp; c</p>\n");
        assert_eq!(prose(""), "");
    }

    #[test]
    fn sleepable_caveats_follow_the_section_names() {
        assert_eq!(caveat_for(&["KF_ACQUIRE".into()], "BPF_PROG_TYPE_XDP"), "");
        let k = ["KF_SLEEPABLE".to_string()];
        // XDP has no sleepable section; LSM has lsm.s/
        assert!(!may_sleep("BPF_PROG_TYPE_XDP") && may_sleep("BPF_PROG_TYPE_LSM"));
        assert!(
            caveat_for(&k, "BPF_PROG_TYPE_XDP").contains("BPF_PROG_TYPE_XDP programs never sleep")
        );
        assert_eq!(
            caveat_for(&k, "BPF_PROG_TYPE_LSM"),
            " <span class=\"caveat\">(from sleepable programs only)</span>"
        );
        assert_eq!(caveat_for(&k, PROG_TYPE_UNSPEC), "");
    }
}
