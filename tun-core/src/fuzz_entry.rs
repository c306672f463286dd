//! The door the fuzz targets in `fuzz/` go through: one function per parser of untrusted bytes,
//! each feeding its input the way the crate itself would and checking what must hold for any
//! input. The fuzzer looks for panics (indexing, overflow, the checks below) and for inputs that
//! take too long (a loop that does not advance).
//!
//! Compiled only under `--cfg fuzzing`, which `cargo fuzz` passes, and hidden from the docs: the
//! parsers stay private, and no normal build has this module.

use crate::check;
use crate::offload::testing::{self, Entropy, FuzzBytes, List};
use crate::offload::{complete_checksum, CoalesceOptions, Coalescer, VirtioHeader, NEEDS_CSUM};
#[cfg(tun_linux)]
use crate::sys::MAX_NAME_LEN;
#[cfg(tun_linux)]
use crate::sys::{attributes, parse_address, parse_datagram, parse_tun_info};

/// `u32` in native byte order at `offset`, as netlink headers carry it; `None` past the end.
#[cfg(tun_linux)]
fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let raw = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_ne_bytes(raw.try_into().ok()?))
}

/// An interface name as a caller might pass it: [`Builder::name`](crate::Builder::name) takes a
/// `&str`, so the bytes are checked only when they are UTF-8. An accepted name must fit the
/// kernel's buffer, or the kernel would truncate or refuse it after the checks said yes.
pub fn interface_name(bytes: &[u8]) {
    let Ok(name) = std::str::from_utf8(bytes) else {
        return;
    };
    #[cfg(tun_linux)]
    if check::name(name).is_ok() {
        assert!(name.len() <= MAX_NAME_LEN, "accepted a too long name");
        assert!(
            !name.contains(['\0', '/']),
            "accepted a name the kernel refuses"
        );
        assert!(
            !name.bytes().any(|b| b == 0xa0 || b.is_ascii_whitespace()),
            "accepted a byte the kernel calls whitespace"
        );
    }
    #[cfg(not(tun_linux))]
    let _ = check::name(name);
}

/// One datagram read from an rtnetlink socket, then every answer it holds through the address
/// and tun-details parsers: the whole path of a real query.
///
/// The query's sequence number is the first message's own, so that real answers (and the
/// fuzzer's variations of them) are kept and parsed further instead of being skipped as stale.
#[cfg(tun_linux)]
pub fn netlink_datagram(bytes: &[u8]) {
    let seq = u32_at(bytes, 8).unwrap_or(0);
    let mut answers = Vec::new();
    let _ = parse_datagram(bytes, seq, &mut answers);
    // Answers are slices of the datagram: more bytes out than in would be a parsing error.
    let kept: usize = answers.iter().map(Vec::len).sum();
    assert!(
        kept <= bytes.len(),
        "{kept} answer bytes from {}",
        bytes.len()
    );
    for answer in &answers {
        netlink_address(answer);
    }
    let _ = parse_tun_info(&answers);
}

/// One `RTM_NEWADDR` answer (`struct ifaddrmsg` and its attributes), asked for the interface
/// index it names itself so that its attributes are always read.
#[cfg(tun_linux)]
pub fn netlink_address(bytes: &[u8]) {
    let index = u32_at(bytes, 4).unwrap_or(0);
    if let Ok(Some(address)) = parse_address(bytes, index) {
        assert_eq!(
            Some(&address.prefix_len),
            bytes.get(1),
            "the prefix length is the answer's own"
        );
    }
}

/// One `RTM_NEWLINK` answer (`struct ifinfomsg` and its attributes, with the tun driver's
/// nested under `IFLA_LINKINFO`), as `RTM_GETLINK` returns it.
#[cfg(tun_linux)]
pub fn netlink_tun_info(bytes: &[u8]) {
    let _ = parse_tun_info(&[bytes.to_vec()]);
}

/// A run of netlink attributes, and the runs nested in each of them (the tun details sit two
/// levels down).
#[cfg(tun_linux)]
pub fn netlink_attributes(bytes: &[u8]) {
    walk_attributes(bytes, 3);
}

#[cfg(tun_linux)]
fn walk_attributes(bytes: &[u8], depth: u32) {
    let mut count = 0usize;
    for attribute in attributes(bytes) {
        count += 1;
        // Each attribute takes at least its 4-byte header, and an error ends the walk: a bound
        // past this means the iterator stopped advancing.
        assert!(
            count <= bytes.len() / 4 + 1,
            "{count} attributes in {} bytes",
            bytes.len()
        );
        if let (Ok((_, payload)), Some(depth)) = (attribute, depth.checked_sub(1)) {
            walk_attributes(payload, depth);
        }
    }
}

