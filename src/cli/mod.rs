//! The command line's commands, one module a family: what each parses from
//! the arguments and how it runs. `main.rs` only dispatches.

pub mod btf;
pub mod publish;
pub mod scan;
