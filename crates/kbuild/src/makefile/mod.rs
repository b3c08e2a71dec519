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
//!
//! The files: `parse` splits makefile text into logical lines and tells
//! their kinds apart, `vars` is the variable store, `taint` says why a value
//! or a condition is not certain, `ctx` is what interpreters of one tree
//! share, and `interp` runs the lines (`crate::expand` expands the values).
mod ctx;
mod interp;
mod parse;
mod taint;
mod vars;

pub use ctx::{normalize, Ctx};
pub use interp::Interp;
pub use parse::{logical_lines, LLine};
pub use taint::{join, MaybeTaint, Taint, Tri};
pub use vars::{Env, Flavor, Origin, Var, Vars};
// only `expand`'s tests build a value segment by segment
#[cfg(test)]
pub use vars::Seg;
