//! `kfunc-scan history`: when each kfunc, set membership and program type
//! came and went, over manifests of successive versions ([`build`]), which
//! come from files or from trees read straight out of a git repository
//! ([`git`]).
//!
//! What a version "has" is what its manifest says BPF programs can call:
//! a kfunc when a kfunc set lists it and the tree defines it
//! ([`Manifest::callable_kfuncs`]); a membership when a kfunc set of that
//! name lists it; a program type of a kfunc as
//! [`Manifest::kfunc_callable_from`] gives it (every type, the common hook
//! spelled out), of a set as the ebpf-docs YAML lists it
//! ([`crate::manifest::CallableFrom::with_unspec`]).

#[cfg(feature = "git")]
pub mod git;

use crate::manifest::history::{
    History, KfuncHistory, Named, SetHistory, Span, Version, VersionRef, HISTORY_VERSION,
};
use crate::manifest::kversion::KernelVersion;
use crate::manifest::Manifest;
use std::collections::{BTreeMap, BTreeSet};

/// Why a history cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("no versions to compare")]
    NoVersions,
    #[error("version `{0}` is given twice")]
    DuplicateVersion(String),
    #[error("`{0}` cannot name a version (letters, digits and `._+~/-` only)")]
    BadVersionName(String),
    #[error("`{name}` cannot be put in order among the others: {why}; a history runs oldest first, and kfunc-scan orders its versions by their kernel release")]
    Unordered { name: String, why: String },
}

/// The kernel release a version is of: its tree's (`kernel_version`),
/// else its name (`v6.12`).
fn release_of(v: &Version) -> Result<KernelVersion, HistoryError> {
    let text = v.kernel_version.as_deref().unwrap_or(&v.version);
    KernelVersion::parse(text).ok_or_else(|| HistoryError::Unordered {
        name: v.version.clone(),
        why: match &v.kernel_version {
            Some(k) => format!("its kernel version `{k}` is not a kernel release"),
            None => "it names no kernel release".to_string(),
        },
    })
}

/// Puts `inputs` oldest first by kernel release (`history new.json
/// old.json` would otherwise report the new kfuncs gone). Versions of one
/// release (two commits between release candidates) keep the order given.
/// Whether the order changed; an error naming the version whose release
/// cannot be told.
pub fn order_by_release<T>(inputs: &mut Vec<(Version, T)>) -> Result<bool, HistoryError> {
    let releases = inputs
        .iter()
        .map(|(v, _)| release_of(v))
        .collect::<Result<Vec<_>, _>>()?;
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by(|&a, &b| releases[a].release_cmp(&releases[b]));
    if order.iter().enumerate().all(|(i, &o)| i == o) {
        return Ok(false);
    }
    let mut taken: Vec<Option<(Version, T)>> = inputs.drain(..).map(Some).collect();
    inputs.extend(order.iter().filter_map(|&i| taken[i].take()));
    Ok(true)
}

/// The versions that have each thing, by thing: indices into the inputs.
#[derive(Default)]
struct Seen {
    kfuncs: BTreeMap<String, BTreeSet<usize>>,
    memberships: BTreeMap<(String, String), BTreeSet<usize>>,
    kfunc_prog_types: BTreeMap<(String, String), BTreeSet<usize>>,
    sets: BTreeMap<String, BTreeSet<usize>>,
    set_prog_types: BTreeMap<(String, String), BTreeSet<usize>>,
}

impl Seen {
    fn add(&mut self, at: usize, m: &Manifest) {
        let callable = m.callable_kfuncs();
        let names: BTreeSet<&str> = callable.iter().map(|k| k.name.as_str()).collect();
        for k in &callable {
            self.kfuncs.entry(k.name.clone()).or_default().insert(at);
            for t in m.kfunc_callable_from(k).every {
                let key = (k.name.clone(), t);
                self.kfunc_prog_types.entry(key).or_default().insert(at);
            }
        }
        for s in m.sets.iter().filter(|s| Manifest::is_kfunc_set(s)) {
            self.sets.entry(s.name.clone()).or_default().insert(at);
            for t in m.set_callable_from(s).with_unspec() {
                let key = (s.name.clone(), t);
                self.set_prog_types.entry(key).or_default().insert(at);
            }
            for e in s.entries.iter().filter(|e| names.contains(e.name.as_str())) {
                let key = (e.name.clone(), s.name.clone());
                self.memberships.entry(key).or_default().insert(at);
            }
        }
    }
}

