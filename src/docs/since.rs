//! When things came and went, from a history (`docs --history`): a
//! sentence for a kfunc's page, `since` / `until` for the ebpf-docs YAML's
//! program types. Without a history, pages say nothing of it and the YAML
//! carries neither.
//!
//! A span starting at the oldest version the history compares may have
//! started earlier: pages say "or earlier", and the YAML writes no
//! `since` for it (ebpf-docs reads a missing `since` as "always").

use super::model::Site;
use crate::manifest::history::{Span, VersionRef};
use std::collections::BTreeSet;
use std::fmt::Write;

/// The sentence for a kfunc's page, when the history knows the kfunc.
pub(crate) fn kfunc_sentence(site: &Site, name: &str) -> Option<String> {
    let h = site.history.as_deref()?;
    let span = &h.kfunc(name)?.span;
    let mut s = if h.since_oldest(span) {
        format!(
            "Since {} or earlier (the oldest version compared).",
            span.since.version
        )
    } else {
        format!("Since {}.", named(&span.since))
    };
    if let Some(u) = &span.until {
        let _ = write!(s, " Gone in {}.", named(u));
    }
    Some(s)
}

/// `v6.6 (commit 0123456789ab)`, or the version alone.
fn named(r: &VersionRef) -> String {
    match &r.commit {
        Some(c) => format!("{} (commit {})", r.version, c.get(..12).unwrap_or(c)),
        None => r.version.clone(),
    }
}

/// The program types the YAML lists for set `set`: `callable` (what the
/// manifest's registrations give), and those the history saw it lose,
/// each with its span in the history when there is one.
pub(crate) fn set_prog_types<'s>(
    site: &'s Site,
    set: &str,
    callable: BTreeSet<String>,
) -> Vec<(String, Option<&'s Span>)> {
    let known = site.history.as_deref().and_then(|h| h.set(set));
    let span_of = |t: &str| {
        known.and_then(|s| {
            s.prog_types
                .binary_search_by(|p| p.name.as_str().cmp(t))
                .ok()
                .map(|i| &s.prog_types[i].span)
        })
    };
    let mut names = callable;
    // a type the set was callable from once, for pages of older kernels
    names.extend(
        known
            .iter()
            .flat_map(|s| &s.prog_types)
            .filter(|p| p.span.until.is_some())
            .map(|p| p.name.clone()),
    );
    names
        .into_iter()
        .map(|t| {
            let span = span_of(&t);
            (t, span)
        })
        .collect()
}

/// The `since:` and `until:` lines of a YAML program type, indented under
/// its `- name:`.
pub(crate) fn yaml_span(out: &mut String, site: &Site, span: Option<&Span>) {
    let (Some(h), Some(span)) = (site.history.as_deref(), span) else {
        return;
    };
    if !h.since_oldest(span) {
        yaml_version(out, "since", &span.since);
    }
    if let Some(u) = &span.until {
        yaml_version(out, "until", u);
    }
}

/// Versions are quoted: `6.10` unquoted is the number 6.1 to YAML.
fn yaml_version(out: &mut String, key: &str, r: &VersionRef) {
    let _ = writeln!(out, "        {key}:\n          version: \"{}\"", r.version);
    if let Some(c) = &r.commit {
        let _ = writeln!(out, "          commit: \"{c}\"");
    }
}
