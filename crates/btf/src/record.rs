//! One type record: as read (`TypeRef`, fields decoded on demand behind
//! accessors named for what they mean) and to append (`NewType`, built only
//! through constructors, so that its raw words are always those of a record
//! of its kind).

use super::{Endian, Kind};

/// A FUNC's linkage: the only values the kernel accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Linkage {
    /// `static`: not visible outside its object.
    Static = 0,
    /// Defined here, visible outside.
    Global = 1,
    /// Declared here, defined elsewhere.
    Extern = 2,
}

impl Linkage {
    /// The linkage a record's raw value means; None for any other value.
    pub fn from_raw(v: u32) -> Option<Linkage> {
        match v {
            0 => Some(Linkage::Static),
            1 => Some(Linkage::Global),
            2 => Some(Linkage::Extern),
            _ => None,
        }
    }

    /// The value a record holds.
    pub fn raw(self) -> u16 {
        self as u16
    }
}

/// One type record, decoded.
#[derive(Debug, Clone, Copy)]
pub struct TypeRef<'a> {
    pub(crate) id: u32,
    pub(crate) kind: Kind,
    pub(crate) name_off: u32,
    /// The raw `vlen` bits of `info` (a FUNC keeps its linkage there).
    pub(crate) vlen: u16,
    pub(crate) kflag: bool,
    /// `size` or `type`, by kind.
    pub(crate) size_or_type: u32,
    /// The kind-specific words after the common 12 bytes.
    pub(crate) extra: &'a [u8],
    pub(crate) endian: Endian,
}

impl<'a> TypeRef<'a> {
    /// Its type ID.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Its kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The offset of its name in the string sections (0: anonymous).
    pub fn name_off(&self) -> u32 {
        self.name_off
    }

    /// The kind flag: a FWD of a union, a bitfield struct's member
    /// offsets, a decl or type tag that is an attribute, a signed enum.
    pub fn kflag(&self) -> bool {
        self.kflag
    }

    /// How many members, enumerators, parameters or variables follow (0
    /// for the kinds that have none: a FUNC's linkage is `linkage()`).
    pub fn vlen(&self) -> u16 {
        if self.kind.has_members() {
            self.vlen
        } else {
            0
        }
    }

    /// Its size in bytes, for the kinds that have one (INT, STRUCT, UNION,
    /// ENUM, ENUM64, DATASEC, FLOAT).
    pub fn size(&self) -> Option<u32> {
        self.kind.sized().then_some(self.size_or_type)
    }

    /// The type it refers to, for modifiers, pointers, typedefs, FUNCs (their
    /// prototype), VARs and tags.
    pub fn target(&self) -> Option<u32> {
        self.kind.refers().then_some(self.size_or_type)
    }

    /// A FUNC_PROTO's return type (0: void).
    pub fn return_type(&self) -> Option<u32> {
        (self.kind == Kind::FuncProto).then_some(self.size_or_type)
    }

    /// A FUNC's linkage (the reader refuses a FUNC whose value is not one).
    pub fn linkage(&self) -> Option<Linkage> {
        if self.kind == Kind::Func {
            Linkage::from_raw(u32::from(self.vlen))
        } else {
            None
        }
    }

    /// The i-th u32 of the kind-specific data.
    pub(crate) fn word(&self, i: usize) -> u32 {
        self.endian.u32(&self.extra[i * 4..i * 4 + 4])
    }

    /// A FUNC_PROTO's parameters as (name_off, type); none for other kinds.
    pub fn params(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let n = if self.kind == Kind::FuncProto {
            usize::from(self.vlen)
        } else {
            0
        };
        (0..n).map(|i| (self.word(2 * i), self.word(2 * i + 1)))
    }

    /// A DECL_TAG's component index (-1: the whole declaration).
    #[allow(
        clippy::cast_possible_wrap,
        reason = "BTF keeps the index as the bits of an i32 (-1 is 0xffffffff)"
    )]
    pub fn component_idx(&self) -> Option<i32> {
        (self.kind == Kind::DeclTag).then(|| self.word(0) as i32)
    }

    /// A STRUCT's or UNION's members, in order; none for other kinds.
    pub fn members(&self) -> impl Iterator<Item = Member> + '_ {
        let n = if matches!(self.kind, Kind::Struct | Kind::Union) {
            usize::from(self.vlen)
        } else {
            0
        };
        (0..n).map(|i| {
            let off = self.word(3 * i + 2);
            // with the kind flag, the top 8 bits are a bitfield's size
            let (bit_offset, bitfield_size) = if self.kflag {
                (off & 0x00ff_ffff, (off >> 24) as u8)
            } else {
                (off, 0)
            };
            Member {
                name_off: self.word(3 * i),
                type_id: self.word(3 * i + 1),
                bit_offset,
                bitfield_size,
            }
        })
    }

    /// An ENUM's or ENUM64's enumerators as (name offset, value), the value
    /// read as the kind flag says (signed or unsigned, 32 or 64 bits); none
    /// for other kinds.
    #[allow(
        clippy::cast_possible_wrap,
        reason = "a signed enumerator is kept as the bits of an i32 or i64"
    )]
    pub fn enumerators(&self) -> impl Iterator<Item = (u32, i128)> + '_ {
        let (n, words) = match self.kind {
            Kind::Enum => (usize::from(self.vlen), 2),
            Kind::Enum64 => (usize::from(self.vlen), 3),
            _ => (0, 2),
        };
        let signed = self.kflag;
        (0..n).map(move |i| {
            let name = self.word(words * i);
            let lo = self.word(words * i + 1);
            let value = if words == 2 {
                if signed {
                    i128::from(lo as i32)
                } else {
                    i128::from(lo)
                }
            } else {
                let v = (u64::from(self.word(words * i + 2)) << 32) | u64::from(lo);
                if signed {
                    i128::from(v as i64)
                } else {
                    i128::from(v)
                }
            };
            (name, value)
        })
    }

    /// An ARRAY's element type, index type and element count.
    pub fn array(&self) -> Option<Array> {
        (self.kind == Kind::Array).then(|| Array {
            elem: self.word(0),
            index: self.word(1),
            nelems: self.word(2),
        })
    }
}

