//! Function definitions: their signatures, `__bpf_kfunc`, and the comment
//! before them that documents them.

use crate::scan::file::cond::condition_of;
use crate::scan::file::ctype;
use crate::scan::file::queries::Queries;
use crate::scan::names;
use crate::scan::records::{FileRecords, RawFunction};
use tree_sitter::Node;

fn has_word(hay: &[u8], word: &[u8]) -> bool {
    let mut from = 0;
    while let Some(p) = memchr::memmem::find(&hay[from..], word) {
        let s = from + p;
        let e = s + word.len();
        let before_ok = s == 0 || !(hay[s - 1].is_ascii_alphanumeric() || hay[s - 1] == b'_');
        let after_ok = e >= hay.len() || !(hay[e].is_ascii_alphanumeric() || hay[e] == b'_');
        if before_ok && after_ok {
            return true;
        }
        from = e;
    }
    false
}

pub(super) fn functions(
    root: Node,
    original: &[u8],
    masked: &[u8],
    q: &Queries,
    rec: &mut FileRecords,
) {
    let fq = &q.functions;
    fq.for_each_in(root, masked, None, |caps| {
        let (Some(def), Some(decl)) = (caps.get(fq.function), caps.get(fq.declarator)) else {
            return;
        };
        let Some(sig) = ctype::signature(def, decl, masked) else {
            return;
        };
        // `__bpf_kfunc` was masked away; look for it in the original between
        // the previous item and the declarator.
        let from = def
            .prev_sibling()
            .map_or(0, |p| p.end_byte())
            .min(def.start_byte());
        let attr = has_word(
            &original[from..decl.start_byte()],
            names::BPF_KFUNC_ATTR.as_bytes(),
        );
        let doc = def.prev_named_sibling().and_then(|c| {
            let gap = &masked[c.end_byte()..def.start_byte()];
            let comment = &original[c.byte_range()];
            let is_doc = c.kind() == "comment"
                && (comment.starts_with(b"/**") || names_itself(comment, &sig.name))
                && gap.iter().all(|b| b.is_ascii_whitespace());
            is_doc.then(|| String::from_utf8_lossy(comment).into_owned())
        });
        rec.functions.push(RawFunction {
            name: sig.name,
            line: sig.name_node_start.0,
            col: sig.name_node_start.1,
            bpf_kfunc_attr: attr,
            return_type: sig.return_type,
            params: sig.params,
            doc,
            condition: condition_of(def, masked),
        });
    });
}

/// A plain `/* name - summary` (or `name: summary`) comment, kernel-doc in all but its opening
/// `/**` (the kernel has a few dozen above kfuncs: `bpf_sock_destroy`, the
/// `bpf_ct_*`, fou's and xfrm's).
fn names_itself(comment: &[u8], name: &str) -> bool {
    let Some(body) = comment.strip_prefix(b"/*") else {
        return false;
    };
    let first = body
        .split(|&b| b == b'\n')
        .map(|l| {
            let l = l.trim_ascii();
            let stars = l.iter().take_while(|&&b| b == b'*').count();
            l[stars..].trim_ascii()
        })
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let Some(rest) = first.strip_prefix(name.as_bytes()) else {
        return false;
    };
    let rest = rest.strip_prefix(b"()").unwrap_or(rest);
    let dash = rest.trim_ascii_start();
    dash.starts_with(b"- ") || dash == b"-" || rest.starts_with(b": ")
}

#[cfg(test)]
mod tests {
    use super::names_itself;

    #[test]
    fn plain_comments_naming_the_function_are_its_doc() {
        let yes: [(&[u8], &str); 4] = [
            (
                b"/* bpf_ct_release - Release acquired nf_conn object\n */",
                "bpf_ct_release",
            ),
            (
                b"/* bpf_sock_destroy: Destroy the given socket */",
                "bpf_sock_destroy",
            ),
            (b"/*\n * bpf_x() - Does x\n */", "bpf_x"),
            (b"/* bpf_x -\n * long text */", "bpf_x"),
        ];
        for (comment, name) in yes {
            assert!(names_itself(comment, name), "{name}");
        }
        assert!(!names_itself(
            b"/* bpf_ct_release_all - other */",
            "bpf_ct_release"
        ));
        assert!(!names_itself(b"/* Not kernel-doc: a comment */", "bpf_x"));
        assert!(!names_itself(b"// bpf_x - line comment", "bpf_x"));
    }
}
