//! The payload of every stress packet, and the generator of a stream of them.

use std::fmt;
use std::sync::OnceLock;

use super::MTU;

/// Bytes of the header at the start of every payload: magic, sequence number, length, checksum.
pub const HEADER_LEN: usize = 20;
/// The longest payload: an IPv4/UDP packet of exactly [`MTU`] bytes.
pub const MAX_PAYLOAD: usize = MTU as usize - 20 - 8;
const MAGIC: [u8; 4] = *b"TSTR";
/// The bytes of every payload body are a slice of this many pseudo-random bytes.
const PATTERN_LEN: usize = 1 << 16;

/// A xorshift64 generator: small, seeded, and the same on every machine.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (0 is replaced, as xorshift would stay at 0).
    pub fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..bound` (`bound` > 0; the slight modulo bias does not matter here).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

fn pattern() -> &'static [u8] {
    static PATTERN: OnceLock<Vec<u8>> = OnceLock::new();
    PATTERN.get_or_init(|| {
        let mut rng = XorShift::new(0x0b0d_1e55);
        (0..PATTERN_LEN + MAX_PAYLOAD)
            .map(|_| rng.next_u64().to_le_bytes()[3])
            .collect()
    })
}

/// A checksum over 8-byte words (fast enough in debug builds), folded to 32 bits.
#[derive(Debug, Clone, Copy)]
struct Checksum(u64);

impl Checksum {
    fn new() -> Checksum {
        Checksum(0xcbf2_9ce4_8422_2325)
    }

    fn add(mut self, bytes: &[u8]) -> Checksum {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut array = [0u8; 8];
            array.copy_from_slice(word);
            self.0 = (self.0 ^ u64::from_le_bytes(array)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        let tail = words.remainder();
        let mut array = [0u8; 8];
        array
            .get_mut(..tail.len())
            .unwrap_or_default()
            .copy_from_slice(tail);
        self.0 = (self.0 ^ u64::from_le_bytes(array) ^ ((tail.len() as u64) << 56))
            .wrapping_mul(0x0000_0100_0000_01b3);
        self
    }

    fn value(self) -> u32 {
        (self.0 ^ (self.0 >> 32)) as u32
    }
}

/// The checksum of a payload: everything but the checksum field itself (bytes 16..20).
fn payload_checksum(payload: &[u8]) -> u32 {
    Checksum::new()
        .add(payload.get(..16).unwrap_or_default())
        .add(payload.get(HEADER_LEN..).unwrap_or_default())
        .value()
}

/// Writes the payload number `seq` of `len` bytes ([`HEADER_LEN`] ..= [`MAX_PAYLOAD`]) into
/// `buf`: magic `TSTR`, `seq` (u64 BE), `len` (u32 BE), checksum (u32 BE), then a body taken from a
/// fixed pseudo-random pattern at an offset that depends on `seq`.
pub fn write_payload(seq: u64, len: usize, buf: &mut Vec<u8>) {
    assert!(
        (HEADER_LEN..=MAX_PAYLOAD).contains(&len),
        "payload length {len}"
    );
    let offset = (seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 48) as usize;
    buf.clear();
    buf.extend_from_slice(&MAGIC);
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&(len as u32).to_be_bytes());
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(
        pattern()
            .get(offset..offset + len - HEADER_LEN)
            .unwrap_or_else(|| panic!("pattern too short for offset {offset}, length {len}")),
    );
    let checksum = payload_checksum(buf);
    buf.get_mut(16..HEADER_LEN)
        .unwrap_or_else(|| panic!("payload shorter than its header"))
        .copy_from_slice(&checksum.to_be_bytes());
}

/// What can be wrong with a packet that a test sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// Wrong bytes: a checksum (payload, UDP or IPv4 header) fails, or a header field is wrong.
    Corrupted,
    /// Shorter than its own length field says.
    Truncated,
    /// Longer than its own length field says (two packets made one, or trailing bytes).
    Merged,
    /// A sequence number seen a second time.
    Duplicated,
}

impl Defect {
    pub(super) const ALL: [Defect; 4] = [
        Defect::Corrupted,
        Defect::Truncated,
        Defect::Merged,
        Defect::Duplicated,
    ];

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Defect::Corrupted => "corrupted",
            Defect::Truncated => "truncated",
            Defect::Merged => "merged",
            Defect::Duplicated => "duplicated",
        })
    }
}

/// Checks one payload made by [`write_payload`] and returns its sequence number.
pub fn check_payload(payload: &[u8]) -> Result<u64, (Defect, String)> {
    let field = |range: std::ops::Range<usize>| payload.get(range).unwrap_or_default();
    if payload.len() < HEADER_LEN {
        return Err((
            Defect::Truncated,
            format!("{} bytes, shorter than the header", payload.len()),
        ));
    }
    if field(0..4) != MAGIC {
        return Err((Defect::Corrupted, format!("magic {:02x?}", field(0..4))));
    }
    let seq = u64::from_be_bytes(field(4..12).try_into().unwrap_or_default());
    let len = u32::from_be_bytes(field(12..16).try_into().unwrap_or_default()) as usize;
    let checksum = u32::from_be_bytes(field(16..20).try_into().unwrap_or_default());
    if len > payload.len() {
        return Err((
            Defect::Truncated,
            format!("#{seq}: {} of {len} bytes", payload.len()),
        ));
    }
    if len < payload.len() {
        return Err((
            Defect::Merged,
            format!("#{seq}: {} bytes, its header says {len}", payload.len()),
        ));
    }
    let actual = payload_checksum(payload);
    if actual != checksum {
        return Err((
            Defect::Corrupted,
            format!("#{seq}: checksum {actual:08x}, its header says {checksum:08x}"),
        ));
    }
    Ok(seq)
}

/// The payloads of one direction, numbered `0..count`, with sizes from a seeded [`XorShift`].
#[derive(Debug)]
pub struct Generator {
    sizes: XorShift,
    next: u64,
    count: u64,
    payload: Vec<u8>,
}

impl Generator {
    /// `count` payloads with sizes drawn from `seed`.
    pub fn new(seed: u64, count: u64) -> Generator {
        Generator {
            sizes: XorShift::new(seed),
            next: 0,
            count,
            payload: Vec::with_capacity(MAX_PAYLOAD),
        }
    }

    /// The next payload, or `None` after the last.
    pub fn next_payload(&mut self) -> Option<&[u8]> {
        if self.next == self.count {
            return None;
        }
        let span = (MAX_PAYLOAD - HEADER_LEN + 1) as u64;
        let len = HEADER_LEN + self.sizes.below(span) as usize;
        write_payload(self.next, len, &mut self.payload);
        self.next += 1;
        Some(&self.payload)
    }
}
