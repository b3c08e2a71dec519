//! `kfunc-scan header`: a C header declaring kfuncs as BPF programs call
//! them (`extern RET name(PARAMS) __ksym __weak;`), from one of two
//! sources of prototypes: a manifest (`--manifest`, `from_manifest`:
//! declarations only, beside a vmlinux.h) or a kernel's BTF (`--btf`,
//! `from_btf`: self-contained, the types they need written by the BTF
//! crate's C emitter `btf::c`).
//!
//! One writer for both: its frame (banner, include guard), the macros the
//! declarations use, each `extern`, and `__arena` undefined again at the
//! end are written here. What a user sees differ between the two is in
//! [`Extern`] (a manifest's declarations are commented and each guarded;
//! the attributes' order) and in what each source puts between the pieces
//! (the manifest's `#error` without vmlinux.h and its forward
//! declarations; the BTF's type definitions).

mod from_btf;
mod from_manifest;

pub use from_btf::{header as header_from_btf, prototype, HeaderKfunc, HeaderText};
pub use from_manifest::{header, HeaderOptions, KERNEL_TYPES, OWN_DIRECTIVES};

use crate::conventions::{ARENA_MACRO, KSYM_SECTION, TYPE_ATTR_ARENA};
use std::fmt::Write;

/// bpftool's vmlinux.h defines it: the kernel's types are there.
const VMLINUX_GUARD: &str = "__VMLINUX_H__";

/// Defined while the header's own `__arena` is: it is undefined again at
/// the header's end, so that a later definition of `__arena` (the
/// selftests' `bpf_arena_common.h` defines it unguarded, and empty on a
/// clang without address-space casts) is not a redefinition.
const ARENA_OURS: &str = "__KFUNC_SCAN_ARENA_DEFINED";

/// The banner (a comment, as given) and the include guard opened.
fn open(out: &mut String, banner: &str, guard: &str) {
    out.push_str(banner);
    let _ = write!(out, "#ifndef {guard}\n#define {guard}\n\n");
}

/// The include guard closed: the header's last line.
fn close(out: &mut String, guard: &str) {
    let _ = writeln!(out, "#endif /* {guard} */");
}

/// `__ksym` and `__weak` unless defined, token for token as libbpf's
/// bpf_helpers.h defines them, so that its own (unguarded) definitions
/// after this header are not redefinitions; `__arena` (when `arena`) only
/// for the header's own declarations (see [`ARENA_OURS`],
/// [`undefine_arena`]); then a blank line.
fn macros(out: &mut String, arena: bool) {
    let _ = write!(
        out,
        "#ifndef __ksym\n#define __ksym __attribute__((section(\"{KSYM_SECTION}\")))\n#endif\n\
         #ifndef __weak\n#define __weak __attribute__((weak))\n#endif\n"
    );
    if arena {
        let _ = write!(
            out,
            "#ifndef {ARENA_MACRO}\n#define {ARENA_OURS}\n#endif\n\
             #ifndef {ARENA_MACRO}\n#define {ARENA_MACRO} __attribute__(({TYPE_ATTR_ARENA}))\n#endif\n"
        );
    }
    out.push('\n');
}

/// `__arena` undefined again if [`macros`] defined it.
fn undefine_arena(out: &mut String) {
    let _ = write!(
        out,
        "#ifdef {ARENA_OURS}\n#undef {ARENA_MACRO}\n#undef {ARENA_OURS}\n#endif\n"
    );
}

/// How one `extern` declaration is written: what the two sources' headers
/// differ in, declaration by declaration. The declarator itself (`struct
/// task_struct *bpf_task_from_pid(s32 pid)`) goes between [`Extern::open`]
/// and [`Extern::close`], written by the source into the same text (the
/// BTF's emitter counts the header's length as it writes).
///
/// The attributes' order differs: `__ksym __weak` from a manifest,
/// `__weak __ksym` from BTF (as libbpf's selftests write it), as each was
/// first shipped; both mean the same to a compiler, and either order
/// chosen for both would change the other's every declaration line.
enum Extern<'a> {
    /// From a manifest: a comment saying where the kfunc is defined, and a
    /// guard (`KFUNC_SCAN_SKIP_<name>`) a program defines to leave it out.
    Guarded { name: &'a str, comment: &'a str },
    /// From BTF: one line.
    Bare,
}

impl Extern<'_> {
    fn open(&self, out: &mut String) {
        if let Extern::Guarded { name, comment } = self {
            let _ = writeln!(out, "/* {name}: {} */", comment_text(comment));
            let _ = writeln!(out, "#ifndef KFUNC_SCAN_SKIP_{name}");
        }
        out.push_str("extern ");
    }

    fn close(&self, out: &mut String) {
        match self {
            Extern::Guarded { .. } => out.push_str(" __ksym __weak;\n#endif\n\n"),
            Extern::Bare => out.push_str(" __weak __ksym;\n"),
        }
    }
}

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

    #[test]
    fn the_two_sources_declare_alike_but_for_comment_guard_and_attribute_order() {
        let decl = "int bpf_x(void)";
        let e = Extern::Guarded {
            name: "bpf_x",
            comment: "kernel/x.c:3 */ #define y",
        };
        let mut m = String::new();
        e.open(&mut m);
        m.push_str(decl);
        e.close(&mut m);
        assert_eq!(
            m,
            "/* bpf_x: kernel/x.c:3 *\\/ #define y */\n\
             #ifndef KFUNC_SCAN_SKIP_bpf_x\n\
             extern int bpf_x(void) __ksym __weak;\n#endif\n\n"
        );
        let mut b = String::new();
        Extern::Bare.open(&mut b);
        b.push_str(decl);
        Extern::Bare.close(&mut b);
        assert_eq!(b, "extern int bpf_x(void) __weak __ksym;\n");
    }

    #[test]
    fn the_macros_are_libbpf_s_and_arena_is_undefined_again() {
        let base = "#ifndef __ksym\n#define __ksym __attribute__((section(\".ksyms\")))\n#endif\n\
                    #ifndef __weak\n#define __weak __attribute__((weak))\n#endif\n";
        let mut out = String::new();
        macros(&mut out, false);
        assert_eq!(out, format!("{base}\n"));
        out.clear();
        macros(&mut out, true);
        assert_eq!(
            out,
            format!(
                "{base}#ifndef __arena\n#define __KFUNC_SCAN_ARENA_DEFINED\n#endif\n\
                 #ifndef __arena\n#define __arena __attribute__((address_space(1)))\n#endif\n\n"
            )
        );
        out.clear();
        undefine_arena(&mut out);
        assert_eq!(
            out,
            "#ifdef __KFUNC_SCAN_ARENA_DEFINED\n#undef __arena\n#undef __KFUNC_SCAN_ARENA_DEFINED\n#endif\n"
        );
        out.clear();
        open(&mut out, "/* b */\n", "G");
        close(&mut out, "G");
        assert_eq!(out, "/* b */\n#ifndef G\n#define G\n\n#endif /* G */\n");
    }
}
