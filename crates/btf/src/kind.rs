//! BTF kinds and the size of each one's kind-specific data.

/// The kind of a BTF type, numbered as the kernel numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Kind {
    /// `BTF_KIND_INT`
    Int = 1,
    /// `BTF_KIND_PTR`
    Ptr = 2,
    /// `BTF_KIND_ARRAY`
    Array = 3,
    /// `BTF_KIND_STRUCT`
    Struct = 4,
    /// `BTF_KIND_UNION`
    Union = 5,
    /// `BTF_KIND_ENUM`
    Enum = 6,
    /// `BTF_KIND_FWD`
    Fwd = 7,
    /// `BTF_KIND_TYPEDEF`
    Typedef = 8,
    /// `BTF_KIND_VOLATILE`
    Volatile = 9,
    /// `BTF_KIND_CONST`
    Const = 10,
    /// `BTF_KIND_RESTRICT`
    Restrict = 11,
    /// `BTF_KIND_FUNC`
    Func = 12,
    /// `BTF_KIND_FUNC_PROTO`
    FuncProto = 13,
    /// `BTF_KIND_VAR`
    Var = 14,
    /// `BTF_KIND_DATASEC`
    Datasec = 15,
    /// `BTF_KIND_FLOAT`
    Float = 16,
    /// `BTF_KIND_DECL_TAG`
    DeclTag = 17,
    /// `BTF_KIND_TYPE_TAG`
    TypeTag = 18,
    /// `BTF_KIND_ENUM64`
    Enum64 = 19,
}

impl Kind {
    /// The kind numbered `k`; None for a number no kind has.
    #[inline]
    pub fn from_u8(k: u8) -> Option<Kind> {
        use Kind::*;
        Some(match k {
            1 => Int,
            2 => Ptr,
            3 => Array,
            4 => Struct,
            5 => Union,
            6 => Enum,
            7 => Fwd,
            8 => Typedef,
            9 => Volatile,
            10 => Const,
            11 => Restrict,
            12 => Func,
            13 => FuncProto,
            14 => Var,
            15 => Datasec,
            16 => Float,
            17 => DeclTag,
            18 => TypeTag,
            19 => Enum64,
            _ => return None,
        })
    }

    /// The kind a type's `info` word holds (bits 24–28).
    #[inline]
    pub fn from_info(info: u32) -> Option<Kind> {
        Kind::from_u8(((info >> 24) & 0x1f) as u8)
    }

    /// Bytes of kind-specific data after the common 12-byte header.
    #[inline]
    pub fn extra_len(self, vlen: u16) -> usize {
        let v = usize::from(vlen);
        match self {
            Kind::Int | Kind::Var | Kind::DeclTag => 4,
            Kind::Array => 12,
            Kind::Struct | Kind::Union | Kind::Datasec | Kind::Enum64 => 12 * v,
            Kind::Enum | Kind::FuncProto => 8 * v,
            _ => 0,
        }
    }

    /// Kinds whose `vlen` counts the members (parameters, enumerators,
    /// variables) after the common header.
    #[inline]
    pub fn has_members(self) -> bool {
        matches!(
            self,
            Kind::Struct
                | Kind::Union
                | Kind::Enum
                | Kind::Enum64
                | Kind::FuncProto
                | Kind::Datasec
        )
    }

    /// Kinds whose `size_or_type` is a size in bytes.
    #[inline]
    pub fn sized(self) -> bool {
        matches!(
            self,
            Kind::Int
                | Kind::Struct
                | Kind::Union
                | Kind::Enum
                | Kind::Enum64
                | Kind::Datasec
                | Kind::Float
        )
    }

    /// Kinds whose `size_or_type` names another type.
    #[inline]
    pub fn refers(self) -> bool {
        matches!(
            self,
            Kind::Ptr
                | Kind::Typedef
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::Func
                | Kind::Var
                | Kind::DeclTag
                | Kind::TypeTag
        )
    }

    /// The kind's name, as bpftool prints it (`FUNC_PROTO`).
    pub fn name(self) -> &'static str {
        use Kind::*;
        match self {
            Int => "INT",
            Ptr => "PTR",
            Array => "ARRAY",
            Struct => "STRUCT",
            Union => "UNION",
            Enum => "ENUM",
            Fwd => "FWD",
            Typedef => "TYPEDEF",
            Volatile => "VOLATILE",
            Const => "CONST",
            Restrict => "RESTRICT",
            Func => "FUNC",
            FuncProto => "FUNC_PROTO",
            Var => "VAR",
            Datasec => "DATASEC",
            Float => "FLOAT",
            DeclTag => "DECL_TAG",
            TypeTag => "TYPE_TAG",
            Enum64 => "ENUM64",
        }
    }
}
