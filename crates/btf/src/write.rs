//! Writing a BTF blob: the header, then the type section, then the string
//! section (each given as parts), with the header's extra bytes kept.

use super::{Btf, Endian, HEADER_LEN, MAGIC};
use std::io::Write;

pub fn write(
    header_of: &Btf,
    types: &[&[u8]],
    strings: &[&[u8]],
    w: &mut dyn Write,
) -> std::io::Result<()> {
    let e = header_of.endian;
    let hdr_len = (HEADER_LEN + header_of.header_extra.len()) as u32;
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
    for v in [hdr_len, 0, type_len as u32, type_len as u32, str_len as u32] {
        header.extend_from_slice(&e.put_u32(v));
    }
    header.extend_from_slice(&header_of.header_extra);
    w.write_all(&header)?;
    for part in types.iter().chain(strings.iter()) {
        w.write_all(part)?;
    }
    Ok(())
}
