//! Finding given strings in a string section without indexing all of it.
//!
//! A vmlinux has 100k+ strings and a caller wants a few hundred of them:
//! each string is first checked against a bitmap of the wanted strings'
//! shapes (length, first and last byte, hashed to 16 bits: 8 KiB, which
//! stays in the L1 cache), and looked up only on a hit.

use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// Where each wanted string starts: every offset, in section order.
pub type StringOffsets = HashMap<String, Vec<u32>>;

/// String sections, each with the offset its first byte has (a split BTF's
/// continue after its base's).
#[derive(Default)]
pub struct StringSections<'a> {
    parts: Vec<(&'a [u8], u32)>,
}

impl<'a> StringSections<'a> {
    /// Adds a string section whose first byte is at `first_offset` (a
    /// split BTF's strings continue after its base's).
    pub fn push(&mut self, section: &'a [u8], first_offset: u32) {
        self.parts.push((section, first_offset));
    }

    /// Every offset at which one of `wanted` starts, in section order.
    pub fn find(&self, wanted: &[&str]) -> StringOffsets {
        let finder = StringFinder::new(wanted);
        let mut found = StringOffsets::new();
        for &(section, at) in &self.parts {
            finder.find(section, at, &mut found);
        }
        found
    }
}

struct StringFinder<'w> {
    /// a bit per `shape` of a wanted string
    shapes: Vec<u64>,
    by_shape: FxHashMap<(usize, u8, u8), Vec<&'w str>>,
}

/// A string's shape, as a bit index of `StringFinder::shapes`.
#[inline(always)]
fn shape(len: usize, first: u8, last: u8) -> usize {
    ((len << 10) ^ (usize::from(first) << 5) ^ usize::from(last)) & 0xffff
}

impl<'w> StringFinder<'w> {
    /// Empty strings are never found: offset 0 is the empty string.
    fn new(wanted: &[&'w str]) -> StringFinder<'w> {
        let mut f = StringFinder {
            shapes: vec![0; (1 << 16) / 64],
            by_shape: FxHashMap::default(),
        };
        for w in wanted.iter() {
            let b = w.as_bytes();
            let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
                continue;
            };
            let bit = shape(b.len(), first, last);
            f.shapes[bit / 64] |= 1 << (bit % 64);
            let list = f.by_shape.entry((b.len(), first, last)).or_default();
            if !list.contains(w) {
                list.push(*w);
            }
        }
        f
    }

    /// Adds the wanted strings of `section` (NUL-terminated strings, the
    /// first at offset `base`) to `found`.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "an offset within a string section, whose length is a u32 of the header"
    )]
    fn find(&self, section: &[u8], base: u32, found: &mut StringOffsets) {
        if self.by_shape.is_empty() {
            return;
        }
        let mut start = 0usize;
        for_each_nul(section, |nul| {
            // the hot path: a bit test per string
            if nul > start {
                let bit = shape(nul - start, section[start], section[nul - 1]);
                if self.shapes[bit / 64] & (1 << (bit % 64)) != 0 {
                    self.look_up(&section[start..nul], base + start as u32, found);
                }
            }
            start = nul + 1;
        });
    }

    /// Records `s` at `off` if it is wanted (its shape is).
    #[inline(never)]
    fn look_up(&self, s: &[u8], off: u32, found: &mut StringOffsets) {
        let (Some(&first), Some(&last)) = (s.first(), s.last()) else {
            return;
        };
        let Some(cands) = self.by_shape.get(&(s.len(), first, last)) else {
            return;
        };
        if let Some(w) = cands.iter().find(|w| w.as_bytes() == s) {
            match found.get_mut(*w) {
                Some(offs) => offs.push(off),
                None => {
                    found.insert(w.to_string(), vec![off]);
                }
            }
        }
    }
}

/// Calls `f` with the index of each NUL byte of `bytes`, in order. Strings
/// average under 20 bytes, too short for a vectorised search per string to
/// pay its start-up cost: eight bytes are tested at once, in a u64.
#[inline(always)]
fn for_each_nul(bytes: &[u8], mut f: impl FnMut(usize)) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        // the high bit of each byte that is zero, exactly (no carry between bytes)
        let mut zeros = !(((w & LOW7) + LOW7) | w | LOW7);
        while zeros != 0 {
            f(at + zeros.trailing_zeros() as usize / 8);
            zeros &= zeros - 1;
        }
        at += 8;
    }
    for (i, &b) in chunks.remainder().iter().enumerate() {
        if b == 0 {
            f(at + i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nul_is_reported_once_in_order_at_any_alignment() {
        // NULs at every position of a word, at both ends, in runs, and in the tail
        let mut bytes = b"\0a\0bb\0ccc\0\0\0dddddddd\0eeeeeeeeeeeeeee\0\x80\xff\0".to_vec();
        for shift in 0..9 {
            let b: Vec<u8> = std::iter::repeat_n(b'x', shift)
                .chain(bytes.iter().copied())
                .collect();
            let want: Vec<usize> = b
                .iter()
                .enumerate()
                .filter(|(_, &c)| c == 0)
                .map(|(i, _)| i)
                .collect();
            let mut got = Vec::new();
            for_each_nul(&b, |i| got.push(i));
            assert_eq!(got, want, "shift {shift}");
        }
        bytes.clear();
        let mut got = Vec::new();
        for_each_nul(&bytes, |i| got.push(i));
        assert!(got.is_empty());
    }

    #[test]
    fn finds_each_copy_of_exact_strings_only() {
        let section = b"\0foo\0foo_impl\0xfoo\0foo\0fo\0bar\0";
        let f = StringFinder::new(&["foo", "bar", "baz", "", "foo"]);
        let mut found = StringOffsets::new();
        f.find(section, 100, &mut found);
        assert_eq!(found.get("foo"), Some(&vec![101, 119]));
        assert_eq!(found.get("bar"), Some(&vec![126]));
        assert_eq!(found.get("baz"), None);
        assert_eq!(found.len(), 2);
    }
}
