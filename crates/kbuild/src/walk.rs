//! Following Kbuild from the top of the tree.
//!
//! The top `Makefile` is read as the final `make` (no goals, in-tree,
//! `ARCH=<arch>`) reads it, with the arch `Makefile` it includes; its
//! `build-dir` (`.` since 6.1: the top `Kbuild` lists `obj-y += init/ …
//! $(ARCH_CORE) …`) or older `build-dirs` are the directories it descends
//! into with `need-builtin=1 need-modorder=1`. Each directory is then read as
//! `scripts/Makefile.build` reads it (`Kbuild` if present, else `Makefile`,
//! after `scripts/Kbuild.include` and `scripts/Makefile.compiler`), and what
//! is linked where follows `scripts/Makefile.lib` and `Makefile.build`:
//!
//! - `obj-m := $(filter-out $(obj-y),$(obj-m))`: built in wins.
//! - `foo.o` is composite when any of `foo-objs`, `foo-y`, `foo-` (and for
//!   `obj-m`, `foo-m`) is non-empty; its parts are `foo-objs foo-y`
//!   (`obj-y`) or `foo-objs foo-y foo-m` (`obj-m`).
//! - a directory's `obj-y` objects go into its `built-in.a` only when it
//!   was entered with `need-builtin` (listed in an `obj-y` of a directory
//!   that had it), and its `obj-m` modules are built only with
//!   `need-modorder` (listed in `obj-y` or `obj-m` of a directory that had
//!   it). A directory reached only through `obj-m` thus builds no `obj-y`
//!   objects (Kbuild does not link them anywhere); one reached through
//!   `subdir-y` builds neither.
//! - `lib-y` objects go into `lib.a`, linked into vmlinux when the directory
//!   is in the top's `libs-y` (as `dir/` or `dir/lib.a`).
//!
//! `always-y`, `extra-y`, `hostprogs`, `userprogs` and `targets` are not
//! kernel objects and are not followed.
use super::cond::{self, CondError, Linkage};
use super::config::Config;
use super::makefile::{
    join, normalize, Ctx, Env, Flavor, Interp, MaybeTaint, Origin, Taint, Tri, Var, Vars,
};
use super::{Diagnostic, Fate};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Which object each source file of a tree is built into, for one
/// configuration and architecture.
#[derive(Clone, Debug)]
pub struct BuildView {
    pub(super) root: PathBuf,
    pub(super) config: Config,
    /// `dir/foo.o` → its fate (absent: not built). Hashed: sorting 15,000
    /// paths costs more than the whole walk's lookups; [`BuildView::objects`]
    /// sorts on demand.
    pub(super) objects: FxHashMap<String, Fate>,
    /// Module path without `.ko` (`net/ipv4/fou`) → `None` when certainly
    /// built, the reason otherwise.
    modules: BTreeMap<String, Option<String>>,
    /// Directories visited → why their lists are incomplete, if they are.
    dirs: BTreeMap<String, Option<String>>,
    makefiles_read: usize,
    pub(super) looked_at: crate::ReadLog,
}

/// Where one directory's makefile put an object.
struct Placement {
    object: String,
    /// `None`: vmlinux; `Some(path)`: the module `path.ko`.
    module: Option<String>,
    taint: MaybeTaint,
}

/// What one directory yields.
#[derive(Default)]
struct DirOut {
    placements: Vec<Placement>,
    children: Vec<(String, Tri, Tri)>,
    modules: Vec<(String, MaybeTaint)>,
    incomplete: Option<Rc<Taint>>,
    /// Taints that reached an object list: each becomes a diagnostic.
    used: Vec<Rc<Taint>>,
}

