//! A GNU Make interpreter for what Kbuild makefiles do when they are read:
//! variable assignments (`=`, `:=`, `::=`, `+=`, `?=`, `!=`, `define`),
//! conditionals (`ifeq`, `ifneq`, `ifdef`, `ifndef`, `else if…`, `endif`),
//! `include`, `export`, `override`, `\` continuations and comments. Rules
//! and recipes are skipped: nothing is built.
//!
//! What it cannot evaluate (`$(shell …)`, a condition on one) it does not
//! guess: the value carries a [`Taint`] naming where and why. An unknown
//! `ifeq` runs both branches, their assignments tainted, so a list such as
//! `obj-y` holds every word it might hold, each marked certain or not. The
//! caller decides whether a taint matters (an unknown `KBUILD_CFLAGS` does
//! not; an unknown `obj-y` word does).
use super::config::Config;
use super::Diagnostic;
use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Why a value is not certain.
#[derive(Debug, PartialEq, Eq)]
pub struct Taint {
    pub file: Rc<str>,
    pub line: u32,
    pub reason: String,
    /// The value may lack words (a `$(shell …)` produced nothing here), as
    /// opposed to holding words that may not apply (an unknown `ifeq`).
    pub partial: bool,
}

pub type T = Option<Rc<Taint>>;

/// The first taint, preferring one that may hide words.
pub fn join(a: &T, b: &T) -> T {
    match (a, b) {
        (Some(x), Some(y)) if !x.partial && y.partial => Some(y.clone()),
        (Some(x), _) => Some(x.clone()),
        (None, y) => y.clone(),
    }
}

/// A piece of a variable's value: what one assignment or `+=` added.
#[derive(Clone, Debug)]
pub struct Seg {
    /// Expanded text for a simple variable, raw text for a recursive one.
    pub text: String,
    pub taint: T,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Simple,
    Recursive,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    File,
    Environment,
    CommandLine,
    Override,
}

#[derive(Clone, Debug)]
pub struct Var {
    pub flavor: Flavor,
    pub segs: Vec<Seg>,
    pub export: bool,
    pub origin: Origin,
}

impl Var {
    pub fn simple(text: &str, origin: Origin) -> Var {
        Var {
            flavor: Flavor::Simple,
            segs: vec![Seg {
                text: text.to_string(),
                taint: None,
            }],
            export: origin != Origin::File,
            origin,
        }
    }

    /// The unexpanded value, as `$(value …)` and `ifdef` see it.
    pub fn raw(&self) -> (String, T) {
        let mut taint = None;
        let mut out = String::new();
        for s in &self.segs {
            taint = join(&taint, &s.taint);
            if !s.text.is_empty() {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&s.text);
            }
        }
        (out, taint)
    }
}

/// Fx: variable lookups are the interpreter's hottest path.
pub type Vars = HashMap<String, Var>;

/// Variables: this make's own over a frozen parent (the environment a
/// sub-make inherits), so every directory does not copy the top's.
#[derive(Clone, Default)]
pub struct Env {
    pub local: Vars,
    pub parent: Option<Rc<Vars>>,
    pub export_all: bool,
}

impl Env {
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.local
            .get(name)
            .or_else(|| self.parent.as_ref().and_then(|p| p.get(name)))
    }

    /// A variable to change, copied down from the parent first.
    fn get_mut(&mut self, name: &str) -> Option<&mut Var> {
        if !self.local.contains_key(name) {
            let v = self.parent.as_ref()?.get(name)?.clone();
            self.local.insert(name.to_string(), v);
        }
        self.local.get_mut(name)
    }

    pub fn set(&mut self, name: &str, var: Var) {
        self.local.insert(name.to_string(), var);
    }

    /// What a sub-make inherits: exported variables and those from the
    /// environment or the command line (which reach it through MAKEFLAGS).
    pub fn exported(&self) -> Vars {
        let mut out = Vars::default();
        let all = self
            .parent
            .iter()
            .flat_map(|p| p.iter())
            .chain(self.local.iter());
        for (k, v) in all {
            if self.export_all || v.export || v.origin != Origin::File {
                let mut v = v.clone();
                if v.origin == Origin::File {
                    v.origin = Origin::Environment;
                }
                out.insert(k.clone(), v);
            } else {
                out.remove(k);
            }
        }
        out
    }
}

