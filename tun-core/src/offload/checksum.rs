//! The Internet checksum (RFC 1071): the one's complement sum of 16-bit big-endian words.
//!
//! The bulk sum reads the bytes as native-endian `u64` words and swaps the folded 16-bit result
//! once at the end: the one's complement sum does not care about byte order as long as both
//! bytes of each word stay together (RFC 1071 §2(B)), so no per-word swap and no SIMD is needed.
//! Each `u64` is split into two 32-bit halves added to 64-bit accumulators, which cannot carry
//! out for any slice below 16 GiB; four accumulators let the additions run side by side.

/// A running checksum: the sum of 16-bit big-endian words, not yet folded.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Checksum {
    sum: u64,
}

impl Checksum {
    /// An empty sum.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds one 16-bit word (already in numeric, big-endian-read form).
    pub(crate) fn add_u16(&mut self, word: u16) {
        self.sum += u64::from(word);
    }

    /// Adds a 32-bit value as its two 16-bit words.
    pub(crate) fn add_u32(&mut self, value: u32) {
        self.sum += u64::from(value >> 16) + u64::from(value & 0xffff);
    }

    /// Adds `bytes` as 16-bit big-endian words. Every call but the last must have an even
    /// length (an odd last byte is the high half of a word whose low half is zero).
    pub(crate) fn add_bytes(&mut self, bytes: &[u8]) {
        self.add_u16(sum(bytes));
    }

    /// The sum folded to 16 bits with end-around carries, not complemented: what goes in a
    /// checksum field the kernel is to finish (`NEEDS_CSUM`).
    pub(crate) fn fold(self) -> u16 {
        fold(self.sum)
    }

    /// The checksum to store: the complement of the folded sum.
    pub(crate) fn finish(self) -> u16 {
        !self.fold()
    }
}

/// Folds a sum of 16-bit words to 16 bits with end-around carries.
fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// A `u64` from up to 8 bytes in memory order, zero-padded at the end (only the last, short
/// chunk is padded: zeros add nothing, and the odd byte keeps its place in its word).
fn word(bytes: &[u8]) -> u64 {
    let mut padded = [0u8; 8];
    for (to, from) in padded.iter_mut().zip(bytes) {
        *to = *from;
    }
    u64::from_ne_bytes(padded)
}

/// Adds a native-endian `u64` to an accumulator as two 32-bit halves (no carry lost).
fn accumulate(accumulator: &mut u64, word: u64) {
    *accumulator += (word & 0xffff_ffff) + (word >> 32);
}

/// The native-order sum folded to 16 bits, returned as the big-endian-read value.
fn finish_native(accumulators: [u64; 4]) -> u16 {
    let [a, b, c, d] = accumulators;
    // Each is below 2^62 for any slice under 16 GiB: their sum does not overflow either.
    let native = fold(a + b + c + d);
    // The native sum of byte pairs is the byte-swapped big-endian sum (a no-op on big endian).
    u16::from_be(native)
}

/// The one's complement sum of `bytes` read as 16-bit big-endian words, folded, not
/// complemented.
pub(crate) fn sum(bytes: &[u8]) -> u16 {
    let mut accumulators = [0u64; 4];
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        for (accumulator, chunk) in accumulators.iter_mut().zip(block.chunks_exact(8)) {
            accumulate(
                accumulator,
                u64::from_ne_bytes(chunk.try_into().unwrap_or([0; 8])),
            );
        }
    }
    let mut rest = blocks.remainder().chunks(8);
    for (accumulator, chunk) in accumulators.iter_mut().zip(&mut rest) {
        accumulate(accumulator, word(chunk));
    }
    finish_native(accumulators)
}

/// Copies `from` into `to` (the shorter length of the two) and returns the sum of what it
/// copied, like [`sum`]: one pass over the bytes instead of a copy and a sum.
pub(crate) fn copy_and_sum(from: &[u8], to: &mut [u8]) -> u16 {
    let len = from.len().min(to.len());
    let (from, to) = (
        from.get(..len).unwrap_or_default(),
        to.get_mut(..len).unwrap_or_default(),
    );
    let mut accumulators = [0u64; 4];
    let mut from_blocks = from.chunks_exact(32);
    let mut to_blocks = to.chunks_exact_mut(32);
    for (from_block, to_block) in (&mut from_blocks).zip(&mut to_blocks) {
        to_block.copy_from_slice(from_block);
        for (accumulator, chunk) in accumulators.iter_mut().zip(from_block.chunks_exact(8)) {
            accumulate(
                accumulator,
                u64::from_ne_bytes(chunk.try_into().unwrap_or([0; 8])),
            );
        }
    }
    let (from_rest, to_rest) = (from_blocks.remainder(), to_blocks.into_remainder());
    to_rest.copy_from_slice(from_rest);
    for (accumulator, chunk) in accumulators.iter_mut().zip(from_rest.chunks(8)) {
        accumulate(accumulator, word(chunk));
    }
    finish_native(accumulators)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// RFC 1071 as written: big-endian words, a 32-bit accumulator, the odd byte padded.
    pub(crate) fn naive_sum(bytes: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        let mut i = 0;
        while i + 1 < bytes.len() {
            sum += u32::from(u16::from_be_bytes([bytes[i], bytes[i + 1]]));
            i += 2;
        }
        if i < bytes.len() {
            sum += u32::from(bytes[i]) << 8;
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    fn pattern(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[test]
    fn matches_the_reference_at_every_length_and_offset() {
        let data = pattern(300, 7);
        let max = if cfg!(miri) { 80 } else { 300 };
        for start in 0..16 {
            for end in start..max {
                let slice = &data[start..end];
                assert_eq!(sum(slice), naive_sum(slice), "{start}..{end}");
                let mut copy = vec![0xa5; slice.len()];
                assert_eq!(copy_and_sum(slice, &mut copy), naive_sum(slice));
                assert_eq!(copy, slice);
            }
        }
    }

    #[test]
    fn all_ones_and_carries() {
        // Many 0xffff words: the worst case for carries.
        for len in [0, 1, 2, 3, 64, 65, 1500, 4097] {
            let data = vec![0xff; len];
            assert_eq!(sum(&data), naive_sum(&data), "{len}");
        }
        let big = vec![0xff; if cfg!(miri) { 2000 } else { 65535 }];
        assert_eq!(sum(&big), naive_sum(&big));
        let data = pattern(if cfg!(miri) { 3001 } else { 65535 }, 3);
        assert_eq!(sum(&data), naive_sum(&data));
    }

    #[test]
    fn copy_stops_at_the_shorter_side() {
        let data = pattern(40, 1);
        let mut short = [0u8; 33];
        assert_eq!(copy_and_sum(&data, &mut short), naive_sum(&data[..33]));
        assert_eq!(short[..], data[..33]);
        let mut long = [0u8; 50];
        assert_eq!(copy_and_sum(&data, &mut long), naive_sum(&data));
        assert_eq!(long[40..], [0; 10]);
    }

    #[test]
    fn running_sum_and_rfc_1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(&bytes), 0xddf2);
        let mut running = Checksum::new();
        running.add_bytes(&bytes[..4]);
        running.add_u32(0xf4f5_f6f7);
        assert_eq!(running.fold(), 0xddf2);
        assert_eq!(running.finish(), !0xddf2);
        let mut words = Checksum::new();
        words.add_u16(0xffff);
        words.add_u16(0x0001);
        assert_eq!(words.fold(), 0x0001);
    }
}