impl BuildView {
    /// Reads the tree's Kbuild makefiles for `config` and `arch` (as
    /// `make ARCH=<arch>` would: `x86_64` selects `arch/x86`). Problems
    /// are diagnostics; files the makefiles do not decide are `Unknown`.
    pub fn load(root: &Path, config: &Config, arch: &str) -> (BuildView, Vec<Diagnostic>) {
        let ctx = Ctx::new(root, config);
        let (top, mut diags) = read_top(&ctx, arch);
        let libs = lib_dirs(&ctx, &top);
        let roots = build_dirs(&ctx, &top);
        if roots.is_empty() {
            diags.push(Diagnostic::error(
                "Makefile",
                0,
                0,
                "kbuild-no-build-dirs",
                "the top Makefile names no directories to build (neither `build-dir` nor `build-dirs`)",
            ));
        }
        let base = dir_base(&ctx, &top, &mut diags);
        let mut w = Walk {
            ctx: &ctx,
            base,
            libs,
            out: BTreeMap::new(),
            diags,
        };
        w.run(roots);
        w.unknown_diags();
        let view = w.finish(root, config);
        let mut diags = w.diags;
        diags.sort();
        diags.dedup();
        (view, diags)
    }

    /// The fate of a tree-relative source file (`.c`, `.S` or `.rs`): the
    /// object built from it; or, for a `.c` that is not an object itself but
    /// is `#include`d by one in its directory (as `kernel/sched/ext.c` by
    /// `build_policy.c`), that object's, when the `#include`'s conditions
    /// hold.
    pub fn object_of(&self, rel_path: &str) -> Fate {
        let Some(rel) = normalize(rel_path) else {
            return Fate::NotBuilt;
        };
        let stem = rel
            .strip_suffix(".c")
            .or_else(|| rel.strip_suffix(".S"))
            .or_else(|| rel.strip_suffix(".rs"))
            .unwrap_or(&rel);
        if let Some(f) = self.objects.get(&format!("{stem}.o")) {
            return f.clone();
        }
        if let Some(f) = self.included_fate(&rel) {
            return f;
        }
        // Not listed: not built, unless the nearest directory read has lists
        // it could not evaluate.
        let mut dir = rel.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            dir = parent;
            if let Some(inc) = self.dirs.get(dir) {
                return inc
                    .as_ref()
                    .map_or(Fate::NotBuilt, |r| Fate::Unknown(r.clone()));
            }
        }
        match self.dirs.get("") {
            Some(Some(r)) => Fate::Unknown(r.clone()),
            _ => Fate::NotBuilt,
        }
    }

    /// Evaluates a preprocessor condition against the configuration, in a
    /// file linked as `linkage` (see [`Fate::linkage`]).
    pub fn eval(&self, condition: &str, linkage: Linkage) -> Result<bool, CondError> {
        cond::eval(condition, &self.config, linkage)
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Modules built, as tree-relative paths without `.ko`
    /// (`net/ipv4/fou`), with `Some(reason)` when not certain.
    pub fn modules(&self) -> &BTreeMap<String, Option<String>> {
        &self.modules
    }

    /// Every object listed, with its fate.
    pub fn objects(&self) -> BTreeMap<&str, &Fate> {
        self.objects.iter().map(|(k, v)| (k.as_str(), v)).collect()
    }

    /// Directories whose makefile was read.
    pub fn dirs(&self) -> impl Iterator<Item = &str> {
        self.dirs.keys().map(String::as_str)
    }

    /// How many makefiles the walk read.
    pub fn makefiles_read(&self) -> usize {
        self.makefiles_read
    }

    /// The paths it looked at, while loading and since.
    pub fn looked_at(&self) -> &crate::ReadLog {
        &self.looked_at
    }
}

/// Reads the top `Makefile` as the final, in-tree `make` invocation reads
/// it: what the first invocation exports (`sub_make_done`, `abs_srctree`,
/// `abs_objtree`), `--no-print-directory` in `MAKEFLAGS`, no goals.
fn read_top(ctx: &Ctx, arch: &str) -> (Env, Vec<Diagnostic>) {
    let mut env = Env::default();
    let abs = ctx.root_abs.as_str();
    env.set("ARCH", Var::simple(arch, Origin::CommandLine));
    for (k, v) in [
        ("sub_make_done", "1"),
        ("abs_srctree", abs),
        ("abs_objtree", abs),
    ] {
        env.set(k, Var::simple(v, Origin::Environment));
    }
    env.set(
        "MAKEFLAGS",
        Var::simple("rR --no-print-directory", Origin::Environment),
    );
    for (k, v) in make_builtins(abs) {
        env.set(k, Var::simple(v, Origin::File));
    }
    let mut i = Interp::new(ctx, env);
    if !i.include_file("Makefile") {
        i.diags.push(Diagnostic::error(
            "Makefile",
            0,
            0,
            "kbuild-read",
            "the tree has no top Makefile",
        ));
    }
    (i.env, i.diags)
}

