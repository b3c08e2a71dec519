//! The append-only writer's refusals (a refused edit changes nothing) and
//! the record accessors.

use kfunc_scan_btf::{Btf, EditError, Endian, Kind, Linkage, NewType, ReadError};

/// int; int f(int a) with global linkage.
fn small() -> (Btf, u32, u32) {
    let mut b = Btf::empty(Endian::Little);
    let int_name = b.add_string("int").unwrap();
    let int = b.add_type(&NewType::int(int_name, 4, true)).unwrap();
    let a = b.add_string("a").unwrap();
    let proto = b.add_type(&NewType::func_proto(int, &[(a, int)])).unwrap();
    let f = b.add_string("f").unwrap();
    let func = b.add_type(&NewType::func(f, 1, proto)).unwrap();
    (b, proto, func)
}

#[test]
fn a_func_with_an_unknown_linkage_is_refused_and_nothing_appended() {
    let (mut b, proto, _) = small();
    let (end, bytes) = (b.end_id(), b.to_bytes());
    for linkage in [0, 1, 2] {
        let mut c = b.clone();
        assert!(c.add_type(&NewType::func(0, linkage, proto)).is_ok());
    }
    assert_eq!(
        b.add_type(&NewType::func(0, 3, proto)),
        Err(EditError::BadLinkage(3))
    );
    assert_eq!(
        b.add_type(&NewType::func(0, 0xffff, proto)),
        Err(EditError::BadLinkage(0xffff))
    );
    assert_eq!(b.end_id(), end);
    assert_eq!(b.to_bytes(), bytes);
}

#[test]
fn a_string_with_a_nul_inside_is_refused_and_nothing_appended() {
    let (mut b, _, _) = small();
    let bytes = b.to_bytes();
    assert_eq!(
        b.add_string("bpf_\0kfunc"),
        Err(EditError::NulInString("bpf_\0kfunc".into()))
    );
    assert_eq!(b.to_bytes(), bytes);
    // the empty string is offset 0; a string added twice is stored once
    assert_eq!(b.add_string(""), Ok(0));
    let x = b.add_string("x").unwrap();
    assert_eq!(b.add_string("x"), Ok(x));
    assert_eq!(b.str_at(x), Some(&b"x"[..]));
}

#[test]
fn only_own_funcs_are_repointed() {
    let (mut b, proto, func) = small();
    assert_eq!(
        b.repoint_func(proto, 1),
        Err(EditError::NotEditable { id: proto })
    );
    assert_eq!(
        b.repoint_func(99, 1),
        Err(EditError::NotEditable { id: 99 })
    );
    let other = b.add_type(&NewType::func_proto(0, &[])).unwrap();
    b.repoint_func(func, other).unwrap();
    assert_eq!(b.get(func).unwrap().target(), Some(other));
}

#[test]
fn the_reader_refuses_a_func_with_an_unknown_linkage() {
    let (b, _, func) = small();
    let mut bytes = b.to_bytes();
    // FUNC [3]'s info word: the third record (INT 16 bytes, FUNC_PROTO 20)
    let at = 24 + 16 + 20 + 4;
    let info = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(info, (12 << 24) | 1, "FUNC, global");
    bytes[at..at + 4].copy_from_slice(&((12u32 << 24) | 7).to_le_bytes());
    assert_eq!(
        Btf::parse(&bytes, None).err(),
        Some(ReadError::BadLinkage {
            id: func,
            linkage: 7
        })
    );
}

#[test]
fn accessors_name_what_each_field_means() {
    let (b, proto, func) = small();
    let f = b.get(func).unwrap();
    assert_eq!(f.kind(), Kind::Func);
    assert_eq!(f.linkage(), Some(Linkage::Global));
    assert_eq!(f.target(), Some(proto));
    assert_eq!((f.vlen(), f.size(), f.return_type()), (0, None, None));
    assert_eq!(b.name(&f), "f");
    let p = b.get(proto).unwrap();
    assert_eq!((p.vlen(), p.return_type(), p.target()), (1, Some(1), None));
    let params: Vec<(u32, u32)> = p.params().collect();
    assert_eq!(params.len(), 1);
    assert_eq!((b.str_at(params[0].0), params[0].1), (Some(&b"a"[..]), 1));
    assert_eq!(f.params().count(), 0, "a FUNC has no parameters of its own");
    let int = b.get(1).unwrap();
    assert_eq!(
        (int.size(), int.target(), int.linkage()),
        (Some(4), None, None)
    );
    assert_eq!(int.component_idx(), None);
}

/// A type attribute is a TYPE_TAG with its kind flag set: the record reads
/// back with the flag, its name and its target (`PTR → TYPE_TAG → int`).
#[test]
fn a_type_attribute_reads_back_with_its_kind_flag() {
    let (mut b, _, _) = small();
    let name = b.add_string("address_space(1)").unwrap();
    let attr = b.add_type(&NewType::type_tag(name, 1, true)).unwrap();
    let tag = b.add_type(&NewType::type_tag(name, 1, false)).unwrap();
    let ptr = b.add_type(&NewType::ptr(attr)).unwrap();
    let back = Btf::parse(&b.to_bytes(), None).unwrap();
    let a = back.get(attr).unwrap();
    assert_eq!(
        (a.kind(), a.kflag(), a.target()),
        (Kind::TypeTag, true, Some(1))
    );
    assert_eq!(back.name(&a), "address_space(1)");
    assert!(!back.get(tag).unwrap().kflag());
    assert_eq!(back.get(ptr).unwrap().target(), Some(attr));
}
