//! A kfunc's record: its definition, parameters, and the arguments the
//! verifier supplies.

use crate::build_view::BuiltInto;
use crate::conventions;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Kfunc {
    pub name: String,
    pub file: String,
    pub line: u32,
    /// True when the definition carries `__bpf_kfunc`.
    pub bpf_kfunc_attr: bool,
    pub return_type: String,
    pub params: Vec<Param>,
    /// Names of the sets listing this kfunc, sorted.
    pub sets: Vec<String>,
    /// Program types of those sets' registrations, sorted and deduplicated.
    pub prog_types: Vec<String>,
    /// Flag names taken from the set entries (union over sets), sorted.
    pub flags: Vec<String>,
    /// Preprocessor condition around the definition, null when unconditional.
    pub condition: Option<String>,
    /// The kernel-doc comment above the definition, as written.
    pub doc: Option<String>,
    // The JSON keeps the name the magic-kfuncs proposal gave it; it covers
    // both conventions.
    #[serde(rename = "magic")]
    pub verifier_args: Option<VerifierArgs>,
    /// With a build view: the object holding the definition, `null` when
    /// the build does not compile it.
    #[serde(default, skip_serializing_if = "BuiltInto::is_unknown")]
    #[schemars(with = "Option<String>")]
    pub object: BuiltInto,
}

impl Kfunc {
    /// There for the selftests (under tools/, in their modules, or one of
    /// the kernel's own test files): left out of docs, YAML, header and
    /// diff unless asked for, by this one rule.
    pub fn is_selftest(&self) -> bool {
        conventions::is_test_source(&self.file)
    }
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Param {
    pub name: String,
    /// The declared type without the parameter's name (`struct task_struct *`).
    #[serde(rename = "type")]
    pub ty: String,
    /// The `__word` suffix of the name (`"__sz"`), null when there is none.
    pub annotation: Option<String>,
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename = "MagicConvention", rename_all = "snake_case")]
pub enum ArgsConvention {
    /// The magic-kfuncs proposal: `KF_MAGIC_ARGS` and `__magic` names.
    MagicArgs,
    /// Upstream: `KF_IMPLICIT_ARGS` and arguments recognised by type.
    ImplicitArgs,
}

impl ArgsConvention {
    /// The set-entry flag that marks a kfunc of this convention.
    pub fn flag(self) -> &'static str {
        match self {
            ArgsConvention::MagicArgs => conventions::FLAG_MAGIC_ARGS,
            ArgsConvention::ImplicitArgs => conventions::FLAG_IMPLICIT_ARGS,
        }
    }
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
// A kfunc some of whose arguments the verifier supplies: BPF programs call
// `bpf_name` without them, the kernel's BTF also carries `impl_name` with
// the full prototype. `Magic` in the schema, `magic` in the JSON (plain
// comments here: a doc comment would change the schema's text).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename = "Magic")]
pub struct VerifierArgs {
    pub convention: ArgsConvention,
    /// The name BPF programs call (the kfunc's own name).
    pub bpf_name: String,
    /// The name of the function carrying the full kernel prototype.
    pub impl_name: String,
    /// Indices of the parameters the verifier supplies.
    pub omitted_params: Vec<usize>,
    /// True when `impl_name` is already defined in the source (nothing to emit).
    pub legacy_impl: bool,
}