/// A frame a user sends to a simulated TAP device (macOS's, platform-neutral code), through
/// the whole outbound path: the IP packet in it must be the frame after its header, and an
/// answer a whole ARP reply or neighbour advertisement, waiting for the next receive.
pub fn ethernet_frame(bytes: &[u8]) {
    use crate::sys::ethernet_sim::{EthernetSim, Outbound, ETHERNET_HEADER_LEN, MAX_REPLY_LEN};

    let sim = EthernetSim::default();
    match sim.outbound(bytes) {
        Outbound::Ip { version, packet } => {
            assert!(version == 4 || version == 6, "IP version {version}");
            assert_eq!(Some(packet), bytes.get(ETHERNET_HEADER_LEN..));
            assert_eq!(packet.first().map(|byte| byte >> 4), Some(version));
        }
        Outbound::Answered => {
            let mut buf = [0u8; MAX_REPLY_LEN];
            let len = sim.take_reply(&mut buf);
            assert!(matches!(len, Some(42 | 86)), "an answer of {len:?} bytes");
            assert!(!sim.has_reply(), "two answers to one frame");
        }
        Outbound::Dropped(_) => {
            assert!(!sim.has_reply(), "an answer to a dropped frame");
            assert_eq!(sim.dropped(), 1);
        }
    }
}
/// One read from an offload device: a virtio header (the first 10 bytes) and the packet behind
/// it. A super-packet is cut into every one of its segments, each of which must be as long as
/// announced and carry right checksums, with no more output than headers per segment plus the
/// payload; any other packet gets its partial checksum finished, which must then complement
/// the pseudo-header sum the kernel left in the field.
pub fn offload_split(bytes: &[u8]) {
    let Some((header, packet)) = bytes.split_first_chunk::<{ VirtioHeader::LEN }>() else {
        return;
    };
    let header = VirtioHeader::decode(*header);
    if header.is_gso() {
        let _ = testing::check_segments_with(&header, packet, false);
        return;
    }
    let mut completed = packet.to_vec();
    if complete_checksum(&header, &mut completed).is_err() || header.flags & NEEDS_CSUM == 0 {
        assert!(
            completed == packet,
            "changed a packet it refused or had no work for"
        );
        return;
    }
    let start = usize::from(header.csum_start);
    let field = start + usize::from(header.csum_offset);
    // Checksum fields sit at even offsets; an odd one only has to be written without panic.
    if header.csum_offset % 2 == 0 {
        let seed = u16::from_be_bytes([byte_at(packet, field), byte_at(packet, field + 1)]);
        let range = completed.get(start..).unwrap_or_default();
        let sum = u32::from(testing::naive_sum(range)) + u32::from(seed);
        let folded = (sum & 0xffff) + (sum >> 16);
        assert_eq!(
            folded, 0xffff,
            "completed checksum does not complement the seed"
        );
    }
}

/// The byte at `at`, 0 past the end.
fn byte_at(bytes: &[u8], at: usize) -> u8 {
    bytes.get(at).copied().unwrap_or(0)
}

/// A batch to send through an offload device, planned and checked: every packet in exactly one
/// group, in order, limits kept, and for each merged group the kernel's round trip (header
/// written, super-packet parsed and cut again) giving back its members byte for byte. The first
/// byte chooses the options (bit 0 TCP, bit 1 UDP) and the mode: bit 2 clear, the rest drives a
/// generator of realistic flows (so the fuzzer explores merge rules rather than checksums);
/// set, the rest is raw packets, each behind a one-byte length.
pub fn offload_coalesce(bytes: &[u8]) {
    let Some((&mode, rest)) = bytes.split_first() else {
        return;
    };
    let options = CoalesceOptions {
        tcp: mode & 1 != 0,
        udp: mode & 2 != 0,
    };
    let list = if mode & 4 == 0 {
        let mut entropy = FuzzBytes(rest);
        let max_mss = 1 + entropy.below(1500) as usize;
        testing::random_batch(&mut entropy, 64, max_mss)
    } else {
        let mut list = List::default();
        let mut rest = rest;
        while let Some((&len, tail)) = rest.split_first() {
            let (packet, tail) = tail.split_at(usize::from(len).min(tail.len()));
            // Not vouched for: the planner verifies them (a vouched-for bad checksum would be
            // merged, and come back corrected).
            list.push(packet.to_vec(), false);
            rest = tail;
        }
        list
    };
    testing::check_plan(&list, options, &mut Coalescer::new());
}