/// One logical line: continuations joined, comments still in.
#[derive(Clone, Debug)]
pub struct LLine {
    pub line: u32,
    pub text: String,
    /// Starts with a tab: a recipe line when it follows a rule.
    pub tab: bool,
}

/// Splits makefile text into logical lines. A `\` at the end of a line
/// joins the next one with a single space, as Make does outside recipes.
pub fn logical_lines(src: &str) -> Vec<LLine> {
    let mut out = Vec::new();
    let mut cur: Option<LLine> = None;
    for (i, raw) in src.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let lineno = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let trailing = raw.bytes().rev().take_while(|&b| b == b'\\').count();
        let (body, cont) = if trailing % 2 == 1 {
            (&raw[..raw.len() - 1], true)
        } else {
            (raw, false)
        };
        match cur.as_mut() {
            Some(l) => {
                let t = l.text.trim_end().len();
                l.text.truncate(t);
                l.text.push(' ');
                l.text.push_str(body.trim_start());
            }
            None => {
                cur = Some(LLine {
                    line: lineno,
                    text: body.to_string(),
                    tab: body.starts_with('\t'),
                })
            }
        }
        if !cont {
            out.extend(cur.take());
        }
    }
    out.extend(cur);
    out
}

/// The line without its comment: `#` starts one unless escaped as `\#`.
pub fn strip_comment(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('#') {
        return s.into();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'#') => {
                out.push('#');
                chars.next();
            }
            '#' => break,
            c => out.push(c),
        }
    }
    out.into()
}

/// What interpreters of one tree share: the tree, the configuration, and
/// makefiles already split into lines.
pub struct Ctx<'a> {
    pub root: PathBuf,
    /// The root's canonical absolute path: Make's `CURDIR`.
    pub root_abs: String,
    pub config: &'a Config,
    cache: RefCell<HashMap<String, Option<Rc<Vec<LLine>>>>>,
    /// Makefiles read, for the caller to report.
    pub files_read: RefCell<usize>,
}

