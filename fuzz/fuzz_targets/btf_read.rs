//! The BTF reader on arbitrary bytes: never panics; what it accepts, it
//! writes back in a form it reads again to the same bytes; a split read on
//! top of a small base behaves the same; strings found while reading are
//! those a search after reading finds.
#![no_main]
use kfunc_scan::btf::{Blob, Btf, Endian, NewType};
use libfuzzer_sys::fuzz_target;

fn base() -> Btf {
    let mut b = Btf::empty(Endian::Little);
    let name = b.add_string("int").unwrap();
    let _ = b.add_type(&NewType::int(name, 4, true));
    Btf::parse(&b.to_bytes(), None).expect("base")
}

fuzz_target!(|data: &[u8]| {
    if let Ok(btf) = Btf::parse(data, None) {
        let out = btf.to_bytes();
        let again = Btf::parse(&out, None).expect("re-read what we wrote");
        assert_eq!(again.to_bytes(), out);
        for t in btf.own_types() {
            let _ = btf.name(&t);
        }
    }
    let wanted = ["int", "a", "bpf_kfunc"];
    if let Ok((btf, found)) =
        Btf::parse_blob_beside(Blob::Owned(data.to_vec()), None, |s| s.find(&wanted))
    {
        assert_eq!(found, btf.string_offsets(&wanted));
    }
    if let Ok(split) = Btf::parse(data, Some(base())) {
        let out = split.to_bytes();
        let again = Btf::parse(&out, Some(base())).expect("re-read split");
        assert_eq!(again.to_bytes(), out);
    }
});
