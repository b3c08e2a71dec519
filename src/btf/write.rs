//! Writing a BTF blob: the header, then the type section, then the string
//! section, with the header's extra bytes kept.

use super::{Btf, HEADER_LEN};

pub fn write(btf: &Btf, out: &mut Vec<u8>) {
    let e = btf.endian;
    let hdr_len = (HEADER_LEN + btf.header_extra.len()) as u32;
    let magic: [u8; 2] = match e {
        super::Endian::Little => super::MAGIC.to_le_bytes(),
        super::Endian::Big => super::MAGIC.to_be_bytes(),
    };
    out.extend_from_slice(&magic);
    out.push(btf.version);
    out.push(btf.flags);
    let type_len = btf.types.len() as u32;
    for v in [hdr_len, 0, type_len, type_len, btf.strings.len() as u32] {
        out.extend_from_slice(&e.put_u32(v));
    }
    out.extend_from_slice(&btf.header_extra);
    out.extend_from_slice(&btf.types);
    out.extend_from_slice(&btf.strings);
}
