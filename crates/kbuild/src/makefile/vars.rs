//! The variable store: values as the assignments that made them, and the
//! environment a make has over the one it inherited.
use super::taint::{join, MaybeTaint};
use rustc_hash::FxHashMap as HashMap;
use std::rc::Rc;

/// A piece of a variable's value: what one assignment or `+=` added.
#[derive(Clone, Debug)]
pub struct Seg {
    /// Expanded text for a simple variable, raw text for a recursive one.
    pub text: String,
    pub taint: MaybeTaint,
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
    pub fn raw(&self) -> (String, MaybeTaint) {
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
    pub(super) fn get_mut(&mut self, name: &str) -> Option<&mut Var> {
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