impl<'a> Ctx<'a> {
    pub fn new(root: &Path, config: &'a Config) -> Ctx<'a> {
        let abs = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        Ctx {
            root: root.to_path_buf(),
            root_abs: abs.display().to_string(),
            config,
            cache: RefCell::new(HashMap::default()),
            files_read: RefCell::new(0),
        }
    }

    /// A tree-relative makefile's lines, `None` when it cannot be read.
    pub fn lines(&self, rel: &str) -> Option<Rc<Vec<LLine>>> {
        if let Some(l) = self.cache.borrow().get(rel) {
            return l.clone();
        }
        let lines = std::fs::read(self.root.join(rel)).ok().map(|b| {
            *self.files_read.borrow_mut() += 1;
            let text = String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            Rc::new(logical_lines(&text))
        });
        self.cache
            .borrow_mut()
            .insert(rel.to_string(), lines.clone());
        lines
    }

    /// A path as Make sees it (relative to `CURDIR`, or absolute), made
    /// tree-relative and normalised; `None` when it leaves the tree.
    pub fn tree_rel(&self, p: &str) -> Option<String> {
        let rel = match p.strip_prefix(&self.root_abs) {
            Some(r) if r.is_empty() || r.starts_with('/') => r.trim_start_matches('/'),
            _ if p.starts_with('/') => return None,
            _ => p,
        };
        normalize(rel)
    }
}

/// `a/./b/../c` → `a/c`; `None` when `..` climbs above the start.
pub fn normalize(p: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// Three-valued: a conditional branch taken, not taken, or not known.
#[derive(Clone, Debug)]
pub enum Tri {
    T,
    F,
    U(Rc<Taint>),
}

impl Tri {
    pub fn and(&self, o: &Tri) -> Tri {
        match (self, o) {
            (Tri::F, _) | (_, Tri::F) => Tri::F,
            (Tri::U(t), _) | (_, Tri::U(t)) => Tri::U(t.clone()),
            _ => Tri::T,
        }
    }

    pub fn or(&self, o: &Tri) -> Tri {
        match (self, o) {
            (Tri::T, _) | (_, Tri::T) => Tri::T,
            (Tri::U(t), _) | (_, Tri::U(t)) => Tri::U(t.clone()),
            _ => Tri::F,
        }
    }

    pub fn not(&self) -> Tri {
        match self {
            Tri::T => Tri::F,
            Tri::F => Tri::T,
            u => u.clone(),
        }
    }

    pub fn of(b: bool, taint: &T) -> Tri {
        match taint {
            Some(t) => Tri::U(t.clone()),
            None if b => Tri::T,
            None => Tri::F,
        }
    }

    /// Strength for merging requests: certain beats unknown beats no.
    pub fn rank(&self) -> u8 {
        match self {
            Tri::F => 0,
            Tri::U(_) => 1,
            Tri::T => 2,
        }
    }
}

/// One open conditional.
struct Frame {
    line: u32,
    /// This branch is taken.
    state: Tri,
    /// Some earlier branch was taken.
    seen: Tri,
    /// The enclosing conditionals are active (else nothing is evaluated).
    outer_active: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Recursive,
    Simple,
    Append,
    IfUnset,
    Shell,
}

/// Interprets makefiles into an [`Env`].
pub struct Interp<'c, 'a> {
    pub ctx: &'c Ctx<'a>,
    pub env: Env,
    pub diags: Vec<Diagnostic>,
    /// The file and line being read, for taints and diagnostics.
    pub file: Rc<str>,
    pub line: u32,
    /// Taint of the conditionals around the current line (including those
    /// around the `include` that led here).
    pub cond: T,
    pub(crate) depth: usize,
}

impl<'c, 'a> Interp<'c, 'a> {
    pub fn new(ctx: &'c Ctx<'a>, env: Env) -> Self {
        Interp {
            ctx,
            env,
            diags: Vec::new(),
            file: Rc::from(""),
            line: 0,
            cond: None,
            depth: 0,
        }
    }

    pub fn taint(&self, reason: impl Into<String>, partial: bool) -> Rc<Taint> {
        Rc::new(Taint {
            file: self.file.clone(),
            line: self.line,
            reason: reason.into(),
            partial,
        })
    }

    fn diag_error(&mut self, code: &str, msg: String) {
        let d = Diagnostic::error(&self.file, self.line, 1, code, msg);
        self.diags.push(d);
    }

    /// Reads a tree-relative makefile; false when it does not exist.
    pub fn include_file(&mut self, rel: &str) -> bool {
        let Some(lines) = self.ctx.lines(rel) else {
            return false;
        };
        if self.depth > 32 {
            self.diag_error("kbuild-include", format!("includes nest too deep at {rel}"));
            return true;
        }
        let list = match self.env.get("MAKEFILE_LIST") {
            Some(v) => format!("{} {rel}", v.raw().0),
            None => rel.to_string(),
        };
        self.env
            .set("MAKEFILE_LIST", Var::simple(&list, Origin::File));
        self.depth += 1;
        self.run(Rc::from(rel), &lines);
        self.depth -= 1;
        true
    }

    /// Interprets lines read from `file`.
    pub fn run(&mut self, file: Rc<str>, lines: &[LLine]) {
        let saved = (
            std::mem::replace(&mut self.file, file),
            self.line,
            self.cond.clone(),
        );
        let outer = self.cond.clone();
        let mut frames: Vec<Frame> = Vec::new();
        let mut rule_ctx = false;
        let mut i = 0;
        while i < lines.len() {
            let l = &lines[i];
            i += 1;
            self.line = l.line;
            if l.tab && rule_ctx {
                continue;
            }
            let text = strip_comment(&l.text);
            let t = text.trim();
            if t.is_empty() {
                continue;
            }
            let (word, rest) = first_word(t);
            let active = frames.iter().all(|f| !matches!(f.state, Tri::F));
            match word {
                "ifeq" | "ifneq" | "ifdef" | "ifndef" => {
                    let state = if active {
                        self.condition(word, rest)
                    } else {
                        Tri::F
                    };
                    frames.push(Frame {
                        line: l.line,
                        seen: state.clone(),
                        state,
                        outer_active: active,
                    });
                }
                "else" => self.else_branch(&mut frames, rest),
                "endif" => {
                    if frames.pop().is_none() {
                        self.diag_error("kbuild-syntax", "`endif` without a conditional".into());
                    }
                }
                "define" => {
                    let (body, next) = define_body(lines, i);
                    if next > lines.len() {
                        self.diag_error("kbuild-syntax", "`define` without `endef`".into());
                    }
                    if active {
                        self.cond = cond_taint(&outer, &frames);
                        self.define(rest, body);
                    }
                    i = next;
                }
                _ if !active => {}
                _ => {
                    self.cond = cond_taint(&outer, &frames);
                    rule_ctx = self.statement(word, rest, t, rule_ctx);
                }
            }
        }
        if let Some(f) = frames.last() {
            self.line = f.line;
            self.diag_error("kbuild-syntax", "conditional without `endif`".into());
        }
        (self.file, self.line, self.cond) = saved;
    }

    fn else_branch(&mut self, frames: &mut [Frame], rest: &str) {
        let Some(f) = frames.last_mut() else {
            self.diag_error("kbuild-syntax", "`else` without a conditional".into());
            return;
        };
        if !f.outer_active {
            return;
        }
        let c = match first_word(rest) {
            ("", _) => Tri::T,
            (w @ ("ifeq" | "ifneq" | "ifdef" | "ifndef"), r) => {
                let seen = f.seen.clone();
                // The condition is not evaluated when an earlier branch was
                // certainly taken, as Make does not.
                if matches!(seen, Tri::T) {
                    Tri::F
                } else {
                    self.condition(w, r)
                }
            }
            _ => {
                self.diag_error("kbuild-syntax", format!("`else {rest}`"));
                Tri::F
            }
        };
        let Some(f) = frames.last_mut() else { return };
        f.state = c.and(&f.seen.not());
        f.seen = f.seen.or(&c);
    }

    /// A line that is not a conditional: returns whether a rule's recipe
    /// may follow.
    fn statement(&mut self, word: &str, rest: &str, t: &str, rule_ctx: bool) -> bool {
        match word {
            "include" | "-include" | "sinclude" => {
                self.include(rest, word == "include");
                false
            }
            "export" | "unexport" | "override" | "private" => {
                self.modified(word, rest);
                false
            }
            "undefine" => {
                let name = self.expand(rest).text.trim().to_string();
                self.env.local.remove(&name);
                false
            }
            "vpath" => false,
            _ => match split_assignment(t) {
                Some((lhs, op, rhs)) => {
                    self.assign(lhs, op, rhs, false, false);
                    false
                }
                None if has_rule_colon(t) => true,
                None => {
                    // `$(eval …)`, `$(foreach …)`, `$(error …)` at top level:
                    // expanded for their effects.
                    self.expand(t);
                    rule_ctx
                }
            },
        }
    }

    /// `export`, `unexport`, `override`, `private` before an assignment or
    /// a list of names.
    fn modified(&mut self, word: &str, rest: &str) {
        let (export, over) = (word == "export", word == "override");
        if let Some((lhs, op, rhs)) = split_assignment(rest) {
            if word == "unexport" {
                return;
            }
            let (inner, r) = first_word(lhs.trim());
            if inner == "export" {
                // `override export X := …` and the like
                self.assign(r, op, rhs, true, over);
            } else {
                self.assign(lhs, op, rhs, export, over);
            }
            return;
        }
        if rest.trim().is_empty() {
            if word == "export" {
                self.env.export_all = true;
            } else if word == "unexport" {
                self.env.export_all = false;
            }
            return;
        }
        if word == "export" || word == "unexport" {
            let names = self.expand(rest).text;
            for n in names.split_whitespace() {
                match self.env.get_mut(n) {
                    Some(v) => v.export = export,
                    None if export => {
                        let mut v = Var::simple("", Origin::File);
                        v.segs.clear();
                        v.export = true;
                        // Make exports an undefined variable only once it
                        // is defined; mark it so a later assignment keeps it.
                        v.flavor = Flavor::Recursive;
                        self.env.set(n, v);
                    }
                    None => {}
                }
            }
        }
    }

    fn include(&mut self, rest: &str, required: bool) {
        let e = self.expand(rest);
        if let Some(t) = &e.taint {
            if t.partial {
                let msg = format!(
                    "the file named by `include {}` is not known: {}",
                    rest.trim(),
                    t.reason
                );
                let d = Diagnostic::warning(&self.file, self.line, 1, "kbuild-include", msg);
                self.diags.push(d);
            }
        }
        for w in e.text.split_whitespace() {
            let Some(rel) = self.ctx.tree_rel(w) else {
                continue;
            };
            // The configuration is given (auto.conf is generated from it);
            // other generated files do not exist in a source tree.
            if rel.starts_with("include/config/") || rel.starts_with("include/generated/") {
                continue;
            }
            if !self.include_file(&rel) && required && !rel.contains("/.") && !rel.starts_with('.')
            {
                let msg = format!("`include {w}`: no such file in the tree");
                let d = Diagnostic::warning(&self.file, self.line, 1, "kbuild-include", msg);
                self.diags.push(d);
            }
        }
    }

    /// `define NAME [op]` … `endef`.
    fn define(&mut self, head: &str, body: String) {
        let head = head.trim();
        let (name, op) = match head.rsplit_once(char::is_whitespace) {
            Some((n, op @ ("=" | ":=" | "::=" | "+=" | "?="))) => (n.trim(), op),
            _ => match head.strip_suffix(['=']) {
                Some(n) => (n.trim_end_matches([':', '+', '?']).trim(), "="),
                None => (head, "="),
            },
        };
        let op = match op {
            ":=" | "::=" => Op::Simple,
            "+=" => Op::Append,
            "?=" => Op::IfUnset,
            _ => Op::Recursive,
        };
        let name = self.expand(name).text.trim().to_string();
        if !name.is_empty() {
            self.set_var(&name, op, &body, None, false, false);
        }
    }

    fn assign(&mut self, lhs: &str, op: Op, rhs: &str, export: bool, over: bool) {
        let name = self.expand(lhs.trim());
        let text = name.text.trim();
        let rhs = rhs.trim_start();
        match &name.taint {
            None if !text.is_empty() => self.set_var(text, op, rhs, None, export, over),
            // `obj-$(call something) += x.o`: the name's unknown part could
            // be `y`, `m` or nothing, so the words may be in either list.
            // The words themselves are known, so the taint hides none.
            Some(t) if text.ends_with('-') => {
                let t = Rc::new(Taint {
                    file: t.file.clone(),
                    line: t.line,
                    reason: t.reason.clone(),
                    partial: false,
                });
                for suffix in ["y", "m"] {
                    let n = format!("{text}{suffix}");
                    self.set_var(&n, Op::Append, rhs, Some(t.clone()), export, over);
                }
            }
            _ => {}
        }
    }

    fn set_var(&mut self, name: &str, op: Op, rhs: &str, taint: T, export: bool, over: bool) {
        let taint = join(&self.cond, &taint);
        // What the old value says, without copying it: `+=` chains are long.
        let old = self
            .env
            .get(name)
            .map(|o| (o.flavor, !o.segs.is_empty(), o.origin, o.export));
        if let Some((_, _, Origin::CommandLine, _)) = old {
            // Command-line variables win over the makefile's, unless `override`.
            if !over {
                return;
            }
        }
        let op = match (op, old) {
            (Op::IfUnset, Some((_, true, _, _))) if taint.is_none() => return,
            (Op::IfUnset, _) => Op::Recursive,
            (Op::Append, None) => Op::Recursive,
            (op, _) => op,
        };
        let seg = match (op, old.map(|o| o.0)) {
            (Op::Simple, _) | (Op::Append, Some(Flavor::Simple)) => {
                let e = self.expand(rhs);
                Seg {
                    text: e.text,
                    taint: join(&taint, &e.taint),
                }
            }
            (Op::Shell, _) => Seg {
                text: String::new(),
                taint: Some(self.taint(format!("`{name} != …` runs a shell command"), true)),
            },
            _ => Seg {
                text: rhs.to_string(),
                taint: taint.clone(),
            },
        };
        let export = export || old.is_some_and(|o| o.3) || self.env.export_all;
        if op == Op::Append {
            if let Some(v) = self.env.get_mut(name) {
                v.segs.push(seg);
                v.export = export;
                if over {
                    v.origin = Origin::Override;
                }
                return;
            }
        }
        // An assignment that may not happen: the old words may remain.
        let mut segs = match (&taint, self.env.get(name)) {
            (Some(t), Some(o)) => o
                .segs
                .iter()
                .map(|s| Seg {
                    text: s.text.clone(),
                    taint: join(&s.taint, &Some(t.clone())),
                })
                .collect(),
            _ => Vec::new(),
        };
        segs.push(seg);
        let flavor = match op {
            Op::Simple | Op::Shell => Flavor::Simple,
            _ => Flavor::Recursive,
        };
        let origin = if over { Origin::Override } else { Origin::File };
        self.env.set(
            name,
            Var {
                flavor,
                segs,
                export,
                origin,
            },
        );
    }

    /// `ifeq`/`ifneq`/`ifdef`/`ifndef` and its argument text.
    fn condition(&mut self, word: &str, rest: &str) -> Tri {
        let r = match word {
            "ifdef" | "ifndef" => {
                let name = self.expand(rest);
                let (set, taint) = match self.var_raw(name.text.trim()) {
                    Some((raw, t)) => (!raw.trim().is_empty(), t),
                    None => (false, None),
                };
                Tri::of(set, &join(&name.taint, &taint))
            }
            _ => match eq_args(rest) {
                Some((a, b)) => {
                    let (a, b) = (self.expand(a), self.expand(b));
                    Tri::of(a.text == b.text, &join(&a.taint, &b.taint))
                }
                None => {
                    self.diag_error("kbuild-syntax", format!("cannot read `{word} {rest}`"));
                    return Tri::F;
                }
            },
        };
        let r = match r {
            Tri::U(t) => Tri::U(self.taint(
                format!(
                    "`{word} {}` depends on something unknown ({})",
                    rest.trim(),
                    t.reason
                ),
                false,
            )),
            r => r,
        };
        if word == "ifneq" || word == "ifndef" {
            r.not()
        } else {
            r
        }
    }

    /// A variable's unexpanded value, configuration symbols included.
    pub fn var_raw(&self, name: &str) -> Option<(String, T)> {
        if let Some(v) = self.env.get(name) {
            return Some(v.raw());
        }
        self.ctx.config.get(name).map(|s| (s.raw.clone(), None))
    }
}

/// The taint of the conditionals around a line.
fn cond_taint(outer: &T, frames: &[Frame]) -> T {
    frames.iter().fold(outer.clone(), |acc, f| match &f.state {
        Tri::U(t) => join(&acc, &Some(t.clone())),
        _ => acc,
    })
}

/// The body of a `define` starting at `lines[i]` and the index after its
/// `endef` (past the end when there is none).
fn define_body(lines: &[LLine], mut i: usize) -> (String, usize) {
    let mut depth = 1;
    let mut body: Vec<&str> = Vec::new();
    while i < lines.len() {
        let t = lines[i].text.trim();
        let w = first_word(t).0;
        if w == "define" || t.starts_with("define ") {
            depth += 1;
        } else if w == "endef" {
            depth -= 1;
            if depth == 0 {
                return (body.join("\n"), i + 1);
            }
        }
        body.push(&lines[i].text);
        i += 1;
    }
    (body.join("\n"), lines.len() + 1)
}

/// The first word and the rest (which may start with `(`, as in
/// `ifeq(a,b)`).
pub fn first_word(t: &str) -> (&str, &str) {
    let end = t
        .find(|c: char| c.is_whitespace() || c == '(' || c == '"' || c == '\'')
        .unwrap_or(t.len());
    let w = &t[..end];
    // Only directives may be followed directly by `(`; anything else is one word.
    if end < t.len() && !t[end..].starts_with(char::is_whitespace) && !is_directive(w) {
        return ("", t);
    }
    (w, t[end..].trim_start())
}

fn is_directive(w: &str) -> bool {
    matches!(w, "ifeq" | "ifneq")
}

/// `(a,b)`, `"a" "b"` or `'a' 'b'`: the two unexpanded arguments.
fn eq_args(s: &str) -> Option<(&str, &str)> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('(') {
        let b = inner.as_bytes();
        let mut depth = 0i32;
        let mut comma = None;
        for (i, &c) in b.iter().enumerate() {
            match c {
                b'(' | b'{' => depth += 1,
                b')' | b'}' if depth == 0 => {
                    let comma = comma?;
                    if !inner[i + 1..].trim().is_empty() {
                        return None;
                    }
                    return Some((inner[..comma].trim(), inner[comma + 1..i].trim()));
                }
                b')' | b'}' => depth -= 1,
                b',' if depth == 0 && comma.is_none() => comma = Some(i),
                _ => {}
            }
        }
        return None;
    }
    let (a, rest) = quoted(s)?;
    let (b, rest) = quoted(rest.trim_start())?;
    rest.trim().is_empty().then_some((a, b))
}

fn quoted(s: &str) -> Option<(&str, &str)> {
    let q = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let end = s[1..].find(q)? + 1;
    Some((&s[1..end], &s[end + 1..]))
}

/// Bytes of `s` outside `$(…)`/`${…}` references.
fn top_level(s: &str) -> impl Iterator<Item = (usize, u8)> + '_ {
    let b = s.as_bytes();
    let mut depth = 0i32;
    (0..b.len()).filter_map(move |i| {
        let c = b[i];
        if depth > 0 {
            match c {
                b'(' | b'{' => depth += 1,
                b')' | b'}' => depth -= 1,
                _ => {}
            }
            return None;
        }
        if (c == b'(' || c == b'{') && i > 0 && b[i - 1] == b'$' {
            depth = 1;
            return None;
        }
        Some((i, c))
    })
}

