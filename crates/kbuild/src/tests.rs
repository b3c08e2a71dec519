//! The walk on small hand-written trees; every expected fate is worked out
//! from the makefile lines beside it.
use super::{BuildView, Config, Diagnostic, Fate, Linkage};
use std::path::Path;

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

const TOP: &str = "\
srctree := .
ifeq ($(ARCH),x86_64)
  SRCARCH := x86
endif
ifeq ($(KBUILD_EXTMOD),)
build-dir := .
core-y :=
libs-y := lib/
endif
include $(srctree)/arch/$(SRCARCH)/Makefile
export ARCH_CORE := $(core-y)
export ARCH_LIB := $(filter %/, $(libs-y))
all: vmlinux
\t@echo obj-y += recipe_not_read.o
";

const ARCH: &str = "\
ifeq ($(CONFIG_X86_32),y)
BITS := 32
else
BITS := 64
endif
export BITS
core-y += arch/x86/
libs-y += arch/x86/lib/
";

const CONFIG: &str =
    "CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_N=5\nCONFIG_NET=y\nCONFIG_FOO=m\n";

fn load(files: &[(&str, &str)]) -> (tempfile::TempDir, BuildView, Vec<Diagnostic>) {
    let mut all = vec![("Makefile", TOP), ("arch/x86/Makefile", ARCH)];
    all.extend_from_slice(files);
    let t = tree(&all);
    let cfg = Config::parse(".config", CONFIG).0;
    let (v, d) = BuildView::load(t.path(), &cfg, "x86_64");
    (t, v, d)
}

fn module(m: &str) -> Fate {
    Fate::Module(m.into())
}

#[test]
fn objects_directories_and_conditionals() {
    let kernel = "\
obj-y := core.o \\
         sched.o
obj-$(CONFIG_A) += a.o
obj-$(CONFIG_B) += b.o
obj-$(CONFIG_C) += c.o
obj-$(CONFIG_B) += core.o
ifdef CONFIG_A
obj-y += ifdef_a.o
else
obj-y += else_a.o
endif
ifndef CONFIG_C
  obj-y += ifndef_c.o
endif
ifeq ($(CONFIG_B),m)
obj-y += eq_b.o
endif
ifneq ($(CONFIG_N),5)
obj-y += ne_n.o
else ifeq ($(BITS),64)
obj-y += bits64.o
else
obj-y += bits_else.o
endif
LIST = one.o
LIST += two.o # a comment
obj-y += $(LIST)
SIMPLE := $(LATER)
LATER = late.o
obj-y += $(SIMPLE)
RECUR = $(LATER2)
LATER2 = late2.o
obj-y += $(RECUR)
$(obj)/core.o: $(obj)/gen.h
\tobj-y += in_recipe.o
";
    let (_t, v, d) = load(&[
        (
            "Kbuild",
            "obj-y += $(ARCH_CORE)\nobj-y += kernel/\nobj-y += $(ARCH_LIB)\n",
        ),
        ("arch/x86/Kbuild", "obj-y += kernel/\n"),
        ("arch/x86/kernel/Makefile", "obj-y += setup.o\n"),
        (
            "arch/x86/lib/Makefile",
            "lib-y += delay.o\nobj-y += msr.o\n",
        ),
        ("lib/Makefile", "lib-y := string.o\nobj-y += sort.o\n"),
        ("kernel/Makefile", kernel),
    ]);
    assert!(d.is_empty(), "{d:?}");
    let cases: &[(&str, Fate)] = &[
        ("kernel/core.c", Fate::Vmlinux),  // obj-y and obj-m: built in wins
        ("kernel/sched.c", Fate::Vmlinux), // after a continuation
        ("kernel/a.c", Fate::Vmlinux),
        ("kernel/b.c", module("b")),
        ("kernel/c.c", Fate::NotBuilt),
        ("kernel/ifdef_a.c", Fate::Vmlinux),
        ("kernel/else_a.c", Fate::NotBuilt),
        ("kernel/ifndef_c.c", Fate::Vmlinux),
        ("kernel/eq_b.c", Fate::Vmlinux),
        ("kernel/ne_n.c", Fate::NotBuilt),
        ("kernel/bits64.c", Fate::Vmlinux), // BITS exported by the arch Makefile
        ("kernel/bits_else.c", Fate::NotBuilt),
        ("kernel/one.c", Fate::Vmlinux),
        ("kernel/two.c", Fate::Vmlinux),
        ("kernel/late.c", Fate::NotBuilt), // := expanded before LATER was set
        ("kernel/late2.c", Fate::Vmlinux), // = expands when used
        ("kernel/in_recipe.c", Fate::NotBuilt),
        ("arch/x86/kernel/setup.c", Fate::Vmlinux),
        ("arch/x86/lib/delay.c", Fate::Vmlinux), // lib-y of a libs-y directory
        ("arch/x86/lib/msr.c", Fate::Vmlinux),
        ("lib/string.c", Fate::Vmlinux),
        ("lib/sort.c", Fate::Vmlinux),
        ("recipe_not_read.c", Fate::NotBuilt),
        ("tools/x.c", Fate::NotBuilt),
    ];
    for (f, want) in cases {
        assert_eq!(&v.object_of(f), want, "{f}");
    }
    assert_eq!(v.object_of("kernel/b.S"), module("b"));
    assert_eq!(v.modules().keys().collect::<Vec<_>>(), ["kernel/b"]);
}

