//! The build view: the configuration a manifest was made with, and which
//! object of that build holds a set or a kfunc.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The kernel configuration a manifest's build view was made with.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct BuildInfo {
    /// The `.config` file's name, as given.
    pub config: String,
    /// A hash of its content (`fnv1a64:` and 16 hex digits).
    pub config_hash: String,
    /// The architecture whose Kbuild was followed (`x86_64`).
    pub arch: String,
}

/// Which object of a build holds a set or a kfunc. In JSON: the field is
/// absent when unknown (no build view, or Kbuild could not tell: a
/// diagnostic says why), `null` when not built, else `"vmlinux"` or the
/// module's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BuiltInto {
    /// Not known (the field is absent).
    #[default]
    Unknown,
    /// Not built with this configuration (`null`).
    NotBuilt,
    /// Built into this object: `vmlinux` or a module's name.
    Object(String),
}

impl BuiltInto {
    /// The object of the kernel image.
    pub const VMLINUX: &'static str = "vmlinux";

    /// Whether it is not known (the field is then not written).
    pub fn is_unknown(&self) -> bool {
        *self == BuiltInto::Unknown
    }

    /// The object's name when built.
    pub fn object(&self) -> Option<&str> {
        match self {
            BuiltInto::Object(o) => Some(o),
            _ => None,
        }
    }
}

impl Serialize for BuiltInto {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // `Unknown` is skipped by the fields' skip_serializing_if
        self.object().serialize(s)
    }
}

impl<'de> Deserialize<'de> for BuiltInto {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<String>::deserialize(d)? {
            Some(o) => BuiltInto::Object(o),
            None => BuiltInto::NotBuilt,
        })
    }
}