/// One member of a STRUCT or UNION (`TypeRef::members`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Its name's string offset (0: anonymous).
    pub name_off: u32,
    /// Its type.
    pub type_id: u32,
    /// From the start of the struct, in bits.
    pub bit_offset: u32,
    /// A bitfield's width in bits; 0 for a plain member.
    pub bitfield_size: u8,
}

/// An ARRAY's data (`TypeRef::array`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Array {
    /// The elements' type.
    pub elem: u32,
    /// The index's type.
    pub index: u32,
    /// How many elements.
    pub nelems: u32,
}

/// A type to append (`Btf::add_type`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NewType {
    pub(crate) kind: Kind,
    pub(crate) name_off: u32,
    pub(crate) vlen: u16,
    pub(crate) kflag: bool,
    pub(crate) size_or_type: u32,
    pub(crate) extra: Vec<u32>,
}

impl NewType {
    fn plain(kind: Kind, name_off: u32, size_or_type: u32) -> NewType {
        NewType {
            kind,
            name_off,
            vlen: 0,
            kflag: false,
            size_or_type,
            extra: Vec::new(),
        }
    }

    /// A FUNC of prototype `proto`. `linkage` is the record's raw value:
    /// `Btf::add_type` refuses one that is not a `Linkage`.
    pub fn func(name_off: u32, linkage: u16, proto: u32) -> NewType {
        NewType {
            vlen: linkage,
            ..NewType::plain(Kind::Func, name_off, proto)
        }
    }

    /// An integer of `bytes` bytes.
    pub fn int(name_off: u32, bytes: u32, signed: bool) -> NewType {
        NewType {
            extra: vec![(u32::from(signed) << 24) | (bytes * 8)],
            ..NewType::plain(Kind::Int, name_off, bytes)
        }
    }

    /// A prototype returning `ret` with `params` as (name_off, type).
    pub fn func_proto(ret: u32, params: &[(u32, u32)]) -> NewType {
        NewType {
            // past u16, `add_type` refuses the record (words and vlen disagree)
            vlen: u16::try_from(params.len()).unwrap_or(u16::MAX),
            extra: params.iter().flat_map(|&(n, t)| [n, t]).collect(),
            ..NewType::plain(Kind::FuncProto, 0, ret)
        }
    }

    /// A decl tag on `target` (component -1: the whole declaration).
    #[allow(
        clippy::cast_sign_loss,
        reason = "BTF keeps the index as the bits of an i32 (-1 is 0xffffffff)"
    )]
    pub fn decl_tag(name_off: u32, target: u32, component_idx: i32, kflag: bool) -> NewType {
        NewType {
            kflag,
            extra: vec![component_idx as u32],
            ..NewType::plain(Kind::DeclTag, name_off, target)
        }
    }

    /// A type tag on `target`; with `attribute` (the kind flag) it is a
    /// type attribute, `__attribute__((NAME))` in C rather than
    /// `__attribute__((btf_type_tag("NAME")))`.
    pub fn type_tag(name_off: u32, target: u32, attribute: bool) -> NewType {
        NewType {
            kflag: attribute,
            ..NewType::plain(Kind::TypeTag, name_off, target)
        }
    }

    /// A pointer to `target`.
    pub fn ptr(target: u32) -> NewType {
        NewType::plain(Kind::Ptr, 0, target)
    }

    /// `target` const.
    pub fn const_(target: u32) -> NewType {
        NewType::plain(Kind::Const, 0, target)
    }

    /// `target` volatile.
    pub fn volatile(target: u32) -> NewType {
        NewType::plain(Kind::Volatile, 0, target)
    }

    /// A typedef named at `name_off` of `target`.
    pub fn typedef(name_off: u32, target: u32) -> NewType {
        NewType::plain(Kind::Typedef, name_off, target)
    }

    /// A forward declaration of a struct (or of a union).
    pub fn fwd(name_off: u32, union: bool) -> NewType {
        NewType {
            kflag: union,
            ..NewType::plain(Kind::Fwd, name_off, 0)
        }
    }

    /// A struct of `size` bytes with `members` as (name_off, type, bit offset).
    pub fn struct_(name_off: u32, size: u32, members: &[(u32, u32, u32)]) -> NewType {
        NewType {
            // past u16, `add_type` refuses the record (words and vlen disagree)
            vlen: u16::try_from(members.len()).unwrap_or(u16::MAX),
            extra: members.iter().flat_map(|&(n, t, o)| [n, t, o]).collect(),
            ..NewType::plain(Kind::Struct, name_off, size)
        }
    }

    /// Its kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }
}
