//! The sets: `BTF_KFUNCS_START`/`BTF_SET8_START` lists, their entries, and
//! the registrations that make a set callable from a program type.

use crate::build_view::BuiltInto;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum SetKind {
    /// `BTF_KFUNCS_START` … `BTF_KFUNCS_END`
    #[default]
    Kfuncs,
    /// `BTF_SET8_START` … `BTF_SET8_END`
    Set8,
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct KfuncSet {
    pub name: String,
    pub kind: SetKind,
    pub file: String,
    pub line: u32,
    pub end_line: Option<u32>,
    pub entries: Vec<SetEntry>,
    pub registrations: Vec<Registration>,
    /// With a build view: the object its `.BTF_ids` lands in, or `null`
    /// when the build does not compile it.
    #[serde(default, skip_serializing_if = "BuiltInto::is_unknown")]
    #[schemars(with = "Option<String>")]
    pub object: BuiltInto,
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct SetEntry {
    pub name: String,
    /// Flags as written, in source order.
    pub flags: Vec<String>,
    /// The flags OR-ed together, null when one of them is not defined by the tree.
    pub flags_value: Option<u64>,
    /// The preprocessor condition guarding the entry, null when unconditional.
    pub condition: Option<String>,
    pub line: u32,
    /// With a build view: whether the build compiles this entry (its set's
    /// object is built and its condition holds); absent without one, or
    /// when the condition could not be evaluated (a diagnostic names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built: Option<bool>,
}

#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(
    Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
pub struct Registration {
    /// `BPF_PROG_TYPE_*`, or `"fmodret"` for `register_btf_fmodret_id_set`.
    pub prog_type: String,
    /// The `struct btf_kfunc_id_set` variable passed to the call.
    pub id_set: String,
    /// Its `.filter` callback, when it has one.
    pub filter: Option<String>,
    pub file: String,
    pub line: u32,
    pub condition: Option<String>,
    /// What `filter` lets through, read from its body; present whenever
    /// `filter` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restriction: Option<Restriction>,
}

/// What a set's `.filter` callback lets call the set's kfuncs. The kernel
/// runs every filter registered on a hook before looking a kfunc up there;
/// a filter that returns non-zero refuses the call. The fields narrow
/// together: a call passes when its program type is in `prog_types`, its
/// attach type in `attach_types`, and every one of `requires` holds.
#[allow(
    missing_docs,
    reason = "a doc comment here is a description in the published JSON Schema (`kfunc-scan schema`), which stays byte-identical; docs/manifest.md and docs/commands.md document the fields"
)]
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
pub struct Restriction {
    /// Where the filter function is defined; null when the registration's
    /// file does not define it.
    pub file: Option<String>,
    pub line: Option<u32>,
    /// Why the body could not be read (then nothing else is known: the
    /// filter may refuse any call); null when it was read.
    pub unread: Option<String>,
    /// The program types it lets through; absent when it does not look at
    /// the program type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prog_types: Option<Vec<String>>,
    /// The attach types (`expected_attach_type`) it lets through; absent
    /// when it does not look at them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_types: Option<Vec<String>>,
    /// Conditions it also requires that kfunc-scan does not evaluate, as
    /// written (`!foo(prog)` when `foo(prog)` must be false).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
}

impl Restriction {
    /// A filter whose body could not be read, for this reason.
    pub fn unread(file: Option<String>, line: Option<u32>, why: impl Into<String>) -> Self {
        Restriction {
            file,
            line,
            unread: Some(why.into()),
            prog_types: None,
            attach_types: None,
            requires: Vec::new(),
        }
    }
}
