//! Whether a manifest's prototype (C text from the source) is a kernel's
//! (C text from its BTF): the same parameter names and the same types,
//! however each side spells them. Spelling differences that mean nothing:
//! whitespace, integer keywords (`unsigned long` is DWARF's `long unsigned
//! int`), attributes and `__arena` (BTF records address spaces, the
//! source's macros may not reach the manifest), and the names of a
//! function pointer's parameters (BTF has none).

/// Whether two C prototypes declare the same function.
pub(crate) fn same_prototype(a: &str, b: &str) -> bool {
    normalise(a) == normalise(b)
}

const INT_WORDS: &[&str] = &["signed", "unsigned", "char", "short", "int", "long"];
/// Words a type name follows.
const PREFIX_WORDS: &[&str] = &["const", "volatile", "restrict", "struct", "union", "enum"];

fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(s[start..i].to_string());
        } else {
            out.push((c as char).to_string());
            i += 1;
        }
    }
    out
}

/// Drops `__attribute__((…))` and `__arena`.
fn drop_attributes(toks: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = toks.into_iter().peekable();
    while let Some(t) = it.next() {
        if t == "__arena" {
            continue;
        }
        if t == "__attribute__" {
            let mut depth = 0;
            for u in it.by_ref() {
                match u.as_str() {
                    "(" => depth += 1,
                    ")" => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            continue;
        }
        out.push(t);
    }
    out
}

/// A run of integer keywords in one canonical spelling.
fn canonical_int(words: &[String]) -> String {
    let has = |w: &str| words.iter().any(|x| x == w);
    let longs = words.iter().filter(|w| *w == "long").count();
    let base = if has("char") {
        "char"
    } else if has("short") {
        "short"
    } else if longs >= 2 {
        "long long"
    } else if longs == 1 {
        "long"
    } else {
        "int"
    };
    match (has("unsigned"), has("signed") && base == "char") {
        (true, _) => format!("unsigned {base}"),
        (false, true) => "signed char".to_string(),
        _ => base.to_string(),
    }
}

fn normalise(s: &str) -> Vec<String> {
    let toks = drop_attributes(tokens(s));
    let mut merged: Vec<String> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if INT_WORDS.contains(&toks[i].as_str()) {
            let start = i;
            while i < toks.len() && INT_WORDS.contains(&toks[i].as_str()) {
                i += 1;
            }
            merged.push(canonical_int(&toks[start..i]));
        } else {
            merged.push(toks[i].clone());
            i += 1;
        }
    }
    drop_inner_names(merged)
}

fn is_ident(t: &str) -> bool {
    t.bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
}

/// Drops parameter names inside a function pointer's parameter list (at
/// parenthesis depth 2 and more): an identifier before `,` or `)` that
/// follows a `*` or a type name (not a keyword such as `struct`).
fn drop_inner_names(toks: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate() {
        match t.as_str() {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            _ => {}
        }
        let next_ends = toks.get(i + 1).is_some_and(|n| n == "," || n == ")");
        // after a `*` or a type name (not a keyword such as `struct`): a name
        let prev_is_type = out
            .last()
            .is_some_and(|p| p == "*" || (is_ident(p) && !PREFIX_WORDS.contains(&p.as_str())));
        if depth >= 2 && is_ident(t) && next_ends && prev_is_type {
            continue;
        }
        out.push(t.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_that_mean_the_same() {
        assert!(same_prototype(
            "unsigned long bpf_x(unsigned int a, long b)",
            "long unsigned int bpf_x(unsigned int a, long int b)"
        ));
        assert!(same_prototype(
            "void *bpf_arena_alloc_pages(void *p__map, void *addr__ign, u32 page_cnt)",
            "void __arena *bpf_arena_alloc_pages(void *p__map, void __attribute__((address_space(1))) *addr__ign, u32 page_cnt)"
        ));
        assert!(same_prototype(
            "int bpf_wq_set_callback_impl(struct bpf_wq *wq, int (*callback_fn)(void *map, int *key, void *value), unsigned int flags, void *aux__ign)",
            "int bpf_wq_set_callback_impl(struct bpf_wq *wq, int (*callback_fn)(void *, int *, void *), unsigned int flags, void *aux__ign)"
        ));
    }

    #[test]
    fn differences_that_matter() {
        // a parameter's name (its annotation) and type
        assert!(!same_prototype("int f(void *p__map)", "int f(void *p)"));
        assert!(!same_prototype(
            "int f(struct bpf_dynptr_kern *p)",
            "int f(struct bpf_dynptr *p)"
        ));
        assert!(!same_prototype("int f(u32 a)", "int f(u32 a, u32 b)"));
        assert!(!same_prototype("unsigned int f(void)", "int f(void)"));
        assert!(!same_prototype("int f(const char *s)", "int f(char *s)"));
    }
}
