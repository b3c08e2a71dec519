//! Types as the verifier presents them, on the real trees: Debian 6.1
//! declares bpf_verify_pkcs7_signature with `struct bpf_dynptr_kern *`,
//! 6.12 with `struct bpf_dynptr *`; BPF programs pass their `struct
//! bpf_dynptr *` to both, so the 6.1 → 6.12 diff must not call it breaking
//! and the 6.1 header must not give programs the kernel's type.

use crate::common;
use common::*;

#[test]
fn pkcs7_signature_change_6_1_to_6_12_is_a_rename_only() {
    let Some(mo) = manifest_61() else {
        return;
    };
    let Some(mn) = manifest_612() else {
        return;
    };
    // both trees scan clean (exit 0: no error diagnostic)
    for m in [&mo, &mn] {
        assert_eq!(read_manifest(m).error_count(), 0, "{}", m.display());
    }
    let j = json(&cmd(["diff", "--json"]).arg(&mo).arg(&mn).expect(0).0);
    let pkcs7 = j["changed"]
        .as_array()
        .expect("changed")
        .iter()
        .find(|c| c["name"] == "bpf_verify_pkcs7_signature")
        .expect("bpf_verify_pkcs7_signature changed (program types, names)");
    let proto = pkcs7["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["kind"] == "prototype")
        .expect("the parameter renames");
    assert_eq!(proto["breaking"], false, "{proto}");
    assert_eq!(
        proto["what"],
        "parameter 0 renamed data_ptr → data_p; parameter 1 renamed sig_ptr → sig_p"
    );
    let h = cmd(["header", "--manifest"]).arg(&mo).expect(0).stdout();
    assert!(
        h.contains("extern int bpf_verify_pkcs7_signature(struct bpf_dynptr *data_ptr, struct bpf_dynptr *sig_ptr, struct bpf_key *trusted_keyring) __ksym __weak;"),
        "{h}"
    );
    assert!(!h.contains("bpf_dynptr_kern"));
}
