//! Whether a manifest describes the kernel whose BTF is read: a manifest
//! of another release series names other kfuncs, program types and flags,
//! so `avail` and `header --btf` refuse the pair unless told to go on.

use crate::manifest::kversion::KernelVersion;
use crate::manifest::term;
use std::path::Path;

/// What the two versions say of each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionCheck {
    /// One series (6.12.117 and 6.12.118: stable releases keep their
    /// kfuncs; a prototype that changed shows as `differs`).
    Same,
    /// Another series.
    Differs { manifest: String, btf: String },
    /// Not known: why, in words.
    Unknown(String),
}

/// Compares the manifest's kernel version with the BTF's release.
pub fn check(manifest: Option<&str>, btf: Option<&str>) -> VersionCheck {
    let Some(mv) = manifest else {
        return VersionCheck::Unknown("the manifest does not name its kernel version".into());
    };
    let Some(bv) = btf else {
        return VersionCheck::Unknown(format!(
            "the BTF does not name its kernel's release (BTF records types, not versions; a RELEASE or config file beside it names one), so the manifest's Linux {} cannot be checked against it",
            term::escape(mv)
        ));
    };
    match (KernelVersion::parse(mv), KernelVersion::parse(bv)) {
        (Some(a), Some(b)) if a.same_series(&b) => VersionCheck::Same,
        (Some(_), Some(_)) => VersionCheck::Differs {
            manifest: mv.to_string(),
            btf: bv.to_string(),
        },
        (None, _) => VersionCheck::Unknown(format!(
            "the manifest's kernel version {} is not a version",
            term::escape(mv)
        )),
        (_, None) => VersionCheck::Unknown(format!(
            "the BTF's kernel release {} is not a version",
            term::escape(bv)
        )),
    }
}

/// The error for a manifest of another series, naming both versions and
/// the manifest file.
pub fn mismatch_error(manifest_path: &Path, manifest: &str, btf: &str) -> String {
    format!(
        "{}: error[version-mismatch]: the manifest is of Linux {} but the BTF is of Linux {}: another release series, whose kfuncs, program types and flags are not this kernel's; use a manifest of this kernel's source (or --allow-version-mismatch to go on)",
        term::path(manifest_path),
        term::escape(manifest),
        term::escape(btf)
    )
}

/// The warning for a mismatch let through, or a check that could not be
/// made.
pub fn warning(manifest_path: &Path, c: &VersionCheck) -> Option<String> {
    let text = match c {
        VersionCheck::Same => return None,
        VersionCheck::Differs { manifest, btf } => format!(
            "the manifest is of Linux {} but the BTF is of Linux {} (--allow-version-mismatch): program types, flags and the kfunc list are another kernel's",
            term::escape(manifest),
            term::escape(btf)
        ),
        VersionCheck::Unknown(why) => why.clone(),
    };
    Some(format!(
        "{}: warning[version]: {text}",
        term::path(manifest_path)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_series_is_the_same_kernel() {
        assert_eq!(
            check(Some("6.12.118"), Some("6.12.117")),
            VersionCheck::Same
        );
        assert_eq!(
            check(Some("6.12.118"), Some("6.12.0-28-amd64")),
            VersionCheck::Same
        );
        assert_eq!(
            check(Some("6.1.192"), Some("6.12.117")),
            VersionCheck::Differs {
                manifest: "6.1.192".into(),
                btf: "6.12.117".into()
            }
        );
        assert!(matches!(
            check(Some("6.12.118"), None),
            VersionCheck::Unknown(_)
        ));
        assert!(matches!(
            check(None, Some("6.12.1")),
            VersionCheck::Unknown(_)
        ));
        assert!(matches!(
            check(Some("main"), Some("6.12.1")),
            VersionCheck::Unknown(_)
        ));
    }
}
