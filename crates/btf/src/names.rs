//! The names the kernel's BTF loader accepts, kind by kind (`BPF_BTF_LOAD`
//! says "Invalid name" for the others), so that a BTF valid here is one the
//! kernel loads, and no consumer meets a name it cannot handle.
//!
//! The kernel's rules (`kernel/bpf/btf.c`, 6.12):
//!
//! - an *identifier*: a letter, `_` or `.`, then letters, digits, `_` or
//!   `.`; at most `MAX_NAME_LEN` bytes. Letters are those of the kernel's
//!   `ctype`, which counts Latin-1's (bytes 0xc0–0xff but 0xd7 and 0xf7);
//! - a *section* name (DATASEC: `.data..percpu`, `license`): printable
//!   bytes (0x20–0x7e, 0xa0–0xff), at least one, at most `MAX_NAME_LEN`;
//! - by kind: TYPEDEF, FWD, FUNC and VAR need an identifier; STRUCT, UNION,
//!   ENUM and ENUM64 may be anonymous or have one, as may members and
//!   parameters; enumerators need one; PTR, ARRAY, CONST, VOLATILE,
//!   RESTRICT and FUNC_PROTO have no name; TYPE_TAG and DECL_TAG values are
//!   any string but the empty one; INT and FLOAT names are not checked
//!   (`long unsigned int`).
//!
//! The rules are checked kernel-exact here; what C may take is narrower
//! (no `.`, ASCII only) and is the header writer's own check.
//!
//! Cost: a vmlinux names ~130k types and several hundred thousand members,
//! parameters and enumerators. One pass over the string section, sixteen
//! bytes at a time, marks in a bitmap (a bit per byte offset) every string
//! that is an ASCII identifier; a name is then one bit test. Any other
//! string a name points at (Latin-1, inside a longer string) is checked
//! byte by byte against a 256-entry table the first time, and marked. On
//! 6.18's vmlinux validation takes 3.7 ms instead of 2.0: ~0.65 ms for the
//! pass, the rest the bit tests (cache misses on a 300 KB bitmap).

use super::{Btf, ReadError};

/// The longest name the kernel accepts, in bytes (its `KSYM_NAME_LEN`:
/// the check reads at most that many bytes and wants the NUL after them).
pub const MAX_NAME_LEN: usize = 512;

/// How many bytes of a refused name an error shows: enough to recognise
/// it, while a name of megabytes gives a message of one line.
pub const MAX_NAME_SHOWN: usize = 80;

const FIRST: u8 = 1;
const REST: u8 = 2;
const PRINT: u8 = 4;

/// Each byte's class under the kernel's `ctype` (`lib/ctype.c`).
#[allow(
    clippy::cast_possible_truncation,
    reason = "the loop's byte is below 256 (a const: no try_from)"
)]
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        let latin1_letter = c >= 0xc0 && c != 0xd7 && c != 0xf7;
        let alpha = c.is_ascii_alphabetic() || latin1_letter;
        let mut class = 0;
        if alpha || c == b'_' || c == b'.' {
            class |= FIRST | REST;
        }
        if c.is_ascii_digit() {
            class |= REST;
        }
        if (c >= 0x20 && c <= 0x7e) || c >= 0xa0 {
            class |= PRINT;
        }
        t[b] = class;
        b += 1;
    }
    t
};

/// Whether `s` is a name the kernel takes as an identifier.
pub fn is_kernel_identifier(s: &[u8]) -> bool {
    match s.split_first() {
        Some((&first, rest)) => {
            s.len() <= MAX_NAME_LEN
                && CLASS[usize::from(first)] & FIRST != 0
                && rest.iter().all(|&c| CLASS[usize::from(c)] & REST != 0)
        }
        None => false,
    }
}

/// Whether `s` is a name the kernel takes for a DATASEC.
pub fn is_kernel_section_name(s: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.iter().all(|&c| CLASS[usize::from(c)] & PRINT != 0)
}

/// A name as an error shows it: its first `MAX_NAME_SHOWN` bytes, every
/// byte that is not printable ASCII (a line break, a terminal's escape,
/// UTF-8) as `\xNN`, so no name can write on the terminal.
pub fn shown(s: &[u8]) -> String {
    let mut out: String = s
        .iter()
        .take(MAX_NAME_SHOWN)
        .flat_map(|b| b.escape_ascii())
        .map(char::from)
        .collect();
    if s.len() > MAX_NAME_SHOWN {
        out.push('…');
    }
    out
}

