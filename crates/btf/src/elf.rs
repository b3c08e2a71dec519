//! The `.BTF` section of an ELF object: read it, or write a copy of the
//! object with it replaced.
//!
//! A relocatable object (a `.ko`, a BPF object clang built) is rewritten
//! here, byte for byte but for `.BTF`: its new bytes take the old ones'
//! place, what follows moves by the growth (rounded to keep every
//! alignment), and the section headers that point past it are updated.
//! Nothing else is read or rebuilt, so sections no ELF library knows
//! (clang's `.llvm_addrsig`) are kept as they are. Linked executables go
//! through `object`'s ELF builder.

use object::{Object, ObjectSection};

/// The ELF section BTF is kept in.
pub const SECTION: &str = ".BTF";

/// Whether `data` starts as an ELF file does.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

/// Why BTF cannot be read from, or written into, an ELF file.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// `object` cannot read it as ELF.
    #[error("not a readable ELF object: {0}")]
    Parse(String),
    /// It has no `.BTF` section.
    #[error("no {SECTION} section")]
    NoSection,
    /// Its `.BTF` is loaded with the program: resizing it would move what
    /// follows.
    #[error(
        "{SECTION} is an allocated section of a linked executable: resizing it would move the segments after it; patch the raw BTF and link it in instead"
    )]
    Allocated,
    /// `object`'s ELF builder cannot rebuild it with a resized `.BTF`.
    #[error("cannot rebuild this linked ELF file to resize {SECTION} (object's ELF builder: {0})")]
    Rebuild(String),
    /// Writing the rebuilt file failed.
    #[error("cannot write the ELF object: {0}")]
    Write(String),
}

/// The bytes of the `.BTF` section.
pub fn read_btf(data: &[u8]) -> Result<Vec<u8>, ElfError> {
    let file = object::File::parse(data).map_err(|e| ElfError::Parse(e.to_string()))?;
    let section = file.section_by_name(SECTION).ok_or(ElfError::NoSection)?;
    let bytes = section
        .uncompressed_data()
        .map_err(|e| ElfError::Parse(e.to_string()))?;
    Ok(bytes.into_owned())
}

/// A copy of the object with `.BTF` holding `btf`.
pub fn replace_btf(data: &[u8], btf: Vec<u8>) -> Result<Vec<u8>, ElfError> {
    if let Some(layout) = Layout::read(data)? {
        return layout.replace(data, &btf);
    }
    let mut builder =
        object::build::elf::Builder::read(data).map_err(|e| ElfError::Rebuild(e.to_string()))?;
    let executable = builder.header.e_type != object::elf::ET_REL;
    let mut found = false;
    for section in builder.sections.iter_mut() {
        if section.name.as_slice() == SECTION.as_bytes() {
            if executable && section.is_alloc() {
                return Err(ElfError::Allocated);
            }
            section.sh_size = btf.len() as u64;
            section.data = object::build::elf::SectionData::Data(btf.clone().into());
            found = true;
        }
    }
    if !found {
        return Err(ElfError::NoSection);
    }
    let mut out = Vec::new();
    builder
        .write(&mut out)
        .map_err(|e| ElfError::Write(e.to_string()))?;
    Ok(out)
}

/// Where a relocatable object's section headers and `.BTF` are.
struct Layout {
    wide: bool,
    little: bool,
    shoff: u64,
    shentsize: usize,
    shnum: usize,
    btf_index: usize,
}

const SHT_NOBITS: u32 = 8;

impl Layout {
    /// The layout of a relocatable object; None for other ELF files.
    fn read(data: &[u8]) -> Result<Option<Layout>, ElfError> {
        let file = object::File::parse(data).map_err(|e| ElfError::Parse(e.to_string()))?;
        if file.kind() != object::ObjectKind::Relocatable {
            return Ok(None);
        }
        let btf_index = file
            .section_by_name(SECTION)
            .ok_or(ElfError::NoSection)?
            .index()
            .0;
        let (wide, little) = (file.is_64(), file.is_little_endian());
        let l = Layout {
            wide,
            little,
            shoff: 0,
            shentsize: 0,
            shnum: 0,
            btf_index,
        };
        // the header fields `object` has already checked, read again here
        let (shoff, shentsize, shnum) = if wide {
            (l.u64(data, 0x28), l.u16(data, 0x3a), l.u16(data, 0x3c))
        } else {
            (
                l.u32(data, 0x20).into(),
                l.u16(data, 0x2e),
                l.u16(data, 0x30),
            )
        };
        let mut l = Layout {
            shoff,
            shentsize: shentsize.into(),
            ..l
        };
        // more than 0xff00 sections: the count is section 0's size
        l.shnum = if shnum == 0 {
            at_most_usize(l.field(data, 0, Field::Size))
        } else {
            shnum.into()
        };
        Ok(Some(l))
    }

