//! The `.BTF` section of an ELF object: read it, or write a copy of the
//! object with it replaced.

use object::{Object, ObjectSection};

pub const SECTION: &str = ".BTF";

pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    #[error("not a readable ELF object: {0}")]
    Parse(String),
    #[error("no {SECTION} section")]
    NoSection,
    #[error(
        "{SECTION} is an allocated section of a linked executable: resizing it would move the segments after it; patch the raw BTF and link it in instead"
    )]
    Allocated,
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
    let mut builder =
        object::build::elf::Builder::read(data).map_err(|e| ElfError::Parse(e.to_string()))?;
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
