//! The pages use the parsed comment: the index's summary is the first
//! sentence of the short description (not its first line), parameters get
//! their @param text, Return: its own section; a plain `/* name - text */`
//! comment is read the same way.

use crate::manifest_fixture;
use kfunc_scan::docs::markdown;
use manifest_fixture::*;

#[test]
fn pages_use_the_parsed_comment() {
    let mut a = kfunc("bpf_cgroup_acquire");
    a.params = vec![param("struct cgroup *", "cgrp")];
    a.doc = Some(
        "/**\n * bpf_cgroup_acquire - Acquire a reference to a cgroup. A cgroup acquired by\n * this kfunc must be released.\n * @cgrp: The cgroup on which a reference is being\n *        acquired.\n *\n * Return: The cgroup, or NULL.\n */"
            .into(),
    );
    let mut b = kfunc("bpf_plain");
    b.doc = Some("/* bpf_plain - Says hello | twice. Then more */".into());
    let m = Fx::new()
        .set(
            "s",
            &["BPF_PROG_TYPE_TRACING"],
            &[("bpf_cgroup_acquire", &[]), ("bpf_plain", &[])],
        )
        .def(a)
        .def(b)
        .build();
    let pages = markdown(&m, None);
    let index = &pages["index.md"];
    assert!(index.contains("| [bpf_cgroup_acquire](kfuncs/bpf_cgroup_acquire.md) | Acquire a reference to a cgroup. |\n"), "{index}");
    assert!(
        index.contains("| [bpf_plain](kfuncs/bpf_plain.md) | Says hello \\| twice. |\n"),
        "{index}"
    );
    let page = &pages["kfuncs/bpf_cgroup_acquire.md"];
    assert!(
        page.contains(
            "Acquire a reference to a cgroup. A cgroup acquired by this kfunc must be released.\n"
        ),
        "{page}"
    );
    assert!(
        page.contains(
            "| `cgrp` | `struct cgroup *` | The cgroup on which a reference is being acquired. |"
        ),
        "{page}"
    );
    assert!(
        page.contains("## Returns\n\nThe cgroup, or NULL.\n"),
        "{page}"
    );
    assert!(!page.contains("## Description"), "no body: {page}");
}

/// The comment as text: its markers gone, the blank line inside kept, the
/// blank lines at its ends dropped.
#[test]
fn doc_text_is_the_comment_without_its_markers() {
    let doc = "/**\n * bpf_task_from_pid - Find a struct task_struct from its pid\n * @pid: The pid\n *\n * Return: the task\n *\n */";
    assert_eq!(
        kfunc_scan::docs::doc_text(doc),
        "bpf_task_from_pid - Find a struct task_struct from its pid\n@pid: The pid\n\nReturn: the task"
    );
}

/// With a source URL, each kfunc page links its definition there.
#[test]
fn definitions_link_to_the_source_url() {
    let m = Fx::new()
        .set("s", &["BPF_PROG_TYPE_TRACING"], &[("bpf_a", &[])])
        .def(kfunc("bpf_a"))
        .build();
    let page = &markdown(&m, Some("https://example.org/linux/"))["kfuncs/bpf_a.md"];
    assert!(
        page.contains(
            "Defined at [kernel/bpf/helpers.c:10](https://example.org/linux/kernel/bpf/helpers.c#L10)"
        ),
        "{page}"
    );
    let page = &markdown(&m, None)["kfuncs/bpf_a.md"];
    assert!(
        page.contains("Defined at `kernel/bpf/helpers.c:10`"),
        "{page}"
    );
}
