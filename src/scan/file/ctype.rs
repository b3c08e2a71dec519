//! Reading C declarations off tree-sitter nodes: a function's name, return
//! type and parameters, each type as text without the declared name.

use super::parse::text;
use crate::conventions;
use crate::manifest::Param;
use tree_sitter::Node;

pub(crate) struct Signature {
    pub name: String,
    pub name_node_start: (u32, u32),
    pub return_type: String,
    pub params: Vec<Param>,
}

/// The function_declarator inside a definition's declarator, through pointer,
/// parenthesised and attributed declarators.
fn function_declarator(mut node: Node) -> Option<Node> {
    loop {
        match node.kind() {
            "function_declarator" => {
                // `int (*f(void))(int)`: a function returning a function pointer
                // nests another function_declarator; the innermost with an
                // identifier is the one defined.
                let inner = node.child_by_field_name("declarator")?;
                if inner.kind() == "identifier" {
                    return Some(node);
                }
                match function_declarator(inner) {
                    Some(f) => return Some(f),
                    None => return Some(node),
                }
            }
            "pointer_declarator" | "parenthesized_declarator" | "attributed_declarator" => {
                node = node
                    .child_by_field_name("declarator")
                    .or_else(|| node.named_child(0))?;
            }
            _ => return None,
        }
    }
}

/// The identifier a declarator declares.
pub(crate) fn declared_identifier(mut node: Node) -> Option<Node> {
    for _ in 0..256 {
        match node.kind() {
            "identifier" | "field_identifier" => return Some(node),
            _ => {
                node = node.child_by_field_name("declarator").or_else(|| {
                    let mut c = node.walk();
                    let found = node
                        .named_children(&mut c)
                        .find(|n| n.kind().ends_with("declarator") || n.kind() == "identifier");
                    found
                })?;
            }
        }
    }
    None
}

/// Reads a function_definition (or declaration) node.
pub(crate) fn signature(def: Node, declarator: Node, src: &[u8]) -> Option<Signature> {
    let fdecl = function_declarator(declarator)?;
    let name_node = fdecl.child_by_field_name("declarator")?;
    if name_node.kind() != "identifier" {
        return None;
    }
    let name = text(name_node, src).into_owned();
    // Return type: qualifiers and type specifier before the declarator, then
    // the declarator's own text up to the name (the `*`s).
    let mut ret = String::new();
    let mut c = def.walk();
    for child in def.children(&mut c) {
        if child.id() == declarator.id() {
            break;
        }
        match child.kind() {
            "storage_class_specifier"
            | "attribute_specifier"
            | "ms_declspec_modifier"
            | "attribute_declaration"
            | "comment" => {}
            _ => {
                ret.push_str(&text(child, src));
                ret.push(' ');
            }
        }
    }
    // The declarator minus the function's own `name(params)`: the `*`s of a
    // pointer return, or `(*)(int)` for a function returning a function pointer.
    ret.push_str(&String::from_utf8_lossy(
        &src[declarator.start_byte()..fdecl.start_byte()],
    ));
    ret.push_str(&String::from_utf8_lossy(
        &src[fdecl.end_byte()..declarator.end_byte()],
    ));
    let return_type = normalise_type(&ret);
    let params = fdecl
        .child_by_field_name("parameters")
        .map(|p| parameters(p, src))
        .unwrap_or_default();
    Some(Signature {
        name,
        name_node_start: (
            name_node.start_position().row as u32 + 1,
            name_node.start_position().column as u32 + 1,
        ),
        return_type,
        params,
    })
}

fn parameters(list: Node, src: &[u8]) -> Vec<Param> {
    let mut out = Vec::new();
    let mut c = list.walk();
    let children: Vec<Node> = list.named_children(&mut c).collect();
    for p in children {
        match p.kind() {
            "parameter_declaration" => {
                let decl = p.child_by_field_name("declarator");
                let ident = decl.and_then(declared_identifier);
                if let Some(param) = decl.and_then(|d| parenthesised_function_name(p, d, src)) {
                    out.push(param);
                    continue;
                }
                let (name, ty) = match ident {
                    Some(id) => {
                        let mut t = String::from_utf8_lossy(&src[p.start_byte()..id.start_byte()])
                            .into_owned();
                        t.push_str(&String::from_utf8_lossy(&src[id.end_byte()..p.end_byte()]));
                        (text(id, src).into_owned(), normalise_type(&t))
                    }
                    None => (String::new(), normalise_type(&text(p, src))),
                };
                // `f(void)` declares no parameters.
                if name.is_empty() && ty == "void" && out.is_empty() {
                    continue;
                }
                let annotation = annotation(&name);
                out.push(Param {
                    name,
                    ty,
                    annotation,
                });
            }
            "variadic_parameter" => out.push(Param {
                name: "...".into(),
                ty: "...".into(),
                annotation: None,
            }),
            _ => {}
        }
    }
    out
}