/// The history of `versions`, oldest first, each with its manifest.
pub fn build(versions: &[(Version, &Manifest)]) -> Result<History, HistoryError> {
    if versions.is_empty() {
        return Err(HistoryError::NoVersions);
    }
    let mut names = BTreeSet::new();
    for (v, _) in versions {
        if !crate::manifest::history::is_version_name(&v.version) {
            return Err(HistoryError::BadVersionName(v.version.clone()));
        }
        if !names.insert(v.version.as_str()) {
            return Err(HistoryError::DuplicateVersion(v.version.clone()));
        }
    }
    let mut seen = Seen::default();
    for (i, (_, m)) in versions.iter().enumerate() {
        seen.add(i, m);
    }
    let list: Vec<Version> = versions.iter().map(|(v, _)| v.clone()).collect();
    let span = |at: &BTreeSet<usize>| span_of(&list, at);
    let named = |of: &BTreeMap<(String, String), BTreeSet<usize>>, owner: &str| -> Vec<Named> {
        of.range((owner.to_string(), String::new())..)
            .take_while(|((o, _), _)| o == owner)
            .map(|((_, name), at)| Named {
                name: name.clone(),
                span: span(at),
            })
            .collect()
    };
    let kfuncs = seen
        .kfuncs
        .iter()
        .map(|(name, at)| KfuncHistory {
            name: name.clone(),
            span: span(at),
            sets: named(&seen.memberships, name),
            prog_types: named(&seen.kfunc_prog_types, name),
        })
        .collect();
    let sets = seen
        .sets
        .iter()
        .map(|(name, at)| SetHistory {
            name: name.clone(),
            span: span(at),
            prog_types: named(&seen.set_prog_types, name),
        })
        .collect();
    Ok(History {
        history_version: HISTORY_VERSION,
        generator: format!("kfunc-scan {}", env!("CARGO_PKG_VERSION")),
        versions: list,
        kfuncs,
        sets,
    })
}

/// The span of something the versions `at` (indices into `versions`, not
/// empty) have.
fn span_of(versions: &[Version], at: &BTreeSet<usize>) -> Span {
    let first = at.first().copied().unwrap_or(0);
    let last = at.last().copied().unwrap_or(first);
    let reference = |i: usize| {
        versions.get(i).map(|v| VersionRef {
            version: v.version.clone(),
            commit: v.commit.clone(),
        })
    };
    Span {
        since: reference(first).unwrap_or_default(),
        until: reference(last + 1),
        missing_in: (first..=last)
            .filter(|i| !at.contains(i))
            .filter_map(|i| versions.get(i).map(|v| v.version.clone()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(n: usize) -> Vec<Version> {
        (0..n)
            .map(|i| Version {
                version: format!("v{i}"),
                commit: None,
                kernel_version: None,
            })
            .collect()
    }

    #[test]
    fn spans_from_the_versions_that_have_it() {
        let vs = versions(5);
        let s = span_of(&vs, &[1, 2, 4].into());
        assert_eq!(s.since.version, "v1");
        assert_eq!(s.until, None);
        assert_eq!(s.missing_in, ["v3"]);
        let s = span_of(&vs, &[0, 2].into());
        assert_eq!(s.since.version, "v0");
        assert_eq!(s.until.map(|u| u.version).as_deref(), Some("v3"));
        assert_eq!(s.missing_in, ["v1"]);
    }

    #[test]
    fn versions_are_put_oldest_first_by_release() {
        let v = |name: &str, k: Option<&str>| Version {
            version: name.into(),
            commit: None,
            kernel_version: k.map(str::to_string),
        };
        let mut inputs = vec![
            (v("6.12.117", Some("6.12.117")), 'c'),
            (v("v6.1", Some("6.1.0")), 'a'),
            (v("v6.12-rc3", Some("6.12.0-rc3")), 'b'),
            (v("x", Some("6.12.117")), 'd'),
            (v("v7.0", None), 'e'),
        ];
        assert_eq!(order_by_release(&mut inputs).ok(), Some(true));
        let got: String = inputs.iter().map(|(_, c)| *c).collect();
        // equal releases keep the order given (c before d)
        assert_eq!(got, "abcde");
        assert_eq!(order_by_release(&mut inputs).ok(), Some(false));
        let mut bad = vec![
            (v("a", Some("6.1.0")), ()),
            (v("next", Some("next-20260101")), ()),
        ];
        match order_by_release(&mut bad) {
            Err(HistoryError::Unordered { name, why }) => {
                assert_eq!(name, "next");
                assert!(
                    why.contains("`next-20260101` is not a kernel release"),
                    "{why}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_are_checked_and_unique() {
        let m = Manifest::default();
        let mut vs = versions(2);
        vs[1].version = "v0".into();
        let inputs: Vec<(Version, &Manifest)> = vs.into_iter().map(|v| (v, &m)).collect();
        assert!(matches!(build(&inputs), Err(HistoryError::DuplicateVersion(v)) if v == "v0"));
        assert!(matches!(build(&[]), Err(HistoryError::NoVersions)));
    }
}
