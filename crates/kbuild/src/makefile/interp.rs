//! The interpreter: runs a makefile's logical lines (conditionals,
//! assignments, `include`, `define`) into an [`Env`].
use super::ctx::Ctx;
use super::parse::{
    define_body, eq_args, first_word, has_rule_colon, split_assignment, strip_comment, LLine, Op,
};
use super::taint::{join, MaybeTaint, Taint, Tri};
use super::vars::{Env, Flavor, Origin, Seg, Var};
use crate::Diagnostic;
use std::rc::Rc;

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
    pub cond: MaybeTaint,
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

    fn set_var(
        &mut self,
        name: &str,
        op: Op,
        rhs: &str,
        taint: MaybeTaint,
        export: bool,
        over: bool,
    ) {
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
    pub fn var_raw(&self, name: &str) -> Option<(String, MaybeTaint)> {
        if let Some(v) = self.env.get(name) {
            return Some(v.raw());
        }
        self.ctx.config.get(name).map(|s| (s.raw.clone(), None))
    }
}

/// The taint of the conditionals around a line.
fn cond_taint(outer: &MaybeTaint, frames: &[Frame]) -> MaybeTaint {
    frames.iter().fold(outer.clone(), |acc, f| match &f.state {
        Tri::U(t) => join(&acc, &Some(t.clone())),
        _ => acc,
    })
}
