//! The decl tags pahole 1.26+ writes: `bpf_kfunc` on every member of a
//! kfuncs set, `bpf_fastcall` on KF_FASTCALL ones.

use super::index::Tag;
use super::plan::{Append, Planner};
use super::TagAdded;
use crate::conventions::{FLAG_FASTCALL, TAG_FASTCALL, TAG_KFUNC};
use crate::manifest::Kfunc;

impl<'a> Planner<'a> {
    /// `bpf_kfunc` (and `bpf_fastcall` for KF_FASTCALL) on `func_id`, each
    /// unless it is there.
    pub(super) fn plan_tags(&mut self, k: &Kfunc, func_id: u32) {
        let mut want = vec![TAG_KFUNC];
        if k.flags.iter().any(|f| f == FLAG_FASTCALL) {
            want.push(TAG_FASTCALL);
        }
        for tag in want {
            let has = self
                .tags
                .get(&func_id)
                .is_some_and(|ts| ts.iter().any(|t| t.name == tag && t.component_idx == -1));
            if has {
                continue;
            }
            let name = self.string(tag);
            let id = self.append(Append::Tag {
                name: name.clone(),
                target: func_id,
                component_idx: -1,
                kflag: false,
            });
            self.tags.entry(func_id).or_default().push(Tag {
                name: tag.to_string(),
                component_idx: -1,
                kflag: false,
                name_str: name,
            });
            self.report.decl_tags_added.push(TagAdded {
                tag: tag.to_string(),
                target: k.name.clone(),
                target_id: func_id,
                id,
            });
        }
    }
}
