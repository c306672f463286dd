//! The adapter GUID derived from its name: a name-based UUID (RFC 9562 version 5, SHA-1) in a
//! namespace of this crate, so that the same name gets the same GUID in every run, on every
//! machine and in every version of the crate.
//!
//! Why: Windows keys its network profiles (NLA: "Network", "Network 2", ...) on the adapter
//! GUID. A random GUID per run (Wintun's default for a null GUID) adds a profile each time the
//! program starts; a fixed one per name reuses it (tun-rs#33, mullvad PR #2505). Pure code: its
//! tests run on every platform.

/// This crate's namespace for adapter names (a random UUID, fixed forever: changing it would
/// change every derived GUID).
const NAMESPACE: u128 = 0xadf8540e_d5fd_42d8_8ebc_51904017354a;

/// The GUID for an adapter named `name` (its UTF-8 bytes), as a number in text order.
pub(crate) fn from_name(name: &str) -> u128 {
    uuid_v5(NAMESPACE, name.as_bytes())
}

/// RFC 9562 §5.5: SHA-1 over the namespace's 16 bytes and the name, the first 16 bytes of the
/// digest with the version (5) and variant (10xx) bits set.
fn uuid_v5(namespace: u128, name: &[u8]) -> u128 {
    let mut input = Vec::with_capacity(16 + name.len());
    input.extend_from_slice(&namespace.to_be_bytes());
    input.extend_from_slice(name);
    let digest = sha1(&input);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
    let uuid = u128::from_be_bytes(bytes);
    let version_mask: u128 = 0xf << 76;
    let variant_mask: u128 = 0xc << 60;
    (uuid & !version_mask & !variant_mask) | (0x5 << 76) | (0x8 << 60)
}

/// SHA-1 (FIPS 180-4). Not for security: only to compute the standard name-based UUID, whose
/// definition fixes the hash.
// The schedule's indices are `t - 16 ..= t - 3` for `t` in `16..80`, into an array of 80.
#[allow(clippy::indexing_slicing)]
fn sha1(message: &[u8]) -> [u8; 20] {
    let mut state: [u32; 5] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
    let bit_len = (message.len() as u64).wrapping_mul(8);
    let mut padded = message.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&bit_len.to_be_bytes());
    for block in padded.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_be_bytes(bytes.try_into().unwrap_or([0; 4]));
        }
        for t in 16..80 {
            w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = state;
        for (t, &word) in w.iter().enumerate() {
            let (f, k) = match t {
                0..=19 => ((b & c) | (!b & d), 0x5a827999),
                20..=39 => (b ^ c ^ d, 0x6ed9eba1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8f1bbcdc),
                _ => (b ^ c ^ d, 0xca62c1d6),
            };
            let temp = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(word);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = temp;
        }
        for (value, add) in state.iter_mut().zip([a, b, c, d, e]) {
            *value = value.wrapping_add(add);
        }
    }
    let mut digest = [0u8; 20];
    for (out, word) in digest.chunks_exact_mut(4).zip(state) {
        out.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha1_matches_the_standard_vectors() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        // Several blocks, and a length whose padding needs a block of its own.
        assert_eq!(
            hex(&sha1(&[b'a'; 1000])),
            "291e9a6c66994949b57ba5e650361e98fc36b1ba"
        );
    }

    #[test]
    fn name_based_uuids_match_rfc_9562() {
        // The DNS namespace's well-known example (Python: uuid5(NAMESPACE_DNS, "python.org")).
        let dns = 0x6ba7b810_9dad_11d1_80b4_00c04fd430c8;
        assert_eq!(
            uuid_v5(dns, b"python.org"),
            0x886313e1_3b8a_5372_9b90_0c9aee199e5d
        );
    }

    #[test]
    fn adapter_guids_are_stable_and_distinct() {
        // Pinned: a change here changes every user's adapter GUID (and network profile).
        assert_eq!(from_name("tun0"), 0x466418f2_58bd_5495_b268_376d5b658d98);
        assert_eq!(from_name("wg0"), 0x0c7d576e_8b1c_5f44_9a63_c20a45c91b32);
        assert_eq!(from_name("vpn-ü"), 0xf682884b_e467_516c_b0f6_b4c0ea3eb3ec);
        assert_ne!(from_name("tun0"), from_name("tun1"));
        assert_eq!(from_name("Wintun VPN"), from_name("Wintun VPN"));
        let guid = from_name("anything");
        assert_eq!((guid >> 76) & 0xf, 5, "version 5");
        assert_eq!((guid >> 62) & 0x3, 0b10, "RFC variant");
    }
}