#[test]
fn composites_and_module_directories() {
    let net = "\
obj-$(CONFIG_FOO) += foo.o
foo-y := foo_main.o
foo-$(CONFIG_A) += foo_a.o
foo-$(CONFIG_C) += foo_c.o
foo-objs += foo_objs.o
foo-m += foo_m.o
obj-y += bar.o
bar-y := bar1.o
bar-m := bar_m.o
obj-y += baz.o
baz- := unused.o
obj-y += sub/
obj-m += msub/
subdir-y += hostonly
";
    let (_t, v, d) = load(&[
        (
            "Kbuild",
            "obj-$(CONFIG_NET) += net/\nobj-m += modonly/\nsubdir-y += hostonly/\n",
        ),
        ("net/Makefile", net),
        ("net/sub/Makefile", "obj-y += s.o\nobj-m += sm.o\n"),
        (
            "net/msub/Makefile",
            "obj-y += my.o\nobj-m += mm.o\nmm-objs := mm1.o mm2.o\n",
        ),
        ("modonly/Makefile", "obj-y += x.o\nobj-m += mo.o\n"),
        ("hostonly/Makefile", "obj-y += h.o\n"),
        ("net/hostonly/Makefile", "obj-y += h.o\n"),
    ]);
    assert!(d.is_empty(), "{d:?}");
    let cases: &[(&str, Fate)] = &[
        ("net/foo.c", Fate::NotBuilt), // composite: foo.o is made of its parts
        ("net/foo_main.c", module("foo")),
        ("net/foo_a.c", module("foo")),
        ("net/foo_c.c", Fate::NotBuilt),
        ("net/foo_objs.c", module("foo")),
        ("net/foo_m.c", module("foo")), // foo-m counts for a module
        ("net/bar1.c", Fate::Vmlinux),
        ("net/bar_m.c", Fate::NotBuilt), // …but not for built-in
        ("net/baz.c", Fate::NotBuilt),   // `baz-` makes baz.o composite, with no parts
        ("net/unused.c", Fate::NotBuilt),
        ("net/sub/s.c", Fate::Vmlinux),
        ("net/sub/sm.c", module("sm")),
        // entered through obj-m: only modules are built there
        ("net/msub/my.c", Fate::NotBuilt),
        ("net/msub/mm1.c", module("mm")),
        ("net/msub/mm2.c", module("mm")),
        ("modonly/x.c", Fate::NotBuilt),
        ("modonly/mo.c", module("mo")),
        ("hostonly/h.c", Fate::NotBuilt), // subdir-y: visited for host programs, nothing linked
        ("net/hostonly/h.c", Fate::NotBuilt),
    ];
    for (f, want) in cases {
        assert_eq!(&v.object_of(f), want, "{f}");
    }
    let mods: Vec<&String> = v.modules().keys().collect();
    assert_eq!(mods, ["modonly/mo", "net/foo", "net/msub/mm", "net/sub/sm"]);
}

