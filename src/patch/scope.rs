//! Which kfuncs a patch looks at, and how the build view scopes them to the
//! object this BTF is.

use super::PatchOptions;
use crate::manifest::{BuiltInto, Kfunc, KfuncSet, Manifest, SetEntry, SetKind};
use rustc_hash::FxHashMap as HashMap;

/// How a kfunc stands towards the BTF being patched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    /// Another object's, or not built: left alone.
    Elsewhere,
    /// Patched when the BTF has it, reported missing when not: without a
    /// build view, or where the build view cannot tell.
    IfPresent,
    /// The build view puts it in this object: the BTF must have it.
    Built,
}

/// A kfunc the patch looks at, and what for.
pub(super) struct Considered<'m> {
    pub(super) kfunc: &'m Kfunc,
    /// A member of a kfuncs set: tagged as pahole tags it.
    pub(super) tag: bool,
    /// Verifier-supplied arguments: paired.
    pub(super) pair: bool,
    /// The BTF lacking it is refused.
    pub(super) required: bool,
}

/// Whether `named`, an object as the manifest names it (a `.ko`'s name;
/// several joined by `:` for a file linked into several modules), is
/// `object`. `-` and `_` are one, as in the kernel's module names.
pub fn is_object(named: &str, object: &str) -> bool {
    let norm = |s: &str| {
        s.bytes()
            .map(|b| if b == b'-' { b'_' } else { b })
            .collect::<Vec<u8>>()
    };
    let want = norm(object);
    named.split(':').any(|n| norm(n) == want)
}

/// A set entry's scope under a build view, for the BTF of `object`.
fn entry_scope(s: &KfuncSet, e: &SetEntry, object: &str) -> Scope {
    match (&s.object, e.built) {
        (BuiltInto::NotBuilt, _) | (_, Some(false)) => Scope::Elsewhere,
        (BuiltInto::Object(o), _) if !is_object(o, object) => Scope::Elsewhere,
        (BuiltInto::Object(_), Some(true)) => Scope::Built,
        _ => Scope::IfPresent,
    }
}

/// What a kfunc's own object leaves of `scope`: defined in another object,
/// its FUNC is in that object's BTF; defined nowhere the build compiles,
/// the BTF lacking it is no error.
fn kfunc_scope(k: &Kfunc, scope: Scope, object: &str) -> Scope {
    match &k.object {
        BuiltInto::Object(o) if !is_object(o, object) => Scope::Elsewhere,
        BuiltInto::NotBuilt => scope.min(Scope::IfPresent),
        _ => scope,
    }
}

/// The kfuncs a patch looks at, in the manifest's order: those with
/// verifier-supplied arguments (paired), and with `add_decl_tags` the
/// members of kfuncs sets (tagged). With a build view, only those the build
/// puts in this object.
pub(super) fn considered<'m>(m: &'m Manifest, opts: &PatchOptions) -> Vec<Considered<'m>> {
    let object = opts.object();
    let build = m.build.is_some();
    // by name: the widest scope among kfuncs sets, and among all sets
    let mut scopes: HashMap<&str, (Scope, Scope)> = HashMap::default();
    for s in &m.sets {
        for e in &s.entries {
            let scope = if build {
                entry_scope(s, e, object)
            } else {
                Scope::IfPresent
            };
            let slot = scopes
                .entry(e.name.as_str())
                .or_insert((Scope::Elsewhere, Scope::Elsewhere));
            if s.kind == SetKind::Kfuncs {
                slot.0 = slot.0.max(scope);
            }
            slot.1 = slot.1.max(scope);
        }
    }
    m.kfuncs
        .iter()
        .filter_map(|k| {
            let (mut in_kfuncs, mut in_any) = scopes
                .get(k.name.as_str())
                .copied()
                .unwrap_or((Scope::Elsewhere, Scope::Elsewhere));
            if build {
                in_kfuncs = kfunc_scope(k, in_kfuncs, object);
                in_any = kfunc_scope(k, in_any, object);
            }
            let tag = opts.add_decl_tags && in_kfuncs > Scope::Elsewhere;
            let pair = !opts.no_pairs
                && k.verifier_args.is_some()
                && (!build || in_any > Scope::Elsewhere);
            let required = (tag && in_kfuncs == Scope::Built) || (pair && in_any == Scope::Built);
            (tag || pair).then_some(Considered {
                kfunc: k,
                tag,
                pair,
                required,
            })
        })
        .collect()
}
