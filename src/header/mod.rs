//! `kfunc-scan header`: a C header declaring kfuncs as BPF programs call
//! them, from a manifest (`--manifest`: declarations only, beside a
//! vmlinux.h) or from a kernel's BTF (`--btf`: self-contained, with the
//! types they need, written by the BTF crate's C emitter `btf::c`).

mod from_btf;
mod from_manifest;

pub use from_btf::{header as header_from_btf, prototype, HeaderKfunc, HeaderText};
pub use from_manifest::{header, HeaderOptions, KERNEL_TYPES, OWN_DIRECTIVES};

/// Text from outside (a path, a release) made safe for a C block comment:
/// control characters escaped as the terminal shows them (so no line
/// break), and `*/` and `/*` broken by a backslash (`*\/`, `/\*`), so the
/// comment cannot be closed early nor warn of a nested one. Only
/// backslashes are inserted, so no new pair can form.
pub fn comment_text(s: &str) -> String {
    crate::manifest::term::escape(s)
        .replace("*/", "*\\/")
        .replace("/*", "/\\*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_text_cannot_end_or_open_a_comment_nor_break_a_line() {
        assert_eq!(
            comment_text("/sys/kernel/btf/vmlinux"),
            "/sys/kernel/btf/vmlinux"
        );
        assert_eq!(comment_text("a*/b"), "a*\\/b");
        assert_eq!(comment_text("a/*b"), "a/\\*b");
        assert_eq!(comment_text("x\n#define y\r"), "x\\n#define y\\r");
        // overlapping pairs: every one broken, no new one made
        for s in ["*/*", "/*/", "/*/*/", "**//**", "*/\n/*"] {
            let c = comment_text(s);
            assert!(!c.contains("*/") && !c.contains("/*"), "{s:?} -> {c:?}");
            assert!(!c.chars().any(char::is_control), "{s:?} -> {c:?}");
        }
        assert_eq!(comment_text("/*/*/"), "/\\*\\/\\*\\/");
    }
}
