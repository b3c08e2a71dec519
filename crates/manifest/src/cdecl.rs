//! C declarations of kfuncs as BPF programs see them, from the manifest's
//! type text: shared by the docs, the header and the diff. Types are shown
//! as the verifier presents them to BPF programs
//! ([`conventions::VERIFIER_TYPES`]: a `struct bpf_dynptr_kern *` parameter
//! is the program's `struct bpf_dynptr *`).

use crate::{conventions, Kfunc, Param};

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

/// A type's text as BPF programs have it: every `struct NAME` the verifier
/// presents as another type ([`conventions::VERIFIER_TYPES`]) replaced,
/// qualifiers and pointers kept (`const struct bpf_dynptr_kern *` →
/// `const struct bpf_dynptr *`). Other text is returned as it is.
pub fn bpf_type(ty: &str) -> String {
    let mut out = ty.to_string();
    for (kernel, bpf) in conventions::VERIFIER_TYPES {
        out = replace_tagged(&out, kernel, bpf);
    }
    out
}

/// `text` with each whole-word occurrence of `from` (`struct NAME`) replaced.
fn replace_tagged(text: &str, from: &str, to: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let end = at + from.len();
        let whole = !word(rest[..at].chars().next_back()) && !word(rest[end..].chars().next());
        out.push_str(&rest[..at]);
        out.push_str(if whole { to } else { from });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A pointer type as an arena pointer: `void *` → `void __arena *`
/// ([`conventions::ARENA_MACRO`] before the last `*`). Other types are
/// returned as they are.
pub fn arena_pointer(ty: &str) -> String {
    match ty.trim_end().strip_suffix('*') {
        Some(pointee) => format!("{} {} *", pointee.trim_end(), conventions::ARENA_MACRO),
        None => ty.to_string(),
    }
}

/// `p` with its type as BPF programs have it ([`bpf_type`]).
fn bpf_param(p: &Param) -> Param {
    Param {
        ty: bpf_type(&p.ty),
        ..p.clone()
    }
}

/// The parameters BPF programs pass: all but the verifier-supplied ones,
/// with their types as BPF programs have them ([`bpf_type`]).
pub fn bpf_params(k: &Kfunc) -> Vec<Param> {
    let omitted: &[usize] = k.verifier_args.as_ref().map_or(&[], |m| &m.omitted_params);
    k.params
        .iter()
        .enumerate()
        .filter(|(i, _)| !omitted.contains(i))
        .map(|(_, p)| bpf_param(p))
        .collect()
}

/// The return type as BPF programs have it ([`bpf_type`]).
pub fn bpf_return_type(k: &Kfunc) -> String {
    bpf_type(&k.return_type)
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

fn prototype(name: &str, ret: &str, params: &[Param]) -> String {
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
    prototype(&k.name, &bpf_return_type(k), &bpf_params(k))
}

/// The full kernel prototype under the `_impl` name, for kfuncs with
/// verifier-supplied arguments (types as BPF programs have them: programs
/// built against the `_impl` name call it).
pub fn impl_signature(k: &Kfunc) -> Option<String> {
    let m = k.verifier_args.as_ref()?;
    let all: Vec<Param> = k.params.iter().map(bpf_param).collect();
    Some(prototype(&m.impl_name, &bpf_return_type(k), &all))
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
    fn bpf_types_are_the_verifier_s() {
        assert_eq!(bpf_type("struct bpf_dynptr_kern *"), "struct bpf_dynptr *");
        assert_eq!(
            bpf_type("const struct bpf_dynptr_kern *"),
            "const struct bpf_dynptr *"
        );
        // whole names only
        assert_eq!(
            bpf_type("struct bpf_dynptr_kern_x *"),
            "struct bpf_dynptr_kern_x *"
        );
        assert_eq!(
            bpf_type("struct my_bpf_dynptr_kern *"),
            "struct my_bpf_dynptr_kern *"
        );
        assert_eq!(
            bpf_type("int (*)(struct bpf_dynptr_kern *d, struct bpf_dynptr_kern *e)"),
            "int (*)(struct bpf_dynptr *d, struct bpf_dynptr *e)"
        );
        assert_eq!(
            bpf_type("struct bpf_sock_addr_kern *"),
            "struct bpf_sock_addr_kern *"
        );
        assert_eq!(bpf_type("u32"), "u32");
    }

    #[test]
    fn signatures_show_the_program_s_types() {
        let p = |ty: &str, name: &str| Param {
            name: name.into(),
            ty: ty.into(),
            annotation: None,
        };
        let k = Kfunc {
            name: "bpf_verify_pkcs7_signature".into(),
            file: "kernel/trace/bpf_trace.c".into(),
            line: 1,
            bpf_kfunc_attr: true,
            return_type: "int".into(),
            params: vec![
                p("struct bpf_dynptr_kern *", "data_ptr"),
                p("struct bpf_dynptr_kern *", "sig_ptr"),
                p("struct bpf_key *", "trusted_keyring"),
            ],
            sets: vec![],
            prog_types: vec![],
            flags: vec![],
            condition: None,
            doc: None,
            verifier_args: None,
            object: crate::BuiltInto::Unknown,
        };
        assert_eq!(
            bpf_signature(&k),
            "int bpf_verify_pkcs7_signature(struct bpf_dynptr *data_ptr, struct bpf_dynptr *sig_ptr, struct bpf_key *trusted_keyring)"
        );
        assert_eq!(bpf_params(&k)[1].ty, "struct bpf_dynptr *");
        // the manifest keeps the kernel's text
        assert_eq!(k.params[1].ty, "struct bpf_dynptr_kern *");
    }

    #[test]
    fn struct_names_found() {
        assert_eq!(
            struct_names("const struct bpf_dynptr *p, struct a_b *x, mystruct y"),
            ["bpf_dynptr", "a_b"]
        );
        // after a word character, `struct ` is part of another word
        assert_eq!(struct_names("(struct x *a, my_struct y, _struct z)"), ["x"]);
    }

    #[test]
    fn enum_names_found() {
        assert_eq!(
            enum_names("enum bpf_arg_type t, const enum x_y *p, struct e q, myenum z"),
            ["bpf_arg_type", "x_y"]
        );
        assert!(enum_names("int").is_empty());
    }

    /// `bpf_wq_set_callback`: its last parameter is supplied by the
    /// verifier; programs built against the `_impl` name pass it.
    #[test]
    fn verifier_supplied_parameters_and_the_impl_prototype() {
        let p = |ty: &str, name: &str| Param {
            name: name.into(),
            ty: ty.into(),
            annotation: None,
        };
        let mut k = crate::tests::kfunc("bpf_wq_set_callback", "kernel/bpf/helpers.c", &[]);
        k.params = vec![
            p("struct bpf_wq *", "wq"),
            p("struct bpf_dynptr_kern *", "d"),
            p("struct bpf_prog_aux *", "aux"),
        ];
        k.verifier_args = Some(crate::tests::implicit_args(&k, &[2]));
        let names: Vec<&str> = verifier_params(&k)
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["aux"]);
        assert_eq!(
            bpf_signature(&k),
            "int bpf_wq_set_callback(struct bpf_wq *wq, struct bpf_dynptr *d)"
        );
        assert_eq!(
            impl_signature(&k).as_deref(),
            Some("int bpf_wq_set_callback_impl(struct bpf_wq *wq, struct bpf_dynptr *d, struct bpf_prog_aux *aux)")
        );
        let plain = Kfunc {
            verifier_args: None,
            ..k
        };
        assert!(verifier_params(&plain).is_empty());
        assert_eq!(impl_signature(&plain), None);
    }
}