/// `NAME op VALUE` when the line is an assignment (an `=` before any rule
/// `:`), else `None`.
fn split_assignment(t: &str) -> Option<(&str, Op, &str)> {
    let b = t.as_bytes();
    for (i, c) in top_level(t) {
        match c {
            b':' => {
                // `:=`, `::=`, `:::=`; any other colon makes a rule.
                let colons = b[i..].iter().take_while(|&&c| c == b':').count();
                if b.get(i + colons) == Some(&b'=') && colons <= 3 {
                    return Some((&t[..i], Op::Simple, &t[i + colons + 1..]));
                }
                return None;
            }
            b'=' => {
                let (lhs_end, op) = match i.checked_sub(1).map(|j| b[j]) {
                    Some(b'+') => (i - 1, Op::Append),
                    Some(b'?') => (i - 1, Op::IfUnset),
                    Some(b'!') => (i - 1, Op::Shell),
                    _ => (i, Op::Recursive),
                };
                return Some((&t[..lhs_end], op, &t[i + 1..]));
            }
            _ => {}
        }
    }
    None
}

fn has_rule_colon(t: &str) -> bool {
    top_level(t).any(|(_, c)| c == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_join_with_one_space() {
        let l = logical_lines("a := x \\\n    y\\\n\tz\nb = 1\r\n\tc\nd = e\\\\\n");
        let got: Vec<(u32, &str, bool)> =
            l.iter().map(|l| (l.line, l.text.as_str(), l.tab)).collect();
        assert_eq!(
            got,
            vec![
                (1, "a := x y z", false),
                (4, "b = 1", false),
                (5, "\tc", true),
                (6, "d = e\\\\", false),
                (7, "", false)
            ]
        );
    }

    #[test]
    fn comments() {
        assert_eq!(strip_comment("a = b # c"), "a = b ");
        assert_eq!(strip_comment("a = \\#b"), "a = #b");
        assert_eq!(strip_comment("no comment"), "no comment");
    }

    #[test]
    fn assignments_and_rules_told_apart() {
        let ops = |t| {
            split_assignment(t).map(|(l, o, r)| (l.trim().to_string(), o, r.trim().to_string()))
        };
        assert!(ops("a := b") == Some(("a".into(), Op::Simple, "b".into())));
        assert!(ops("a ::= b") == Some(("a".into(), Op::Simple, "b".into())));
        assert!(
            ops("obj-$(CONFIG_X) += a.o")
                == Some(("obj-$(CONFIG_X)".into(), Op::Append, "a.o".into()))
        );
        assert!(ops("a ?= b") == Some(("a".into(), Op::IfUnset, "b".into())));
        assert!(ops("a != echo") == Some(("a".into(), Op::Shell, "echo".into())));
        assert!(ops("a = b:c") == Some(("a".into(), Op::Recursive, "b:c".into())));
        assert!(
            ops("x := $(subst :, ,$(y))")
                == Some(("x".into(), Op::Simple, "$(subst :, ,$(y))".into()))
        );
        assert!(ops("$(obj)/a.o: CFLAGS += -x").is_none());
        assert!(ops("foo: bar").is_none());
        assert!(has_rule_colon("foo: bar"));
        assert!(!has_rule_colon("$(eval a:=b)"));
    }

    #[test]
    fn ifeq_argument_forms() {
        assert_eq!(eq_args("($(A),y)"), Some(("$(A)", "y")));
        assert_eq!(eq_args("( $(call f,a,b) , )"), Some(("$(call f,a,b)", "")));
        assert_eq!(eq_args("\"$(A)\" 'y'"), Some(("$(A)", "y")));
        assert_eq!(eq_args("(a b)"), None);
        assert_eq!(first_word("ifeq($(A),y)"), ("ifeq", "($(A),y)"));
        assert_eq!(first_word("obj-y += a.o"), ("obj-y", "+= a.o"));
        assert_eq!(first_word("foo(bar) = 1"), ("", "foo(bar) = 1"));
    }

    #[test]
    fn paths_normalise() {
        assert_eq!(normalize("./a/b/../c/").as_deref(), Some("a/c"));
        assert_eq!(normalize(".").as_deref(), Some(""));
        assert_eq!(normalize("a/../.."), None);
    }
}