#[test]
fn unknowns_are_named_never_guessed() {
    let unknown = "\
ifeq ($(shell echo y),y)
obj-y += maybe.o
endif
obj-y += sure.o
obj-$(shell echo y) += by_name.o
CFLAGS_sure.o += $(shell echo -O2)
";
    let partial = "obj-y += known.o\nobj-y += $(shell ls)\n";
    let (_t, v, d) = load(&[
        ("Kbuild", "obj-y += unknown/ partial/ missing/\n"),
        ("unknown/Makefile", unknown),
        ("partial/Makefile", partial),
    ]);
    assert_eq!(v.object_of("unknown/sure.c"), Fate::Vmlinux);
    for f in [
        "unknown/maybe.c",
        "unknown/by_name.c",
        "partial/other.c",
        "partial/deeper/x.c",
    ] {
        match v.object_of(f) {
            Fate::Unknown(r) => assert!(r.contains("shell"), "{f}: {r}"),
            other => panic!("{f}: {other:?}"),
        }
    }
    // a file the complete directory does not list is not built
    assert_eq!(v.object_of("unknown/unlisted.c"), Fate::NotBuilt);
    assert_eq!(v.object_of("partial/known.c"), Fate::Vmlinux);
    let got: Vec<(&str, u32, &str)> = d
        .iter()
        .map(|d| (d.file.as_str(), d.line, d.code.as_str()))
        .collect();
    // CFLAGS' shell is irrelevant to objects: no diagnostic for it
    assert_eq!(
        got,
        [
            ("missing", 0, "kbuild-missing-makefile"),
            ("partial/Makefile", 2, "kbuild-unknown"),
            ("unknown/Makefile", 1, "kbuild-unknown"),
            ("unknown/Makefile", 5, "kbuild-unknown"),
        ]
    );
}

#[test]
fn included_c_files_follow_their_includer() {
    let sched = "#include \"sched.h\"\n#include \"always.c\"\n#ifdef CONFIG_A\n# include \"ext.c\"\n#endif\n#if IS_ENABLED(CONFIG_C)\n#include \"off.c\"\n#endif\n#if BITS_PER_LONG == 64\n#include \"odd.c\"\n#endif\n";
    let (t, v, _) = load(&[
        ("Kbuild", "obj-y += kernel/\n"),
        ("kernel/Makefile", "obj-y += build_policy.o\n"),
        ("kernel/build_policy.c", sched),
    ]);
    assert_eq!(v.object_of("kernel/always.c"), Fate::Vmlinux);
    assert_eq!(v.object_of("kernel/ext.c"), Fate::Vmlinux);
    assert_eq!(v.object_of("kernel/off.c"), Fate::NotBuilt);
    assert!(matches!(v.object_of("kernel/odd.c"), Fate::Unknown(r) if r.contains("BITS_PER_LONG")));
    assert_eq!(v.object_of("kernel/nobody.c"), Fate::NotBuilt);
    assert!(Path::new(t.path()).exists());
}

#[test]
fn eval_uses_the_config() {
    let (_t, v, _) = load(&[("Kbuild", "")]);
    assert_eq!(
        v.eval(
            "IS_ENABLED(CONFIG_B) && defined(CONFIG_A)",
            Linkage::Vmlinux
        ),
        Ok(true)
    );
    assert_eq!(
        v.eval("IS_REACHABLE(CONFIG_B)", module("x").linkage()),
        Ok(true)
    );
    assert_eq!(
        v.eval("IS_REACHABLE(CONFIG_B)", Fate::Vmlinux.linkage()),
        Ok(false)
    );
    assert_eq!(v.config().len(), 5);
}

#[test]
fn no_top_makefile_is_a_diagnostic_not_a_panic() {
    let t = tree(&[("README", "x")]);
    let cfg = Config::parse(".config", "").0;
    let (v, d) = BuildView::load(t.path(), &cfg, "x86_64");
    assert!(d.iter().any(|d| d.code == "kbuild-read"), "{d:?}");
    assert_eq!(v.object_of("kernel/a.c"), Fate::NotBuilt);
}

#[test]
fn syntax_problems_are_diagnostics() {
    let bad = "ifeq ($(CONFIG_A),y)\nobj-y += a.o\nelse\nelse junk\nendif\nendif\nifdef CONFIG_A\nobj-y += open.o\n";
    let (_t, v, d) = load(&[("Kbuild", "obj-y += bad/\n"), ("bad/Makefile", bad)]);
    let got: Vec<(u32, &str)> = d.iter().map(|d| (d.line, d.code.as_str())).collect();
    assert_eq!(
        got,
        [
            (4, "kbuild-syntax"),
            (6, "kbuild-syntax"),
            (7, "kbuild-syntax")
        ]
    );
    assert_eq!(v.object_of("bad/a.c"), Fate::Vmlinux);
    assert_eq!(v.object_of("bad/open.c"), Fate::Vmlinux);
}
