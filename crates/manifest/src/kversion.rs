//! Kernel versions as the top Makefile gives them (`6.12.117`,
//! `6.13.0-rc3`, `7.0.0`) or as tags name them (`v6.12`, `v6.13-rc3`),
//! ordered as the kernel's releases come: by version, patch level and
//! sublevel, a release candidate before its release. The one comparison
//! every command that holds two versions uses, so that none mixes them
//! silently (a diff read backwards, a history out of order, a manifest of
//! one kernel applied to another's BTF).

use std::cmp::Ordering;
use std::fmt;

/// A kernel version, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelVersion {
    /// The first number (`6` of 6.12.3).
    pub version: u32,
    /// The second (`12` of 6.12.3).
    pub patchlevel: u32,
    /// 0 when not given (`v6.12` is 6.12.0).
    pub sublevel: u32,
    /// `-rcN`: a release candidate, before the release.
    pub rc: Option<u32>,
    /// Whatever follows (`+deb12`, `-dirty`, a local version): kept, and
    /// ignored by the order.
    pub extra: String,
}

impl KernelVersion {
    /// Parses `[v]VERSION.PATCHLEVEL[.SUBLEVEL][-rcN][rest]`; `None` for
    /// anything else (a branch name, a commit).
    pub fn parse(s: &str) -> Option<KernelVersion> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let (nums, rest) = split_numbers(s)?;
        let (version, patchlevel) = (*nums.first()?, *nums.get(1)?);
        let sublevel = nums.get(2).copied().unwrap_or(0);
        let (rc, extra) = match rest.strip_prefix("-rc") {
            Some(r) => {
                let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
                match r[..end].parse() {
                    Ok(n) => (Some(n), r[end..].to_string()),
                    Err(_) => (None, rest.to_string()),
                }
            }
            None => (None, rest.to_string()),
        };
        Some(KernelVersion {
            version,
            patchlevel,
            sublevel,
            rc,
            extra,
        })
    }

    /// The order of releases: `extra` does not count, so two builds of
    /// one release are equal.
    pub fn release_cmp(&self, other: &KernelVersion) -> Ordering {
        (self.version, self.patchlevel, self.sublevel)
            .cmp(&(other.version, other.patchlevel, other.sublevel))
            .then_with(|| match (self.rc, other.rc) {
                (None, None) => Ordering::Equal,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(a), Some(b)) => a.cmp(&b),
            })
    }

    /// Whether two versions are of one release series (6.12.x): what a
    /// manifest and a BTF must share for the manifest to describe it.
    pub fn same_series(&self, other: &KernelVersion) -> bool {
        (self.version, self.patchlevel) == (other.version, other.patchlevel)
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.version, self.patchlevel, self.sublevel)?;
        if let Some(rc) = self.rc {
            write!(f, "-rc{rc}")?;
        }
        f.write_str(&self.extra)
    }
}

/// Up to three dot-separated numbers at the start of `s`, and the rest.
fn split_numbers(s: &str) -> Option<(Vec<u32>, &str)> {
    let mut nums = Vec::new();
    let mut rest = s;
    while nums.len() < 3 {
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if end == 0 || end > 9 {
            break;
        }
        nums.push(rest[..end].parse().ok()?);
        rest = &rest[end..];
        match rest.strip_prefix('.') {
            Some(r) if nums.len() < 3 && r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
            _ => break,
        }
    }
    (nums.len() >= 2).then_some((nums, rest))
}

/// The order of two version strings, when both parse.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(KernelVersion::parse(a)?.release_cmp(&KernelVersion::parse(b)?))
}

/// Whether two version strings are of one release series, when both parse.
pub fn same_series(a: &str, b: &str) -> Option<bool> {
    Some(KernelVersion::parse(a)?.same_series(&KernelVersion::parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> KernelVersion {
        match KernelVersion::parse(s) {
            Some(v) => v,
            None => panic!("{s} should parse"),
        }
    }

    #[test]
    fn makefile_and_tag_spellings() {
        assert_eq!(v("6.12.117").to_string(), "6.12.117");
        assert_eq!(v("v6.12").to_string(), "6.12.0");
        assert_eq!(v("v6.13-rc3").rc, Some(3));
        assert_eq!(v("6.12.117+deb12-amd64").extra, "+deb12-amd64");
        assert_eq!(v("6.1.0-rc1-dirty").extra, "-dirty");
        for bad in ["", "v", "6", "six.twelve", "main", "6.", "1234567890.1"] {
            assert_eq!(KernelVersion::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn releases_in_order() {
        let order = [
            "v5.15",
            "6.1.0",
            "6.1.192",
            "v6.2-rc1",
            "v6.2-rc7",
            "6.2.0",
            "6.12.0-rc3",
            "6.12",
            "6.12.117",
            "7.0.0",
        ];
        for w in order.windows(2) {
            assert_eq!(
                compare(w[0], w[1]),
                Some(Ordering::Less),
                "{} < {}",
                w[0],
                w[1]
            );
            assert_eq!(compare(w[1], w[0]), Some(Ordering::Greater));
        }
        // numbers compare as numbers, not text
        assert_eq!(compare("6.9", "6.10"), Some(Ordering::Less));
        assert_eq!(compare("6.12.117+deb12", "6.12.117"), Some(Ordering::Equal));
        assert_eq!(compare("6.12", "next-20260101"), None);
    }

    #[test]
    fn series() {
        assert!(v("6.12.117").same_series(&v("v6.12")));
        assert!(!v("6.12.117").same_series(&v("6.1.117")));
        assert_eq!(same_series("v6.12", "6.12.117+deb12"), Some(true));
        assert_eq!(same_series("v6.12", "6.1.0"), Some(false));
        assert_eq!(same_series("v6.12", "next"), None);
    }
}