/// Variables Make itself defines.
fn make_builtins(curdir: &str) -> [(&'static str, &str); 5] {
    [
        ("CURDIR", curdir),
        ("MAKECMDGOALS", ""),
        ("MAKE", "make"),
        ("SHELL", "/bin/sh"),
        (".FEATURES", "target-specific order-only second-expansion else-if shortest-stem undefine oneshell nocomment grouped-target extra-prereqs notintermediate shell-export output-sync archives jobserver check-symlink load"),
    ]
}

/// Expanded words of a top-level variable.
fn env_words(ctx: &Ctx, env: &Env, name: &str) -> Vec<String> {
    let mut i = Interp::new(ctx, env.clone());
    i.var_value(name)
        .text
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// The directories the top Makefile descends into for vmlinux and modules:
/// `build-dir` (6.1 and later: `.`) or `build-dirs` (older kernels).
fn build_dirs(ctx: &Ctx, top: &Env) -> Vec<String> {
    let mut dirs = env_words(ctx, top, "build-dirs");
    if dirs.is_empty() {
        dirs = env_words(ctx, top, "build-dir");
    }
    let mut out: Vec<String> = dirs.iter().filter_map(|d| ctx.tree_rel(d)).collect();
    out.dedup();
    out
}

/// Directories whose `lib.a` is linked into vmlinux: `libs-y` as `dir/` or
/// `dir/lib.a` (the EFI stub's, named with `$(objtree)/`).
fn lib_dirs(ctx: &Ctx, top: &Env) -> BTreeSet<String> {
    env_words(ctx, top, "libs-y")
        .iter()
        .filter_map(|w| {
            w.strip_suffix("lib.a")
                .or_else(|| w.ends_with('/').then_some(w.as_str()))
        })
        .filter_map(|d| ctx.tree_rel(d))
        .collect()
}

fn dir_base(ctx: &Ctx, top: &Env, diags: &mut Vec<Diagnostic>) -> Rc<Vars> {
    let mut env = Env {
        local: Vars::default(),
        parent: Some(Rc::new(top.exported())),
        export_all: false,
    };
    env.set("CURDIR", Var::simple(&ctx.root_abs, Origin::File));
    let mut i = Interp::new(ctx, env);
    // What scripts/Makefile.build includes before the directory's makefile.
    for f in ["scripts/Kbuild.include", "scripts/Makefile.compiler"] {
        i.include_file(f);
    }
    diags.append(&mut i.diags);
    let mut all: Vars = i.env.parent.as_deref().cloned().unwrap_or_default();
    all.extend(i.env.local);
    Rc::new(all)
}

struct Walk<'c, 'a> {
    ctx: &'c Ctx<'a>,
    base: Rc<Vars>,
    libs: BTreeSet<String>,
    out: BTreeMap<String, DirOut>,
    diags: Vec<Diagnostic>,
}

impl Walk<'_, '_> {
    fn run(&mut self, roots: Vec<String>) {
        let mut reqs: BTreeMap<String, (Tri, Tri)> = BTreeMap::new();
        let mut done: BTreeMap<String, (u8, u8)> = BTreeMap::new();
        let mut queue: VecDeque<String> = VecDeque::new();
        for r in roots {
            reqs.insert(r.clone(), (Tri::T, Tri::T));
            queue.push_back(r);
        }
        while let Some(dir) = queue.pop_front() {
            let Some((b, m)) = reqs.get(&dir).cloned() else {
                continue;
            };
            let rank = (b.rank(), m.rank());
            if done.get(&dir) == Some(&rank) {
                continue;
            }
            done.insert(dir.clone(), rank);
            let out = self.visit(&dir, &b, &m);
            for (child, cb, cm) in &out.children {
                // Nothing is linked from a directory entered with neither
                // flag (unless it makes a lib.a for vmlinux).
                if cb.rank() == 0 && cm.rank() == 0 && !self.libs.contains(child) {
                    continue;
                }
                let e = reqs.entry(child.clone()).or_insert((Tri::F, Tri::F));
                let mut changed = false;
                if cb.rank() > e.0.rank() {
                    e.0 = cb.clone();
                    changed = true;
                }
                if cm.rank() > e.1.rank() {
                    e.1 = cm.clone();
                    changed = true;
                }
                if changed || !done.contains_key(child) {
                    queue.push_back(child.clone());
                }
            }
            self.out.insert(dir, out);
        }
    }

    /// Reads one directory's makefile as `scripts/Makefile.build` does and
    /// applies `scripts/Makefile.lib`'s rules to its lists.
    fn visit(&mut self, dir: &str, b: &Tri, m: &Tri) -> DirOut {
        let mut out = DirOut::default();
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        // Reading is the existence test (no separate stat).
        let file = [format!("{prefix}Kbuild"), format!("{prefix}Makefile")]
            .into_iter()
            .find(|f| self.ctx.lines(f).is_some());
        let Some(file) = file else {
            let shown = if dir.is_empty() { "." } else { dir };
            let msg =
                format!("directory {shown}/ is listed for the build but has no Kbuild or Makefile");
            let t = Rc::new(Taint {
                file: Rc::from(shown),
                line: 0,
                reason: msg.clone(),
                partial: true,
            });
            self.diags.push(Diagnostic::error(
                shown,
                0,
                0,
                "kbuild-missing-makefile",
                msg,
            ));
            out.incomplete = Some(t);
            return out;
        };
        let mut i = Interp::new(self.ctx, self.dir_env(dir, &file, b, m));
        i.include_file(&file);
        self.diags.append(&mut i.diags);
        // Recursive variables (`foo-y`) expand from here on: name the file.
        i.file = Rc::from(file.as_str());
        let mut l = Lists {
            i,
            out,
            dir: dir.to_string(),
        };
        l.apply(b, m, self.libs.contains(dir));
        l.out
    }

    /// The variables a directory's makefile starts with: the top's exports,
    /// `scripts/Kbuild.include`'s, the command line `$(build)=dir` gives
    /// (`obj`, `need-builtin`, `need-modorder`), and Makefile.build's resets.
    fn dir_env(&self, dir: &str, file: &str, b: &Tri, m: &Tri) -> Env {
        let mut env = Env {
            local: Vars::default(),
            parent: Some(self.base.clone()),
            export_all: false,
        };
        let obj = if dir.is_empty() { "." } else { dir };
        let flag = |t: &Tri| if t.rank() > 0 { "1" } else { "" };
        for (k, v) in [
            ("obj", obj),
            ("src", obj),
            ("need-builtin", flag(b)),
            ("need-modorder", flag(m)),
        ] {
            env.set(k, Var::simple(v, Origin::CommandLine));
        }
        for k in [
            "obj-y", "obj-m", "lib-y", "lib-m", "always-y", "always-m", "targets", "subdir-y",
            "subdir-m", "extra-y",
        ] {
            env.set(
                k,
                Var {
                    flavor: Flavor::Simple,
                    segs: Vec::new(),
                    export: false,
                    origin: Origin::File,
                },
            );
        }
        env.set("kbuild-file", Var::simple(file, Origin::File));
        env.set(
            "MAKEFILE_LIST",
            Var::simple("scripts/Makefile.build", Origin::File),
        );
        env
    }

    fn finish(&self, root: &Path, config: &Config) -> BuildView {
        // Hashed while merging, sorted once at the end.
        let mut fates: FxHashMap<&str, Fate> = FxHashMap::default();
        let mut modules: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut dirs = BTreeMap::new();
        for (dir, out) in &self.out {
            for p in &out.placements {
                merge(fates.entry(p.object.as_str()).or_insert(Fate::NotBuilt), p);
            }
            for (path, t) in &out.modules {
                let e = modules
                    .entry(path.clone())
                    .or_insert_with(|| t.as_ref().map(|t| describe(t)));
                if t.is_none() {
                    *e = None;
                }
            }
            dirs.insert(dir.clone(), out.incomplete.as_ref().map(|t| describe(t)));
        }
        BuildView {
            root: root.to_path_buf(),
            config: config.clone(),
            objects: fates.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            modules,
            dirs,
            makefiles_read: *self.ctx.files_read.borrow(),
            looked_at: self.ctx.looked_at.clone(),
        }
    }

    /// One warning per unknown that reached an object list.
    fn unknown_diags(&mut self) {
        let mut seen = BTreeSet::new();
        let used: Vec<Rc<Taint>> = self
            .out
            .values()
            .flat_map(|o| o.used.iter().cloned())
            .collect();
        for t in used {
            if seen.insert((t.file.clone(), t.line, t.reason.clone())) {
                let msg = format!("{}; the objects it governs are unknown", t.reason);
                self.diags.push(Diagnostic::warning(
                    &t.file,
                    t.line,
                    1,
                    "kbuild-unknown",
                    msg,
                ));
            }
        }
    }
}

fn describe(t: &Taint) -> String {
    format!("{}:{}: {}", t.file, t.line, t.reason)
}

/// Adds one listing to an object's fate: a certain vmlinux listing wins,
/// then certain modules (several are joined by `:`, sorted); uncertain
/// listings alone make it unknown.
fn merge(f: &mut Fate, p: &Placement) {
    let name = p
        .module
        .as_deref()
        .map(|m| m.rsplit('/').next().unwrap_or(m));
    match (&p.taint, name, &*f) {
        (_, _, Fate::Vmlinux) => {}
        (None, None, _) => *f = Fate::Vmlinux,
        (None, Some(n), Fate::Module(old)) => {
            let mut all: BTreeSet<&str> = old.split(':').collect();
            all.insert(n);
            *f = Fate::Module(all.into_iter().collect::<Vec<_>>().join(":"));
        }
        (None, Some(n), _) => *f = Fate::Module(n.to_string()),
        (Some(t), _, Fate::NotBuilt) => *f = Fate::Unknown(describe(t)),
        (Some(_), _, _) => {}
    }
}

/// A directory's lists after its makefile was read.
struct Lists<'c, 'a> {
    i: Interp<'c, 'a>,
    out: DirOut,
    dir: String,
}

impl Lists<'_, '_> {
    /// A list variable's words, each with its taint; a taint that may hide
    /// words marks the directory incomplete.
    fn words(&mut self, name: &str) -> Vec<(String, MaybeTaint)> {
        let Some(var) = self.i.env.get(name) else {
            return Vec::new();
        };
        let recursive = var.flavor == Flavor::Recursive;
        let segs: Vec<(String, MaybeTaint)> = var
            .segs
            .iter()
            .map(|s| (s.text.clone(), s.taint.clone()))
            .collect();
        let mut out = Vec::new();
        for (text, seg_taint) in segs {
            let (text, t) = if recursive {
                let e = self.i.expand(&text);
                (e.text, join(&seg_taint, &e.taint))
            } else {
                (text, seg_taint)
            };
            if let Some(t) = t.as_ref().filter(|t| t.partial) {
                self.out.incomplete.get_or_insert_with(|| t.clone());
                self.out.used.push(t.clone());
            }
            out.extend(text.split_whitespace().map(|w| (w.to_string(), t.clone())));
        }
        out
    }

    fn path(&self, w: &str) -> Option<String> {
        // The common case, a plain relative word, needs no normalising: no
        // leading `/`, no `.` or `..` component, no `//`.
        let b = w.as_bytes();
        let plain = !w.starts_with('/')
            && !b.windows(2).any(|p| p == b"//")
            && w.split('/').all(|c| c != "." && c != "..");
        match (plain, self.dir.is_empty()) {
            (true, true) => Some(w.trim_end_matches('/').to_string()),
            (true, false) => {
                let w = w.trim_end_matches('/');
                let mut p = String::with_capacity(self.dir.len() + 1 + w.len());
                p.push_str(&self.dir);
                p.push('/');
                p.push_str(w);
                Some(p)
            }
            _ => normalize(&format!("{}/{w}", self.dir)),
        }
    }

    fn note(&mut self, t: &MaybeTaint) {
        if let Some(t) = t {
            self.out.used.push(t.clone());
        }
    }

    fn apply(&mut self, b: &Tri, m: &Tri, is_lib: bool) {
        let obj_y = self.words("obj-y");
        let certain_y: FxHashSet<&str> = obj_y
            .iter()
            .filter(|(_, t)| t.is_none())
            .map(|(w, _)| w.as_str())
            .collect();
        let maybe_y: FxHashMap<&str, &MaybeTaint> =
            obj_y.iter().map(|(w, t)| (w.as_str(), t)).collect();
        // obj-m := $(filter-out $(obj-y),$(obj-m))
        let obj_m: Vec<(String, MaybeTaint)> = self
            .words("obj-m")
            .into_iter()
            .filter(|(w, _)| !certain_y.contains(w.as_str()))
            .map(|(w, t)| {
                let t = join(&t, maybe_y.get(w.as_str()).copied().unwrap_or(&None));
                (w, t)
            })
            .collect();
        for (w, t) in &obj_y {
            self.listed(w, t, b, m, false);
        }
        for (w, t) in &obj_m {
            self.listed(w, t, &Tri::F, m, true);
        }
        let mut lib = self.words("lib-y");
        lib.extend(self.words("lib-m"));
        for (w, t) in lib.iter().filter(|(w, _)| !certain_y.contains(w.as_str())) {
            if is_lib && w.ends_with(".o") {
                if let Some(object) = self.path(w) {
                    self.note(t);
                    self.out.placements.push(Placement {
                        object,
                        module: None,
                        taint: t.clone(),
                    });
                }
            }
        }
        let mut sub = self.words("subdir-y");
        sub.extend(self.words("subdir-m"));
        for (w, _) in sub {
            if let Some(p) = self.path(&w) {
                self.out.children.push((p, Tri::F, Tri::F));
            }
        }
    }

    /// One word of `obj-y` (`module` false) or `obj-m`: a directory to enter
    /// or an object to place.
    fn listed(&mut self, w: &str, t: &MaybeTaint, b: &Tri, m: &Tri, module: bool) {
        let word = Tri::of(true, t);
        if w.ends_with('/') {
            if let Some(p) = self.path(w) {
                self.note(t);
                self.out.children.push((p, b.and(&word), m.and(&word)));
            }
            return;
        }
        let linked = if module { m } else { b };
        let Some(stem) = w.strip_suffix(".o") else {
            return;
        };
        if linked.rank() == 0 {
            return;
        }
        let via = match linked {
            Tri::U(t) => Some(t.clone()),
            _ => None,
        };
        let module_path = if module { self.path(stem) } else { None };
        if let Some(mp) = &module_path {
            self.out.modules.push((mp.clone(), join(t, &via)));
        }
        self.note(t);
        for (part, pt) in self.parts(stem, module) {
            self.note(&pt);
            if let Some(object) = self.path(&part) {
                let taint = join(&join(t, &pt), &via);
                self.out.placements.push(Placement {
                    object,
                    module: module_path.clone(),
                    taint,
                });
            }
        }
    }

    /// The objects `stem.o` is made of: itself, or a composite's parts.
    fn parts(&mut self, stem: &str, module: bool) -> Vec<(String, MaybeTaint)> {
        let detect: &[&str] = if module {
            &["-objs", "-y", "-m", "-"]
        } else {
            &["-objs", "-y", "-"]
        };
        let mut name = String::with_capacity(stem.len() + 5);
        let composite = detect.iter().any(|s| {
            name.clear();
            name.push_str(stem);
            name.push_str(s);
            // Most objects are not composite: look before expanding.
            self.i.env.get(&name).is_some_and(|v| !v.segs.is_empty())
                && !self.words(&name).is_empty()
        });
        if !composite {
            let mut w = String::with_capacity(stem.len() + 2);
            w.push_str(stem);
            w.push_str(".o");
            return vec![(w, None)];
        }
        let from: &[&str] = if module {
            &["-objs", "-y", "-m"]
        } else {
            &["-objs", "-y"]
        };
        from.iter()
            .flat_map(|s| self.words(&format!("{stem}{s}")))
            .collect()
    }
}