/// `int (callback_fn)(void *map)`: the grammar cannot know `callback_fn` is
/// not a type and reads an abstract declarator. In a parameter a function type
/// is adjusted to a pointer, so this is `callback_fn` of type `int (*)(void *map)`.
fn parenthesised_function_name(p: Node, decl: Node, src: &[u8]) -> Option<Param> {
    if decl.kind() != "abstract_function_declarator" {
        return None;
    }
    let inner = decl.child_by_field_name("declarator")?;
    if inner.kind() != "abstract_function_declarator"
        || inner.child_by_field_name("declarator").is_some()
    {
        return None;
    }
    let list = inner.child_by_field_name("parameters")?;
    if list.named_child_count() != 1 {
        return None;
    }
    let only = list.named_child(0)?;
    if only.kind() != "parameter_declaration" || only.child_by_field_name("declarator").is_some() {
        return None;
    }
    let name_node = only.child_by_field_name("type")?;
    if name_node.kind() != "type_identifier" {
        return None;
    }
    let name = text(name_node, src).into_owned();
    let mut ty = String::from_utf8_lossy(&src[p.start_byte()..inner.start_byte()]).into_owned();
    ty.push_str("(*)");
    ty.push_str(&String::from_utf8_lossy(
        &src[inner.end_byte()..p.end_byte()],
    ));
    Some(Param {
        annotation: annotation(&name),
        name,
        ty: normalise_type(&ty),
    })
}

/// The annotation suffix of a parameter name: the longest known suffix, else
/// whatever follows the last `__` after the name's start.
pub(crate) fn annotation(name: &str) -> Option<String> {
    let known = conventions::ANNOTATIONS
        .iter()
        .map(|(s, _)| s)
        .filter(|s| name.len() > s.len() && name.ends_with(*s))
        .max_by_key(|s| s.len());
    if let Some(k) = known {
        return Some((*k).to_string());
    }
    let trimmed = name.trim_start_matches('_');
    let pos = trimmed.rfind("__")?;
    let suffix = &trimmed[pos..];
    if pos == 0 || suffix.len() <= 2 || suffix[2..].starts_with('_') {
        return None;
    }
    Some(suffix.to_string())
}

/// Collapses blanks, drops comments, and writes pointers as `T *`, `T **`,
/// `T *const`.
pub(crate) fn normalise_type(s: &str) -> String {
    let no_comments = super::cond::normalise_expr(s);
    let mut out = String::with_capacity(no_comments.len());
    let chars: Vec<char> = no_comments.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch == '*' {
            // one blank before a run of stars, none inside it
            while out.ends_with(' ') {
                out.pop();
            }
            if !out.is_empty() && !out.ends_with('*') && !out.ends_with('(') {
                out.push(' ');
            }
            out.push('*');
            i += 1;
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            continue;
        }
        let next_closes = chars
            .get(i + 1)
            .is_some_and(|c| matches!(*c, ')' | ',' | '[' | ']'));
        if ch == ' ' && (out.ends_with('(') || out.ends_with('[') || next_closes) {
            i += 1;
            continue;
        }
        out.push(ch);
        i += 1;
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations() {
        assert_eq!(annotation("data__sz").as_deref(), Some("__sz"));
        assert_eq!(annotation("buf__szk").as_deref(), Some("__szk"));
        assert_eq!(annotation("flags__irq_flag").as_deref(), Some("__irq_flag"));
        assert_eq!(annotation("aux__ign").as_deref(), Some("__ign"));
        assert_eq!(annotation("aux__magic").as_deref(), Some("__magic"));
        assert_eq!(annotation("meta__foo").as_deref(), Some("__foo"));
        assert_eq!(annotation("rdonly_buf_size"), None);
        assert_eq!(annotation("__sz"), None);
        assert_eq!(annotation("__x"), None);
        assert_eq!(annotation("x__"), None);
    }

    #[test]
    fn types() {
        assert_eq!(
            normalise_type("struct task_struct  * "),
            "struct task_struct *"
        );
        assert_eq!(normalise_type("const char*"), "const char *");
        assert_eq!(normalise_type("char * *"), "char **");
        assert_eq!(
            normalise_type("int (* )(void *a, int b)"),
            "int (*)(void *a, int b)"
        );
        assert_eq!(normalise_type("u8 [ 16 ]"), "u8[16]");
    }
}
