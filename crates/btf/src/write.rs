//! Writing a BTF blob: the header, then the type section, then the string
//! section (each given as parts), with the header's extra bytes kept.

use super::{Btf, Endian, HEADER_LEN, MAGIC};
use std::io::Write;

/// Writes the blob: `header_of`'s header (its byte order, version, flags
/// and extra bytes) with the sections' lengths, then `types` and `strings`.
/// A section past 4 GiB, which the header cannot say, is an error
/// (`InvalidInput`), nothing written.
pub fn write(
    header_of: &Btf,
    types: &[&[u8]],
    strings: &[&[u8]],
    w: &mut dyn Write,
) -> std::io::Result<()> {
    let e = header_of.endian;
    let u32_of = |len: usize| {
        u32::try_from(len).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "a BTF section or header of {len} bytes: past the 4 GiB its header can say"
                ),
            )
        })
    };
    let hdr_len = u32_of(HEADER_LEN + header_of.header_extra.len())?;
    let magic: [u8; 2] = match e {
        Endian::Little => MAGIC.to_le_bytes(),
        Endian::Big => MAGIC.to_be_bytes(),
    };
    let type_len: usize = types.iter().map(|p| p.len()).sum();
    let str_len: usize = strings.iter().map(|p| p.len()).sum();
    let mut header = Vec::with_capacity(hdr_len as usize);
    header.extend_from_slice(&magic);
    header.push(header_of.version);
    header.push(header_of.flags);
    let (types_at, strings_at) = (0, u32_of(type_len)?);
    for v in [
        hdr_len,
        types_at,
        u32_of(type_len)?,
        strings_at,
        u32_of(str_len)?,
    ] {
        header.extend_from_slice(&e.put_u32(v));
    }
    header.extend_from_slice(&header_of.header_extra);
    w.write_all(&header)?;
    for part in types.iter().chain(strings.iter()) {
        w.write_all(part)?;
    }
    Ok(())
}