/// The high bit of each byte of `w` that is not an ASCII letter, digit,
/// `_` or `.` (a NUL, a space, a byte of 0x80 or more: the last are
/// left to the exact check, as are names that start inside a string).
#[inline(always)]
fn not_ascii_ident(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low = w & !HIGH;
    // byte >= lo: its high bit set by adding 0x80 - lo (no carry: x < 0x80)
    let ge = |lo: u8| (low + ONES * u64::from(0x80 - lo)) & HIGH;
    let in_range = |lo: u8, hi: u8| ge(lo) & !ge(hi + 1);
    let folded = (w | (ONES * 0x20)) & !HIGH; // A-Z as a-z
    let ge_f = |lo: u8| (folded + ONES * u64::from(0x80 - lo)) & HIGH;
    let letter = ge_f(b'a') & !ge_f(b'z' + 1);
    let ident = letter | in_range(b'0', b'9') | in_range(b'_', b'_') | in_range(b'.', b'.');
    (!ident | w) & HIGH
}

/// Sets in `known` the offset of each string of `section` (its first byte
/// at offset `at`) that is an identifier of ASCII bytes: one pass, sixteen
/// bytes at a time (eight without SSE2), where a byte that ends a string or
/// is not an identifier's is rare. The others are checked byte by byte when
/// a name points at them.
fn mark_ascii_identifiers(section: &[u8], at: usize, known: &mut [u64]) {
    let mut m = Marker {
        section,
        at,
        known,
        start: 0,
        clean: true,
    };
    let mut pos = 0usize;
    #[cfg(target_arch = "x86_64")]
    {
        let mut chunks = section.chunks_exact(16);
        for chunk in &mut chunks {
            let mut events = sse2::not_ascii_ident(chunk);
            while events != 0 {
                m.event(pos + events.trailing_zeros() as usize);
                events &= events - 1;
            }
            pos += 16;
        }
    }
    let mut chunks = section[pos..].chunks_exact(8);
    for chunk in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        let mut events = not_ascii_ident(u64::from_le_bytes(b));
        while events != 0 {
            m.event(pos + events.trailing_zeros() as usize / 8);
            events &= events - 1;
        }
        pos += 8;
    }
    for (k, &c) in chunks.remainder().iter().enumerate() {
        if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.') {
            m.event(pos + k);
        }
    }
}

/// The pass of `mark_ascii_identifiers`: the string it is in, and whether
/// every byte of it so far is an ASCII identifier's.
struct Marker<'s, 'k> {
    section: &'s [u8],
    at: usize,
    known: &'k mut [u64],
    start: usize,
    clean: bool,
}

impl Marker<'_, '_> {
    /// Byte `i` is a NUL (the string before it ends) or not an identifier's.
    #[inline(always)]
    fn event(&mut self, i: usize) {
        if self.section[i] != 0 {
            self.clean = false;
            return;
        }
        let len = i - self.start;
        if self.clean
            && len > 0
            && len <= MAX_NAME_LEN
            && !self.section[self.start].is_ascii_digit()
        {
            let off = self.at + self.start;
            if let Some(w) = self.known.get_mut(off / 64) {
                *w |= 1 << (off % 64);
            }
        }
        (self.start, self.clean) = (i + 1, true);
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    /// A bit per byte of `chunk` (16 bytes) that is not an ASCII letter,
    /// digit, `_` or `.`, as `not_ascii_ident` for eight.
    #[inline(always)]
    #[allow(
        clippy::cast_possible_wrap,
        clippy::cast_sign_loss,
        reason = "SSE2 compares signed bytes and gives its mask as an i32: the casts keep the bits"
    )]
    pub(super) fn not_ascii_ident(chunk: &[u8]) -> u32 {
        debug_assert_eq!(chunk.len(), 16);
        // SAFETY: SSE2 is part of x86_64; the load reads the 16 bytes of
        // `chunk` (unaligned), which `chunks_exact(16)` gives.
        #[allow(unsafe_code, reason = "SSE2 intrinsics (a load from a slice)")]
        unsafe {
            let x = _mm_loadu_si128(chunk.as_ptr().cast());
            // signed compares: bytes of 0x80 and more are negative, in no range
            let within = |v: __m128i, lo: i8, hi: i8| {
                _mm_and_si128(
                    _mm_cmpgt_epi8(v, _mm_set1_epi8(lo - 1)),
                    _mm_cmpgt_epi8(_mm_set1_epi8(hi + 1), v),
                )
            };
            let folded = _mm_or_si128(x, _mm_set1_epi8(0x20));
            let ident = _mm_or_si128(
                _mm_or_si128(
                    within(folded, b'a' as i8, b'z' as i8),
                    within(x, b'0' as i8, b'9' as i8),
                ),
                _mm_or_si128(
                    _mm_cmpeq_epi8(x, _mm_set1_epi8(b'_' as i8)),
                    _mm_cmpeq_epi8(x, _mm_set1_epi8(b'.' as i8)),
                ),
            );
            !(_mm_movemask_epi8(ident) as u32) & 0xffff
        }
    }
}

