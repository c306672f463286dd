//! The door the fuzz targets in `fuzz/` go through: one function per parser of untrusted bytes,
//! each feeding its input the way the crate itself would and checking what must hold for any
//! input. The fuzzer looks for panics (indexing, overflow, the checks below) and for inputs that
//! take too long (a loop that does not advance).
//!
//! Compiled only under `--cfg fuzzing`, which `cargo fuzz` passes, and hidden from the docs: the
//! parsers stay private, and no normal build has this module.

use crate::check;
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
