//! The BTF reader on malformed input: every case is a clear error, never a
//! panic. Blobs are built with the crate's writer, then damaged.

use kfunc_scan::btf::{Btf, Endian, Kind, NewType, ReadError};

fn int_type(b: &mut Btf) -> u32 {
    let name = b.add_string("int").unwrap();
    b.add_type(&NewType::int(name, 4, true)).unwrap()
}

/// int; const int; int f(int a); and a decl tag on f.
fn good() -> Vec<u8> {
    let mut b = Btf::empty(Endian::Little);
    let int = int_type(&mut b);
    b.add_type(&NewType::const_(int)).unwrap();
    let a = b.add_string("a").unwrap();
    let proto = b.add_type(&NewType::func_proto(int, &[(a, int)])).unwrap();
    let f = b.add_string("f").unwrap();
    let func = b.add_type(&NewType::func(f, 1, proto)).unwrap();
    let tag = b.add_string("bpf_kfunc").unwrap();
    b.add_type(&NewType::decl_tag(tag, func, -1, false))
        .unwrap();
    b.to_bytes()
}

fn err(bytes: &[u8]) -> ReadError {
    match Btf::parse(bytes, None) {
        Ok(_) => panic!("accepted a malformed blob"),
        Err(e) => e,
    }
}

fn put(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

const HDR: usize = 24;

#[test]
fn the_good_blob_is_good() {
    let b = Btf::parse(&good(), None).unwrap();
    assert_eq!(b.end_id(), 6);
}

#[test]
fn truncated_anywhere() {
    let g = good();
    for cut in 0..g.len() {
        assert!(Btf::parse(&g[..cut], None).is_err(), "cut at {cut}");
    }
    assert_eq!(err(&g[..10]), ReadError::TooShort { len: 10 });
}

#[test]
fn bad_magic_and_version() {
    let mut g = good();
    g[0] = 0;
    assert_eq!(err(&g), ReadError::BadMagic);
    let mut g = good();
    g[2] = 2;
    assert_eq!(err(&g), ReadError::BadVersion(2));
}

#[test]
fn sections_out_of_bounds() {
    let mut g = good();
    put(&mut g, 20, 1 << 30); // str_len
    assert!(matches!(
        err(&g),
        ReadError::SectionOutOfBounds { what: "string", .. }
    ));
    let mut g = good();
    put(&mut g, 8, 2); // type_off misaligned (the section still fits)
    assert_eq!(
        err(&g),
        ReadError::Misaligned {
            what: "type section offset",
            value: 2
        }
    );
    let mut g = good();
    let type_len = u32::from_le_bytes(g[12..16].try_into().unwrap());
    put(&mut g, 16, type_len - 4); // the strings start inside the types
    assert_eq!(err(&g), ReadError::Overlap);
    let mut g = good();
    put(&mut g, 4, 1000); // hdr_len past the end
    assert!(matches!(err(&g), ReadError::BadHeaderLen { .. }));
}

#[test]
fn string_offset_out_of_range() {
    let mut g = good();
    put(&mut g, HDR, 9999); // name_off of type [1]
    assert!(matches!(err(&g), ReadError::StringOutOfRange { id: 1, .. }));
}

#[test]
fn type_id_out_of_range() {
    let mut g = good();
    put(&mut g, HDR + 16 + 8, 77); // CONST [2] → [77]
    assert_eq!(err(&g), ReadError::TypeIdOutOfRange { id: 77, at: 2 });
}

#[test]
fn reference_cycle() {
    let mut g = good();
    put(&mut g, HDR + 16 + 8, 2); // CONST [2] → itself
    assert_eq!(err(&g), ReadError::Cycle { id: 2 });
}

#[test]
fn unknown_kind_and_bad_decl_tag() {
    let mut g = good();
    put(&mut g, HDR + 4, 31 << 24); // kind 31
    assert!(matches!(
        err(&g),
        ReadError::UnknownKind {
            id: 1,
            kind: 31,
            ..
        }
    ));
    // the decl tag [5] is the last record: its component index is the last word
    let mut g = good();
    let type_len = u32::from_le_bytes(g[12..16].try_into().unwrap()) as usize;
    put(&mut g, HDR + type_len - 4, 3); // f has one parameter
    assert!(matches!(err(&g), ReadError::BadComponent { idx: 3, .. }));
}

#[test]
fn func_must_point_at_a_prototype() {
    let mut b = Btf::empty(Endian::Little);
    let int = int_type(&mut b);
    let f = b.add_string("f").unwrap();
    b.add_type(&NewType::func(f, 1, int)).unwrap();
    assert!(matches!(
        err(&b.to_bytes()),
        ReadError::WrongTarget { at: 2, .. }
    ));
}

#[test]
fn big_endian_round_trip_and_mixed_endian_split_refused() {
    let mut b = Btf::empty(Endian::Big);
    int_type(&mut b);
    let bytes = b.to_bytes();
    assert_eq!(&bytes[..2], &[0xeb, 0x9f]);
    let back = Btf::parse(&bytes, None).unwrap();
    assert_eq!(back.to_bytes(), bytes);
    let base = Btf::parse(&good(), None).unwrap();
    let mut split = Btf::empty(Endian::Big);
    int_type(&mut split);
    assert_eq!(
        Btf::parse(&split.to_bytes(), Some(base)).err(),
        Some(ReadError::BaseEndian)
    );
}

fn modifier(kind: Kind, to: u32) -> NewType {
    match kind {
        Kind::Ptr => NewType::ptr(to),
        Kind::Const => NewType::const_(to),
        Kind::Volatile => NewType::volatile(to),
        Kind::Typedef => NewType::typedef(NAMED, to),
        _ => unreachable!("not a modifier here: {kind:?}"),
    }
}

/// The string offset of "t", the name of the typedefs and FUNCs of
/// `with_types` (the kernel wants one): after "\0int\0".
const NAMED: u32 = 5;

/// Types [2].. as given after an int [1]; the reader's verdict.
fn with_types(types: &[NewType]) -> Result<Btf, ReadError> {
    let mut b = Btf::empty(Endian::Little);
    int_type(&mut b);
    assert_eq!(b.add_string("t"), Ok(NAMED));
    for t in types {
        b.add_type(t).unwrap();
    }
    Btf::parse(&b.to_bytes(), None)
}

#[test]
fn reference_chains_forward_and_back() {
    use Kind::*;
    // [2] → [3] → [4] → int: references to later types, no cycle
    assert!(with_types(&[modifier(Ptr, 3), modifier(Typedef, 4), modifier(Const, 1)]).is_ok());
    // [2] → [3] → [2]
    assert_eq!(
        with_types(&[modifier(Typedef, 3), modifier(Const, 2)]).unwrap_err(),
        ReadError::Cycle { id: 2 }
    );
    // [2] → [5] → [4] → [3] → [2], entered at its only forward edge
    assert_eq!(
        with_types(&[
            modifier(Ptr, 5),
            modifier(Const, 2),
            modifier(Volatile, 3),
            modifier(Typedef, 4)
        ])
        .unwrap_err(),
        ReadError::Cycle { id: 2 }
    );
    // an acyclic type that leads into a cycle later in the section: [2] → [3] ⇄ [4]
    assert_eq!(
        with_types(&[
            modifier(Const, 3),
            modifier(Typedef, 4),
            modifier(Volatile, 3)
        ])
        .unwrap_err(),
        ReadError::Cycle { id: 3 }
    );
    // a struct breaks the chain: struct s { struct s *next; } is fine
    let next = NewType::struct_(0, 8, &[(0, 3, 0)]);
    assert!(with_types(&[next, modifier(Ptr, 2)]).is_ok());
}

#[test]
fn func_target_checked_before_and_after_it() {
    // [2] FUNC → [3], which comes later: a prototype is fine, a pointer is not
    let proto = NewType::func_proto(1, &[]);
    assert!(with_types(&[NewType::func(NAMED, 1, 3), proto.clone()]).is_ok());
    assert!(with_types(&[proto, NewType::func(NAMED, 1, 2)]).is_ok());
    assert!(matches!(
        with_types(&[NewType::func(NAMED, 1, 3), modifier(Kind::Ptr, 1)]),
        Err(ReadError::WrongTarget { at: 2, id: 3, .. })
    ));
    assert!(matches!(
        with_types(&[NewType::func(NAMED, 1, 0)]),
        Err(ReadError::WrongTarget { at: 2, id: 0, .. })
    ));
}

/// A split BTF with one type, `int myint`, built on `base`.
fn split_on(base: &Btf) -> Vec<u8> {
    let mut s = Btf::empty_split(base.clone());
    let name = s.add_string("myint").unwrap();
    s.add_type(&NewType::int(name, 4, true)).unwrap();
    s.to_bytes()
}

#[test]
fn split_btf_needs_its_own_base() {
    let base = Btf::parse(&good(), None).unwrap();
    let split = split_on(&base);
    let back = Btf::parse(&split, Some(base.clone())).unwrap();
    assert_eq!(back.first_id(), base.end_id());
    assert_eq!(back.to_bytes(), split);
    // without its base it says what it looks like
    assert_eq!(err(&split), ReadError::LooksSplit);
    assert!(ReadError::LooksSplit
        .to_string()
        .contains("looks like split BTF"));
    // a base given for a BTF that is not split
    assert_eq!(
        Btf::parse(&good(), Some(base.clone())).err(),
        Some(ReadError::NotSplit)
    );
    // on a base of other strings the name falls inside one
    let mut other = Btf::empty(Endian::Little);
    let n = other.add_string("a_longer_name").unwrap();
    other.add_type(&NewType::int(n, 4, true)).unwrap();
    let other = Btf::parse(&other.to_bytes(), None).unwrap();
    let e = Btf::parse(&split, Some(other)).unwrap_err();
    assert!(
        matches!(&e, ReadError::WrongBase(inner) if matches!(**inner, ReadError::NameInsideString { id: 2, .. })),
        "{e:?}"
    );
    assert!(
        e.to_string().starts_with("the base BTF does not match"),
        "{e}"
    );
    // and on a base with fewer strings, past their end
    let mut short = Btf::empty(Endian::Little);
    short.add_type(&NewType::int(0, 4, true)).unwrap();
    let short = Btf::parse(&short.to_bytes(), None).unwrap();
    let e = Btf::parse(&split, Some(short)).unwrap_err();
    assert!(
        matches!(&e, ReadError::WrongBase(inner) if matches!(**inner, ReadError::StringOutOfRange { id: 2, .. })),
        "{e:?}"
    );
}