    fn u16(&self, d: &[u8], at: usize) -> u16 {
        let b = [d[at], d[at + 1]];
        if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }
    }
    fn u32(&self, d: &[u8], at: usize) -> u32 {
        let b = [d[at], d[at + 1], d[at + 2], d[at + 3]];
        if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    }
    fn u64(&self, d: &[u8], at: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[at..at + 8]);
        if self.little {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        }
    }

    /// Where field `f` of section header `i` is, and its width.
    fn field_at(&self, i: usize, f: Field) -> (usize, bool) {
        let base = at_most_usize(self.shoff) + i * self.shentsize;
        let (off64, off32) = match f {
            Field::Type => (4, 4),
            Field::Offset => (24, 16),
            Field::Size => (32, 20),
            Field::Align => (48, 32),
        };
        match f {
            Field::Type => (base + off64, false),
            _ if self.wide => (base + off64, true),
            _ => (base + off32, false),
        }
    }

    fn field(&self, d: &[u8], i: usize, f: Field) -> u64 {
        match self.field_at(i, f) {
            (at, true) => self.u64(d, at),
            (at, false) => self.u32(d, at).into(),
        }
    }

    #[allow(
        clippy::cast_possible_truncation,
        reason = "an ELF32 field is 32 bits wide: its low 32 bits, as the file's own fields (32-bit) moved by the BTF's growth"
    )]
    fn set(&self, d: &mut [u8], at: usize, wide: bool, v: u64) {
        match (wide, self.little) {
            (true, true) => d[at..at + 8].copy_from_slice(&v.to_le_bytes()),
            (true, false) => d[at..at + 8].copy_from_slice(&v.to_be_bytes()),
            (false, true) => d[at..at + 4].copy_from_slice(&(v as u32).to_le_bytes()),
            (false, false) => d[at..at + 4].copy_from_slice(&(v as u32).to_be_bytes()),
        }
    }

    fn set_field(&self, d: &mut [u8], i: usize, f: Field, v: u64) {
        let (at, wide) = self.field_at(i, f);
        self.set(d, at, wide, v);
    }

    /// The object with `.BTF`'s bytes replaced by `btf`.
    fn replace(&self, data: &[u8], btf: &[u8]) -> Result<Vec<u8>, ElfError> {
        let bad = |why: &str| ElfError::Write(why.to_string());
        let i = self.btf_index;
        let old_off = self.field(data, i, Field::Offset);
        let old_end = old_off + self.field(data, i, Field::Size);
        let (start, end) = (at_most_usize(old_off), at_most_usize(old_end));
        if end > data.len() {
            return Err(bad(".BTF lies past the end of the file"));
        }
        // what follows .BTF moves by its growth, rounded up to the largest
        // alignment of what moves (section headers: 8 bytes)
        let mut align = 8u64;
        for j in (0..self.shnum).filter(|&j| j != i) {
            let off = self.field(data, j, Field::Offset);
            let nobits = self.field(data, j, Field::Type) == u64::from(SHT_NOBITS);
            if off > old_off && off < old_end && !nobits {
                return Err(bad("a section overlaps .BTF"));
            }
            if off >= old_end {
                align = align.max(self.field(data, j, Field::Align).max(1));
            }
        }
        if !align.is_power_of_two() {
            return Err(bad("a section's alignment is not a power of two"));
        }
        let grow = (btf.len() as u64).saturating_sub(old_end - old_off);
        let shift = grow.div_ceil(align) * align;
        let mut out = Vec::with_capacity(data.len() + at_most_usize(shift));
        out.extend_from_slice(&data[..start]);
        out.extend_from_slice(btf);
        out.resize(end + at_most_usize(shift), 0);
        out.extend_from_slice(&data[end..]);
        let shoff = if self.shoff >= old_end {
            self.shoff + shift
        } else {
            self.shoff
        };
        let moved = Layout { shoff, ..*self };
        if shoff != self.shoff {
            let at = if self.wide { 0x28 } else { 0x20 };
            self.set(&mut out, at, self.wide, shoff);
        }
        for j in (0..self.shnum).filter(|&j| j != i) {
            let off = moved.field(&out, j, Field::Offset);
            if off >= old_end {
                moved.set_field(&mut out, j, Field::Offset, off + shift);
            }
        }
        moved.set_field(&mut out, i, Field::Size, btf.len() as u64);
        Ok(out)
    }
}

#[derive(Clone, Copy)]
enum Field {
    Type,
    Offset,
    Size,
    Align,
}

/// `v` as an index or a length: a value past the address space (on a
/// 32-bit target) becomes `usize::MAX`, which every bounds check refuses as
/// it refuses any offset past the data; on 64 bits, `v` itself.
fn at_most_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}
