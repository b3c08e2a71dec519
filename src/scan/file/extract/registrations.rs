//! Registrations: `register_btf_kfunc_id_set(PROG_TYPE, &id_set)` calls.

use super::{address_target, scope};
use crate::conventions;
use crate::manifest::{Diagnostic, Severity};
use crate::scan::file::cond::condition_of;
use crate::scan::file::parse::{pos, text};
use crate::scan::file::queries::Queries;
use crate::scan::records::{FileRecords, RawRegistration};
use tree_sitter::Node;

pub(super) fn registrations(root: Node, src: &[u8], q: &Queries, rec: &mut FileRecords) {
    let rq = &q.registrations;
    let path = rec.path.clone();
    let Some(within) = scope(rq.embedded, src, &["register_btf_"]) else {
        return;
    };
    rq.for_each_in(root, src, within, |caps| {
        let (Some(f), Some(args)) = (caps.get(rq.register_fn), caps.get(rq.register_args)) else {
            return;
        };
        let call = f.parent().unwrap_or(f);
        let (line, col) = pos(call);
        let mut c = args.walk();
        let named: Vec<Node> = args
            .named_children(&mut c)
            .filter(|n| n.kind() != "comment")
            .collect();
        // register_btf_fmodret_id_set(&set): no program type argument
        let fmodret = text(f, src).contains(conventions::FMODRET);
        let (prog_type, set_arg) = if fmodret {
            (conventions::FMODRET.to_string(), named.first().copied())
        } else {
            (
                named
                    .first()
                    .map(|n| text(*n, src).into_owned())
                    .unwrap_or_default(),
                named.get(1).copied(),
            )
        };
        let Some(set_arg) = set_arg else {
            // The prototype in include/linux/btf.h and the definition in
            // kernel/bpf/btf.c are declarations, not calls; a call with too
            // few arguments is worth a word.
            rec.diagnostics.push(Diagnostic::new(
                Severity::Warning,
                "malformed-registration",
                &path,
                line,
                col,
                format!("cannot read `{}`", text(call, src).replace('\n', " ")),
            ));
            return;
        };
        let id_set = address_target(set_arg, src);
        rec.registrations.push(RawRegistration {
            prog_type,
            id_set,
            line,
            col,
            condition: condition_of(call, src),
        });
    });
}
