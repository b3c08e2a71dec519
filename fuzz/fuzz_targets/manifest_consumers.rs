//! A manifest, untrusted input, through the reader and every consumer: no
//! panic; the docs write nothing outside their directory; the header holds
//! no directive but its own; a manifest differs from itself in nothing.
#![no_main]
use kfunc_scan::manifest::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(m) = Manifest::from_json(text) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let site = dir.path().join("site");
    let pages = kfunc_scan::docs::markdown(&m, Some("https://example.org/linux/"));
    let _ = kfunc_scan::docs::write_pages(&site, &pages);
    for e in std::fs::read_dir(dir.path()).expect("read_dir") {
        assert_eq!(e.expect("entry").path(), site, "a file outside the output directory");
    }
    let _ = kfunc_scan::docs::ebpf_docs_yaml(&m);
    for with_selftests in [false, true] {
        let opts = kfunc_scan::header::HeaderOptions { with_selftests };
        let h = kfunc_scan::header::header(&m, &opts);
        for l in h.lines().filter(|l| l.trim_start().starts_with('#')) {
            assert!(
                kfunc_scan::header::OWN_DIRECTIVES.iter().any(|d| l.starts_with(d)),
                "a directive of the manifest's: {l}"
            );
        }
        let d = kfunc_scan::diff::diff(&m, &m, with_selftests);
        assert!(d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty());
        let _ = kfunc_scan::diff::report(&kfunc_scan::diff::diff(&Manifest::default(), &m, with_selftests));
    }
});