/// What a rule is called in an error.
pub(crate) const IDENTIFIER: &str =
    "an identifier (a letter, `_` or `.`, then letters, digits, `_` or `.`; at most 512 bytes)";
pub(crate) const SECTION: &str = "a section name (1 to 512 printable bytes)";
pub(crate) const NON_EMPTY: &str = "a non-empty string";
pub(crate) const NONE: &str = "allowed: this kind has no name";

/// The string sections the names are read from, and the offsets already
/// found to be identifiers.
pub(crate) struct Names<'a> {
    own: &'a [u8],
    own_at: u32,
    base: Option<&'a Btf>,
    /// a bit per string offset (base included): an identifier starts there
    known: Vec<u64>,
}

impl<'a> Names<'a> {
    /// `own` is this BTF's string section, its first byte at offset
    /// `own_at` (the base's strings come first).
    pub(crate) fn new(own: &'a [u8], own_at: u32, base: Option<&'a Btf>) -> Names<'a> {
        let end = own_at as usize + own.len();
        let mut known = vec![0; end.div_ceil(64)];
        mark_ascii_identifiers(own, own_at as usize, &mut known);
        Names {
            own,
            own_at,
            base,
            known,
        }
    }

    /// The string at `off` (checked to be in range before), without its
    /// NUL; at most `MAX_NAME_LEN + 1` bytes of it, which is enough to
    /// refuse it: many names pointing into one long string cost no more
    /// than as many short names.
    pub(crate) fn at(&self, off: u32) -> &'a [u8] {
        let s = self.from(off);
        let s = &s[..s.len().min(MAX_NAME_LEN + 1)];
        let end = memchr::memchr(0, s).unwrap_or(s.len());
        &s[..end]
    }

    /// The bytes from `off` on: to the end of the own section, or the
    /// base's string at `off`.
    #[inline(always)]
    fn from(&self, off: u32) -> &'a [u8] {
        if off >= self.own_at {
            self.own
                .get((off - self.own_at) as usize..)
                .unwrap_or_default()
        } else {
            self.base.and_then(|b| b.str_at(off)).unwrap_or_default()
        }
    }

    /// Whether the string at `off` is empty.
    pub(crate) fn is_empty(&self, off: u32) -> bool {
        self.from(off).first().is_none_or(|&c| c == 0)
    }

    /// Whether an identifier starts at `off`.
    #[inline(always)]
    pub(crate) fn identifier(&mut self, off: u32) -> bool {
        let (word, bit) = (off as usize / 64, off % 64);
        match self.known.get(word) {
            Some(w) if w >> bit & 1 == 1 => true,
            _ => self.identifier_first_time(off),
        }
    }

    /// One read of the bytes, each looked up in `CLASS`, up to the NUL or
    /// `MAX_NAME_LEN + 1` bytes.
    #[inline(never)]
    fn identifier_first_time(&mut self, off: u32) -> bool {
        let s = self.from(off);
        let Some((&first, rest)) = s.split_first() else {
            return false;
        };
        if CLASS[usize::from(first)] & FIRST == 0 {
            return false;
        }
        let rest = &rest[..rest.len().min(MAX_NAME_LEN - 1)];
        let len = rest
            .iter()
            .position(|&c| CLASS[usize::from(c)] & REST == 0)
            .unwrap_or(rest.len());
        // ends at the NUL (or the end of a base string, given without it)
        let ok = match rest.get(len) {
            Some(&c) => c == 0,
            None => s.get(len + 1).is_none_or(|&c| c == 0),
        };
        if ok {
            if let Some(w) = self.known.get_mut(off as usize / 64) {
                *w |= 1 << (off % 64);
            }
        }
        ok
    }

    /// The error for type `id`'s name at `off`, which is not `rule`.
    #[cold]
    pub(crate) fn refused(
        &self,
        id: u32,
        kind: &'static str,
        what: &'static str,
        off: u32,
        rule: &'static str,
    ) -> ReadError {
        ReadError::InvalidName {
            id,
            kind,
            what,
            name: shown(self.at(off)),
            rule,
            off,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_as_the_kernel_has_them() {
        for ok in [
            &b"task_struct"[..],
            b"_x1",
            b".cold",
            b"foo.isra.0",
            b"\xe9t\xe9",
        ] {
            assert!(is_kernel_identifier(ok), "{ok:?}");
        }
        for bad in [
            &b""[..],
            b"1abc",
            b"a b",
            b"a(void)",
            b"a\n",
            b"a*/",
            b"x\xd7y",
            b"\xa0",
            b"-",
        ] {
            assert!(!is_kernel_identifier(bad), "{bad:?}");
        }
        let at_bound = vec![b'a'; MAX_NAME_LEN];
        assert!(is_kernel_identifier(&at_bound));
        let past = vec![b'a'; MAX_NAME_LEN + 1];
        assert!(!is_kernel_identifier(&past));
    }

    #[test]
    fn section_names_are_printable() {
        for ok in [&b".data..percpu"[..], b"license", b".bss", b"a b", b"\xa0~"] {
            assert!(is_kernel_section_name(ok), "{ok:?}");
        }
        for bad in [&b""[..], b"a\nb", b"\x7f", b"\x9f", b"a\x1b[0m"] {
            assert!(!is_kernel_section_name(bad), "{bad:?}");
        }
        assert!(is_kernel_section_name(&[b'.'; MAX_NAME_LEN]));
        assert!(!is_kernel_section_name(&[b'.'; MAX_NAME_LEN + 1]));
    }

    #[test]
    fn the_word_test_is_the_byte_test() {
        for b in 0..=255u8 {
            for lane in 0..8 {
                let mut w = [b'a'; 8];
                w[lane] = b;
                let got = not_ascii_ident(u64::from_le_bytes(w));
                let want_bad = !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
                let want = if want_bad { 0x80u64 << (8 * lane) } else { 0 };
                assert_eq!(got, want, "byte {b:#x} in lane {lane}");
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sixteen_bytes_at_once_are_eight_twice() {
        for b in 0..=255u8 {
            for lane in 0..16 {
                let mut w = [b'a'; 16];
                w[lane] = b;
                let want_bad = !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
                let want = if want_bad { 1u32 << lane } else { 0 };
                assert_eq!(
                    sse2::not_ascii_ident(&w),
                    want,
                    "byte {b:#x} in lane {lane}"
                );
            }
        }
    }

    #[test]
    fn marked_starts_are_the_ascii_identifiers() {
        let section =
            b"\0int\0long unsigned int\0a.b\0_x9\09z\0\xe9t\xe9\0task_struct_long_name\0q\0";
        assert_eq!(section.len(), 62);
        let mut known = vec![0u64; 1];
        mark_ascii_identifiers(section, 0, &mut known);
        let marked: Vec<usize> = (0..64).filter(|&i| known[0] >> i & 1 == 1).collect();
        // int, a.b, _x9, task_struct_long_name, q; not the words, 9z, the Latin-1 one
        assert_eq!(marked, vec![1, 23, 27, 38, 60]);
        // the same at every alignment of the 16- and 8-byte passes
        for shift in 1..24 {
            let mut shifted = vec![b'z'; shift];
            shifted.extend_from_slice(section);
            let mut known = vec![0u64; 2];
            mark_ascii_identifiers(&shifted, 0, &mut known);
            let got: Vec<usize> = (0..128)
                .filter(|&i| known[i / 64] >> (i % 64) & 1 == 1)
                .collect();
            let mut want = vec![];
            if shifted[..shift].iter().all(u8::is_ascii_alphabetic) {
                // "zz…z" then the section's leading NUL: a string of its own
                want.push(0);
            }
            want.extend(marked.iter().map(|m| m + shift));
            assert_eq!(got, want, "shift {shift}");
        }
    }

    #[test]
    fn shown_names_are_printable_ascii_and_short() {
        assert_eq!(
            shown(b"a\n#define x\x1b\xc3\xa9\""),
            "a\\n#define x\\x1b\\xc3\\xa9\\\""
        );
        let long = shown(&[b'x'; 1000]);
        assert_eq!(long.chars().count(), MAX_NAME_SHOWN + 1);
        assert!(long.ends_with('…'));
    }
}
