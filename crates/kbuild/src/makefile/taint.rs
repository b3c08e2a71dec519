//! Why a value or a condition is not certain.
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

/// A value's taint: `None` when it is certain, else why it is not.
pub type MaybeTaint = Option<Rc<Taint>>;

/// The first taint, preferring one that may hide words.
pub fn join(a: &MaybeTaint, b: &MaybeTaint) -> MaybeTaint {
    match (a, b) {
        (Some(x), Some(y)) if !x.partial && y.partial => Some(y.clone()),
        (Some(x), _) => Some(x.clone()),
        (None, y) => y.clone(),
    }
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

    pub fn of(b: bool, taint: &MaybeTaint) -> Tri {
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
