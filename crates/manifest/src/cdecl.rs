//! C declarations of kfuncs as BPF programs see them, from the manifest's
//! type text: shared by the docs, the header and the diff.

use crate::{Kfunc, Param};

/// `type` and `name` as one declarator: `struct task_struct *p`,
/// `int (*cb)(void *map)`, `u8 buf[16]`, `int x`.
pub fn declarator(ty: &str, name: &str) -> String {
    if ty == "..." {
        return "...".to_string();
    }
    if name.is_empty() {
        return ty.to_string();
    }
    if let Some(at) = ty.find("(*)") {
        return format!("{}(*{name}){}", &ty[..at], &ty[at + 3..]);
    }
    if let Some(at) = ty.find('[') {
        return format!("{} {name}{}", ty[..at].trim_end(), &ty[at..]);
    }
    if ty.ends_with('*') {
        format!("{ty}{name}")
    } else {
        format!("{ty} {name}")
    }
}

/// The parameters BPF programs pass: all but the verifier-supplied ones.
pub fn bpf_params(k: &Kfunc) -> Vec<&Param> {
    let omitted: &[usize] = k.verifier_args.as_ref().map_or(&[], |m| &m.omitted_params);
    k.params
        .iter()
        .enumerate()
        .filter(|(i, _)| !omitted.contains(i))
        .map(|(_, p)| p)
        .collect()
}

/// The parameters the verifier supplies, in the manifest's order (none for
/// most kfuncs).
pub fn verifier_params(k: &Kfunc) -> Vec<&Param> {
    k.verifier_args.as_ref().map_or_else(Vec::new, |m| {
        m.omitted_params
            .iter()
            .filter_map(|&i| k.params.get(i))
            .collect()
    })
}

fn prototype(name: &str, ret: &str, params: &[&Param]) -> String {
    let list = if params.is_empty() {
        "void".to_string()
    } else {
        params
            .iter()
            .map(|p| declarator(&p.ty, &p.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    declarator(ret, &format!("{name}({list})"))
}

/// What BPF programs call: `struct task_struct *bpf_task_acquire(struct task_struct *p)`.
pub fn bpf_signature(k: &Kfunc) -> String {
    prototype(&k.name, &k.return_type, &bpf_params(k))
}

/// The full kernel prototype under the `_impl` name, for kfuncs with
/// verifier-supplied arguments.
pub fn impl_signature(k: &Kfunc) -> Option<String> {
    let m = k.verifier_args.as_ref()?;
    let all: Vec<&Param> = k.params.iter().collect();
    Some(prototype(&m.impl_name, &k.return_type, &all))
}

/// `struct NAME` types a declaration mentions, for forward declarations.
pub fn struct_names(text: &str) -> Vec<String> {
    tagged_names(text, "struct ")
}

/// `enum NAME` types a declaration mentions.
pub fn enum_names(text: &str) -> Vec<String> {
    tagged_names(text, "enum ")
}

fn tagged_names(text: &str, tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(tag) {
        let before_ok = at == 0
            || !rest.as_bytes()[at - 1].is_ascii_alphanumeric() && rest.as_bytes()[at - 1] != b'_';
        let after = &rest[at + tag.len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if before_ok && !name.is_empty() {
            out.push(name.clone());
        }
        rest = &after[name.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarators() {
        assert_eq!(
            declarator("struct task_struct *", "p"),
            "struct task_struct *p"
        );
        assert_eq!(
            declarator("int (*)(void *map, int *key)", "cb"),
            "int (*cb)(void *map, int *key)"
        );
        assert_eq!(declarator("u8[16]", "buf"), "u8 buf[16]");
        assert_eq!(declarator("unsigned int", "flags"), "unsigned int flags");
        assert_eq!(declarator("...", "..."), "...");
        assert_eq!(declarator("void *", "f(void)"), "void *f(void)");
    }

    #[test]
    fn struct_names_found() {
        assert_eq!(
            struct_names("const struct bpf_dynptr *p, struct a_b *x, mystruct y"),
            ["bpf_dynptr", "a_b"]
        );
    }
}
