//! Which paths the walk reads, and how it names them: C sources and
//! headers, hidden entries skipped, names relative to the tree's top, and
//! the paths a manifest cannot hold.

use super::diag;
use crate::manifest::{Diagnostic, Severity};
use std::path::Path;

pub(crate) fn rel_path(root: &Path, p: &Path) -> String {
    // The walker joins each name to its directory's path, so a path below
    // `root` starts with root's own bytes and a `/`: slicing them off gives
    // what the component-wise `strip_prefix` gives, without its cost (it ran
    // for every entry of the tree). Anything else takes the general way.
    let (r, b) = (
        root.as_os_str().as_encoded_bytes(),
        p.as_os_str().as_encoded_bytes(),
    );
    let rest = b.strip_prefix(r).and_then(|rest| {
        if r.ends_with(b"/") {
            Some(rest)
        } else {
            rest.strip_prefix(b"/")
        }
    });
    // `strip_prefix` trims separators and `.` components at the ends of
    // what it leaves; the slice is the same only without them.
    let plain = |x: &[u8]| {
        !(x.is_empty()
            || x == b"."
            || x.starts_with(b"/")
            || x.starts_with(b"./")
            || x.ends_with(b"/")
            || x.ends_with(b"/."))
    };
    let text = match rest {
        Some(rest) if plain(rest) => String::from_utf8_lossy(rest),
        _ => p.strip_prefix(root).unwrap_or(p).to_string_lossy(),
    };
    if text.contains('\\') {
        text.replace('\\', "/")
    } else {
        text.into_owned()
    }
}

/// A hidden file or directory, which the walk skips (the `ignore` walker's
/// rule on Unix, which the filesystem walk applies: a name starting with `.`).
#[cfg_attr(not(feature = "git"), allow(dead_code))] // used by a git tree's walk
pub(crate) fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

/// Whether the file at `p` is named as a C source or header, whatever the
/// rest of its name (UTF-8 or not): [`is_c_name`] on bytes.
pub(crate) fn is_c_named(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    p.file_name().is_some_and(|n| {
        let n = n.as_bytes();
        n.iter()
            .rposition(|&b| b == b'.')
            .is_some_and(|dot| dot > 0 && matches!(&n[dot + 1..], b"c" | b"h"))
    })
}

/// Why a C file at `rel` (its path below the tree's root, as bytes) cannot
/// be in a manifest, whose `file` fields are JSON strings its readers take
/// only as one line without `*/` ([`crate::manifest::read::is_file_path`]:
/// pages and the header's C comments quote them). None when it can. Such
/// a file is an error and not read: it may hold kfuncs, which the manifest
/// would lack. (For any tree: a git tree's walk can ask it too.)
pub(crate) fn unusable_rel(rel: &[u8]) -> Option<&'static str> {
    let Ok(rel) = std::str::from_utf8(rel) else {
        return Some("its path is not UTF-8, which a manifest's paths (JSON strings) must be");
    };
    if crate::manifest::read::is_file_path(rel) {
        None
    } else if rel.contains("*/") {
        Some("its path holds `*/`, which would end the C comment a header quotes it in: a manifest's readers refuse it")
    } else {
        Some("its path holds a control character or a bidirectional override, which would break or reorder the lines quoting it: a manifest's readers refuse it")
    }
}

/// [`unusable_rel`] for the file at `p`, `rel` below `root` as
/// [`rel_path`] gives it, the text the manifest would hold. Where that
/// replaced what was not UTF-8 (a U+FFFD may also be written so), the
/// path's own bytes are looked at.
pub(crate) fn unusable_path(root: &Path, p: &Path, rel: &str) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    let raw = || p.strip_prefix(root).unwrap_or(p).as_os_str().as_bytes();
    if rel.contains('\u{fffd}') && std::str::from_utf8(raw()).is_err() {
        unusable_rel(raw())
    } else {
        unusable_rel(rel.as_bytes())
    }
}

/// The error for a C file whose path a manifest cannot hold (see
/// [`unusable_rel`]), named as the terminal shows it.
pub(crate) fn unusable_path_error(root: &Path, p: &Path, why: &str) -> Diagnostic {
    let rel = p.strip_prefix(root).unwrap_or(p);
    diag(
        "unusable-path",
        Severity::Error,
        &crate::manifest::term::path(rel),
        format!("{why}; not read"),
    )
}

/// Whether a file named `name` is a C source or header: `Path::extension`'s
/// rule (after the last `.`, which does not start the name) without
/// parsing a path.
#[cfg_attr(not(feature = "git"), allow(dead_code))] // used by a git tree's walk
pub(crate) fn is_c_name(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && matches!(ext, "c" | "h"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_those_strip_prefix_gives() {
        let cases = [
            ("/t", "/t/a/b.c"),
            ("/t/", "/t/a/b.c"),
            ("t", "t/b.c"),
            ("./t", "./t/x/y.h"),
            (".", "./a.c"),
            ("/", "/a/b.c"),
            ("/t", "/t//a.c"),
            ("/t", "/t/./a.c"),
            ("/t", "/t/a/."),
            ("/t", "/t"),
            ("/t", "/u/a.c"),
            ("/t", "/tt/a.c"),
            ("a/./b", "a/./b/c.c"),
            ("/t", "/t/a\\b.c"),
        ];
        for (root, p) in cases {
            let (root, p) = (Path::new(root), Path::new(p));
            let slow = p
                .strip_prefix(root)
                .unwrap_or(p)
                .to_string_lossy()
                .replace('\\', "/");
            assert_eq!(rel_path(root, p), slow, "{root:?} {p:?}");
        }
    }

    #[test]
    fn paths_a_manifest_cannot_hold() {
        for ok in [
            &b"net/core/filter.c"[..],
            b"with space/\"q\".c",
            b"star*.c",
            b"\xc3\xa9.c",
        ] {
            assert_eq!(unusable_rel(ok), None, "{ok:?}");
        }
        let why = |b: &[u8]| unusable_rel(b).unwrap_or("");
        assert!(why(b"d\xff/x.c").contains("not UTF-8"));
        assert!(why(b"drv*/x.c").contains("`*/`"));
        assert!(why(b"a\nb.c").contains("control character"));
        assert!(why(b"a\xe2\x80\xaeb.c").contains("bidirectional"));
        // a C name whatever its bytes, as `is_c_name` says for UTF-8
        use std::os::unix::ffi::OsStrExt;
        let named = |b: &[u8]| is_c_named(Path::new(std::ffi::OsStr::from_bytes(b)));
        assert!(named(b"d/\xff.c") && named(b"x.h") && !named(b".c") && !named(b"\xff.cc"));
    }

    #[test]
    fn a_c_name_is_what_path_extension_says() {
        for name in [
            "a.c", "a.h", "a.b.c", ".c", ".h", "..c", "a.", "a", "a.cc", "a.hh", "c", "a.C",
            "x.c.h", ".a.c",
        ] {
            let by_path = matches!(
                Path::new(name).extension().and_then(|e| e.to_str()),
                Some("c" | "h")
            );
            assert_eq!(is_c_name(name), by_path, "{name}");
        }
    }
}
