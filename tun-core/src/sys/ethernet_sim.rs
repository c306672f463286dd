//! A TAP device simulated over an IP-only (TUN) device, for the platforms whose kernel has no
//! TAP driver (macOS: utun carries IP packets only).
//!
//! The model is one Ethernet link with two stations: the user's (the device's MAC, which
//! [`mac`](EthernetSim::mac)/[`set_mac`](EthernetSim::set_mac) act on) and the kernel's, a fixed
//! peer ([`PEER_MAC`]) behind which every IP address lies. So:
//!
//! - an IP packet from the kernel becomes a frame from the peer to the device's MAC, with the
//!   EtherType of its IP version ([`EthernetSim::header`]);
//! - a frame from the user is stripped to its IP packet ([`EthernetSim::outbound`]); frames that
//!   are not IPv4 or IPv6, or addressed to another station, are dropped and counted;
//! - ARP requests and IPv6 neighbour solicitations are answered here, for any address but the
//!   asker's own, with the peer's MAC (proxy ARP for the whole link), and the answer waits for
//!   the next receive ([`EthernetSim::take_reply`]).
//!
//! What differs from a real TAP device: there is no broadcast domain (no other station, no
//! bridge, frames between user stations go nowhere), only IP reaches the kernel, and address
//! probes (ARP with a zero sender, DAD solicitations) are never answered, so the user's
//! addresses never look taken.
//!
//! Pure and platform-neutral: no I/O, no `unsafe`. The platform queue moves the bytes, with the
//! frame header written in front of the packet in the caller's buffer (no copy of the packet).
//! The unit tests and `tests/apple_tap_sim.rs` (over a Linux TUN device, through the hidden
//! `tun_core::__ethernet_sim`) run on Linux.

use std::collections::VecDeque;
use std::io::IoSliceMut;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// The length of an Ethernet header (no VLAN tag: the simulation never makes one).
pub const ETHERNET_HEADER_LEN: usize = 14;
/// The EtherTypes the simulation knows.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// The kernel's side of the link: locally administered, "utun" in its middle bytes.
pub const PEER_MAC: [u8; 6] = [0x02, 0x75, 0x74, 0x75, 0x6e, 0x01];
/// The device's MAC until one is set: locally administered, one above the peer's.
pub const DEFAULT_MAC: [u8; 6] = [0x02, 0x75, 0x74, 0x75, 0x6e, 0x02];

/// Answers waiting beyond this many are dropped (and counted): a user that sends requests and
/// never receives must not grow memory without bound.
pub const MAX_PENDING_REPLIES: usize = 64;
/// The longest answer: a neighbour advertisement with its link-layer option (14 + 40 + 32).
pub const MAX_REPLY_LEN: usize = 86;

const ARP_LEN: usize = 28;
const IPV6_HEADER_LEN: usize = 40;
const ICMPV6: u8 = 58;
const NEIGHBOUR_SOLICITATION: u8 = 135;
const NEIGHBOUR_ADVERTISEMENT: u8 = 136;

/// An answer made here (an ARP reply or a neighbour advertisement), as a whole frame.
#[derive(Clone, Copy)]
pub struct Reply {
    bytes: [u8; MAX_REPLY_LEN],
    len: usize,
}

impl Reply {
    fn new(len: usize) -> Reply {
        Reply {
            bytes: [0; MAX_REPLY_LEN],
            len: len.min(MAX_REPLY_LEN),
        }
    }

    /// The frame.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    fn put(&mut self, at: usize, bytes: &[u8]) {
        if let Some(dst) = self.bytes.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Why a frame from the user did not reach the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Shorter than an Ethernet header, or than the ARP or IPv6 header it announces.
    TooShort,
    /// Addressed to a unicast MAC other than the peer's or the device's.
    NotForUs,
    /// An EtherType other than IPv4, IPv6 and ARP (VLAN tags included).
    NotIp(u16),
    /// The EtherType and the IP version of the packet disagree.
    VersionMismatch,
    /// An ARP message or a neighbour solicitation that gets no answer: a reply, an
    /// announcement, an address probe, a question about the asker's own address.
    Unanswered,
}

/// What became of a frame from the user.
#[derive(Debug, PartialEq, Eq)]
pub enum Outbound<'a> {
    /// An IP packet for the kernel: the frame without its header.
    Ip {
        /// 4 or 6.
        version: u8,
        /// The packet.
        packet: &'a [u8],
    },
    /// A question answered here; the answer waits for [`EthernetSim::take_reply`].
    Answered,
    /// Dropped, as a switch would, and counted.
    Dropped(Dropped),
}

/// The state of one simulated TAP device, shared by its queues and its interface handle.
#[derive(Debug)]
pub struct EthernetSim {
    /// The device's MAC in the low 48 bits (atomic, so receives never lock for it).
    mac: AtomicU64,
    pending: Mutex<VecDeque<Reply>>,
    dropped: AtomicU64,
    answered: AtomicU64,
}

fn mac_to_u64(mac: [u8; 6]) -> u64 {
    let [a, b, c, d, e, f] = mac;
    u64::from_be_bytes([0, 0, a, b, c, d, e, f])
}

fn u64_to_mac(value: u64) -> [u8; 6] {
    let [_, _, a, b, c, d, e, f] = value.to_be_bytes();
    [a, b, c, d, e, f]
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let pair = bytes.get(at..at + 2)?;
    Some(u16::from_be_bytes([*pair.first()?, *pair.get(1)?]))
}

fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at + N)?.try_into().ok()
}

impl Default for EthernetSim {
    fn default() -> Self {
        EthernetSim::new(DEFAULT_MAC)
    }
}

impl EthernetSim {
    /// A device whose MAC is `mac`.
    pub fn new(mac: [u8; 6]) -> EthernetSim {
        EthernetSim {
            mac: AtomicU64::new(mac_to_u64(mac)),
            pending: Mutex::new(VecDeque::new()),
            dropped: AtomicU64::new(0),
            answered: AtomicU64::new(0),
        }
    }

    /// The device's (simulated) MAC: the destination of every frame it receives.
    pub fn mac(&self) -> [u8; 6] {
        u64_to_mac(self.mac.load(Ordering::Relaxed))
    }

    /// Sets the device's MAC; frames received from now on are addressed to it.
    pub fn set_mac(&self, mac: [u8; 6]) {
        self.mac.store(mac_to_u64(mac), Ordering::Relaxed);
    }

    /// Frames from the user that were dropped (not IP, not for this link, unanswered questions,
    /// answers beyond [`MAX_PENDING_REPLIES`]).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Questions (ARP, neighbour solicitation) answered so far.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// The Ethernet header for an IP packet of `version` from the kernel: to the device's MAC,
    /// from the peer, with the EtherType of the version (IPv6 for 6, IPv4 otherwise: the
    /// platform has checked the version already).
    pub fn header(&self, version: u8) -> [u8; ETHERNET_HEADER_LEN] {
        let ethertype = if version == 6 {
            ETHERTYPE_IPV6
        } else {
            ETHERTYPE_IPV4
        };
        ethernet_header(self.mac(), PEER_MAC, ethertype)
    }

    /// Sorts a frame from the user: the IP packet in it, or an answered question, or a drop.
    pub fn outbound<'a>(&self, frame: &'a [u8]) -> Outbound<'a> {
        let outbound = self.classify(frame);
        match outbound {
            Outbound::Dropped(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Outbound::Answered => {
                self.answered.fetch_add(1, Ordering::Relaxed);
            }
            Outbound::Ip { .. } => {}
        }
        outbound
    }

    fn classify<'a>(&self, frame: &'a [u8]) -> Outbound<'a> {
        let (Some(destination), Some(ethertype)) = (array::<6>(frame, 0), be16(frame, 12)) else {
            return Outbound::Dropped(Dropped::TooShort);
        };
        // Multicast and broadcast (the group bit) reach every station; a unicast frame only
        // the one it names. The device's own MAC is accepted too, for code that addresses the
        // kernel by `mac()` as on Linux, where that is the kernel's side.
        let group = destination[0] & 1 == 1;
        if !group && destination != PEER_MAC && destination != self.mac() {
            return Outbound::Dropped(Dropped::NotForUs);
        }
        let payload = frame.get(ETHERNET_HEADER_LEN..).unwrap_or_default();
        let reply = match ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => {
                let expected = if ethertype == ETHERTYPE_IPV4 { 4 } else { 6 };
                let Some(&first) = payload.first() else {
                    return Outbound::Dropped(Dropped::TooShort);
                };
                if first >> 4 != expected {
                    return Outbound::Dropped(Dropped::VersionMismatch);
                }
                if ethertype == ETHERTYPE_IPV4 || !is_neighbour_solicitation(payload) {
                    return Outbound::Ip {
                        version: expected,
                        packet: payload,
                    };
                }
                neighbour_advertisement(frame)
            }
            ETHERTYPE_ARP => {
                if payload.len() < ARP_LEN {
                    return Outbound::Dropped(Dropped::TooShort);
                }
                arp_reply(frame)
            }
            other => return Outbound::Dropped(Dropped::NotIp(other)),
        };
        let Some(reply) = reply else {
            return Outbound::Dropped(Dropped::Unanswered);
        };
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.len() >= MAX_PENDING_REPLIES {
            return Outbound::Dropped(Dropped::Unanswered);
        }
        pending.push_back(reply);
        Outbound::Answered
    }

    /// Whether an answer is waiting.
    pub fn has_reply(&self) -> bool {
        !self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// Moves the oldest waiting answer into `buf` (truncated to it, as the kernel truncates a
    /// packet), and returns its length; `None` if none waits.
    pub fn take_reply(&self, buf: &mut [u8]) -> Option<usize> {
        let reply = self.pop()?;
        let bytes = reply.as_bytes();
        let len = bytes.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..len), bytes.get(..len)) {
            dst.copy_from_slice(src);
        }
        Some(len)
    }

    /// [`take_reply`](Self::take_reply) into several buffers, filled in order.
    pub fn take_reply_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> Option<usize> {
        let reply = self.pop()?;
        let mut rest = reply.as_bytes();
        let mut copied = 0;
        for buf in bufs.iter_mut() {
            let len = rest.len().min(buf.len());
            let (now, later) = rest.split_at(len);
            if let Some(dst) = buf.get_mut(..len) {
                dst.copy_from_slice(now);
            }
            copied += len;
            rest = later;
        }
        Some(copied)
    }

    fn pop(&self) -> Option<Reply> {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }
}

/// An Ethernet header.
pub fn ethernet_header(
    destination: [u8; 6],
    source: [u8; 6],
    ethertype: u16,
) -> [u8; ETHERNET_HEADER_LEN] {
    let mut header = [0; ETHERNET_HEADER_LEN];
    let [t0, t1] = ethertype.to_be_bytes();
    for (dst, src) in header
        .iter_mut()
        .zip(destination.iter().chain(&source).chain(&[t0, t1]))
    {
        *dst = *src;
    }
    header
}

/// The answer to an ARP request (`frame` is the whole frame) for any IPv4 address but the
/// asker's own, from the peer; `None` for anything else: replies, announcements (the sender
/// asking for its own address) and probes (sender `0.0.0.0`, RFC 5227), which must stay
/// unanswered for the user's address to be usable.
pub fn arp_reply(frame: &[u8]) -> Option<Reply> {
    let arp = frame.get(ETHERNET_HEADER_LEN..)?;
    // Ethernet (1), IPv4, 6-byte and 4-byte addresses, a request (1).
    let fixed = [0, 1, 0x08, 0x00, 6, 4, 0, 1];
    if arp.get(..8)? != fixed {
        return None;
    }
    let sender_mac = array::<6>(arp, 8)?;
    let sender_ip = Ipv4Addr::from(array::<4>(arp, 14)?);
    let target_ip = Ipv4Addr::from(array::<4>(arp, 24)?);
    if sender_ip.is_unspecified() || sender_ip == target_ip {
        return None;
    }
    let mut reply = Reply::new(ETHERNET_HEADER_LEN + ARP_LEN);
    reply.put(0, &ethernet_header(sender_mac, PEER_MAC, ETHERTYPE_ARP));
    reply.put(14, &[0, 1, 0x08, 0x00, 6, 4, 0, 2]);
    reply.put(22, &PEER_MAC);
    reply.put(28, &target_ip.octets());
    reply.put(32, &sender_mac);
    reply.put(38, &sender_ip.octets());
    Some(reply)
}

/// Whether an IPv6 packet is an ICMPv6 neighbour solicitation (without extension headers,
/// which neighbour discovery never uses).
fn is_neighbour_solicitation(packet: &[u8]) -> bool {
    packet.get(6) == Some(&ICMPV6) && packet.get(IPV6_HEADER_LEN) == Some(&NEIGHBOUR_SOLICITATION)
}

/// The advertisement answering a neighbour solicitation (`frame` is the whole frame) for any
/// address but the asker's own, from the peer (RFC 4861 §7.2.4: solicited, override, and
/// router, since the peer forwards everything); `None` for a solicitation that is malformed
/// (hop limit not 255, bad checksum, short) or a duplicate address detection probe (from `::`).
pub fn neighbour_advertisement(frame: &[u8]) -> Option<Reply> {
    let sender_mac = array::<6>(frame, 6)?;
    let ip = frame.get(ETHERNET_HEADER_LEN..)?;
    let payload_len = usize::from(be16(ip, 4)?);
    let icmp = ip.get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + payload_len)?;
    let source = Ipv6Addr::from(array::<16>(ip, 8)?);
    let destination = Ipv6Addr::from(array::<16>(ip, 24)?);
    if ip.get(7) != Some(&255) || icmp.len() < 24 || icmp.get(1) != Some(&0) {
        return None;
    }
    if icmpv6_checksum(source, destination, icmp) != 0 {
        return None;
    }
    let target = Ipv6Addr::from(array::<16>(icmp, 8)?);
    if source.is_unspecified() || target == source || target.is_multicast() {
        return None;
    }
    let mut reply = Reply::new(MAX_REPLY_LEN);
    reply.put(0, &ethernet_header(sender_mac, PEER_MAC, ETHERTYPE_IPV6));
    // IPv6: version 6, 32 bytes of ICMPv6, hop limit 255, from the target to the asker.
    reply.put(14, &[0x60, 0, 0, 0, 0, 32, ICMPV6, 255]);
    reply.put(22, &target.octets());
    reply.put(38, &source.octets());
    let mut icmp = [0u8; 32];
    icmp[0] = NEIGHBOUR_ADVERTISEMENT;
    icmp[4] = 0xe0; // router, solicited, override
    icmp[8..24].copy_from_slice(&target.octets());
    // Option 2, the target's link-layer address, one 8-byte unit.
    icmp[24] = 2;
    icmp[25] = 1;
    icmp[26..32].copy_from_slice(&PEER_MAC);
    let checksum = icmpv6_checksum(target, source, &icmp);
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());
    reply.put(54, &icmp);
    Some(reply)
}

/// The ICMPv6 checksum over the pseudo-header and `icmp`: 0 for a message whose checksum field
/// is right, the value to put there for one whose field is 0.
pub fn icmpv6_checksum(source: Ipv6Addr, destination: Ipv6Addr, icmp: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let high = u64::from(pair.first().copied().unwrap_or(0));
            let low = u64::from(pair.get(1).copied().unwrap_or(0));
            sum += (high << 8) | low;
        }
    };
    add(&source.octets());
    add(&destination.octets());
    add(&(icmp.len() as u32).to_be_bytes());
    add(&[0, 0, 0, ICMPV6]);
    add(icmp);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x42];

    fn arp_request(sender_ip: [u8; 4], target_ip: [u8; 4]) -> Vec<u8> {
        let mut frame = ethernet_header([0xff; 6], USER, ETHERTYPE_ARP).to_vec();
        frame.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
        frame.extend_from_slice(&USER);
        frame.extend_from_slice(&sender_ip);
        frame.extend_from_slice(&[0; 6]);
        frame.extend_from_slice(&target_ip);
        frame
    }

    fn solicitation(source: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
        let [.., c, d] = target.octets();
        let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00 | u16::from(c), u16::from(d));
        let mut icmp = vec![NEIGHBOUR_SOLICITATION, 0, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&target.octets());
        icmp.extend_from_slice(&[1, 1]);
        icmp.extend_from_slice(&USER);
        let checksum = icmpv6_checksum(source, group, &icmp);
        icmp[2..4].copy_from_slice(&checksum.to_be_bytes());
        let mut frame = ethernet_header([0x33, 0x33, 0xff, 0, c, d], USER, ETHERTYPE_IPV6).to_vec();
        frame.extend_from_slice(&[0x60, 0, 0, 0, 0, icmp.len() as u8, ICMPV6, 255]);
        frame.extend_from_slice(&source.octets());
        frame.extend_from_slice(&group.octets());
        frame.extend_from_slice(&icmp);
        frame
    }

    fn v6(text: &str) -> Ipv6Addr {
        text.parse().unwrap()
    }

    #[test]
    fn utun_tap_frames_ip_from_the_peer_to_the_device() {
        let sim = EthernetSim::new(USER);
        let header = sim.header(4);
        assert_eq!(header[..6], USER);
        assert_eq!(header[6..12], PEER_MAC);
        assert_eq!(header[12..], [0x08, 0x00]);
        assert_eq!(sim.header(6)[12..], [0x86, 0xdd]);
        sim.set_mac([0x02, 1, 2, 3, 4, 5]);
        assert_eq!(sim.mac(), [0x02, 1, 2, 3, 4, 5]);
        assert_eq!(sim.header(6)[..6], [0x02, 1, 2, 3, 4, 5]);
        assert_eq!(EthernetSim::default().mac(), DEFAULT_MAC);
    }

    #[test]
    fn utun_tap_strips_ip_frames() {
        let sim = EthernetSim::new(USER);
        let mut frame = ethernet_header(PEER_MAC, USER, ETHERTYPE_IPV4).to_vec();
        frame.extend_from_slice(&[0x45, 0, 0, 20]);
        assert_eq!(
            sim.outbound(&frame),
            Outbound::Ip {
                version: 4,
                packet: &[0x45, 0, 0, 20]
            }
        );
        // To the device's own MAC (Linux code addressing the kernel by `mac()`): accepted.
        let mut frame = ethernet_header(USER, [2, 9, 9, 9, 9, 9], ETHERTYPE_IPV6).to_vec();
        frame.extend_from_slice(&[0x60, 0, 0, 0]);
        assert!(matches!(
            sim.outbound(&frame),
            Outbound::Ip { version: 6, .. }
        ));
        assert_eq!(sim.dropped(), 0);
    }

    #[test]
    fn utun_tap_drops_and_counts_what_is_not_ip() {
        let sim = EthernetSim::new(USER);
        let with = |destination, ethertype: u16, payload: &[u8]| {
            let mut frame = ethernet_header(destination, USER, ethertype).to_vec();
            frame.extend_from_slice(payload);
            frame
        };
        let cases = [
            (vec![0u8; 13], Dropped::TooShort),
            (with(PEER_MAC, ETHERTYPE_IPV4, &[]), Dropped::TooShort),
            (with(PEER_MAC, 0x8100, &[0; 40]), Dropped::NotIp(0x8100)),
            (with(PEER_MAC, 0x88cc, &[0; 40]), Dropped::NotIp(0x88cc)),
            (
                with([2, 7, 7, 7, 7, 7], ETHERTYPE_IPV4, &[0x45]),
                Dropped::NotForUs,
            ),
            (
                with(PEER_MAC, ETHERTYPE_IPV4, &[0x60]),
                Dropped::VersionMismatch,
            ),
            (
                with(PEER_MAC, ETHERTYPE_IPV6, &[0x45]),
                Dropped::VersionMismatch,
            ),
            (with([0xff; 6], ETHERTYPE_ARP, &[0; 27]), Dropped::TooShort),
        ];
        for (n, (frame, reason)) in cases.iter().enumerate() {
            assert_eq!(sim.outbound(frame), Outbound::Dropped(*reason), "{frame:?}");
            assert_eq!(sim.dropped(), n as u64 + 1);
        }
        assert!(!sim.has_reply());
    }

    #[test]
    fn utun_tap_answers_arp_for_the_peer() {
        let sim = EthernetSim::new(USER);
        let request = arp_request([10, 0, 0, 2], [10, 0, 0, 1]);
        assert_eq!(sim.outbound(&request), Outbound::Answered);
        assert_eq!(sim.answered(), 1);
        let mut buf = [0u8; 100];
        let n = sim.take_reply(&mut buf).unwrap();
        assert_eq!(n, 42);
        let reply = &buf[..n];
        assert_eq!(reply[..6], USER);
        assert_eq!(reply[6..12], PEER_MAC);
        assert_eq!(reply[12..14], [0x08, 0x06]);
        assert_eq!(reply[20..22], [0, 2]);
        assert_eq!(reply[22..28], PEER_MAC);
        assert_eq!(reply[28..32], [10, 0, 0, 1]);
        assert_eq!(reply[32..38], USER);
        assert_eq!(reply[38..42], [10, 0, 0, 2]);
        assert_eq!(sim.take_reply(&mut buf), None);
        // Any address off the asker's own is behind the peer.
        assert_eq!(
            sim.outbound(&arp_request([10, 0, 0, 2], [192, 168, 1, 1])),
            Outbound::Answered
        );
    }

    #[test]
    fn utun_tap_leaves_arp_probes_and_announcements_unanswered() {
        let sim = EthernetSim::new(USER);
        let probe = arp_request([0, 0, 0, 0], [10, 0, 0, 2]);
        let announcement = arp_request([10, 0, 0, 2], [10, 0, 0, 2]);
        let mut reply = arp_request([10, 0, 0, 2], [10, 0, 0, 1]);
        reply[21] = 2;
        for frame in [probe, announcement, reply] {
            assert_eq!(sim.outbound(&frame), Outbound::Dropped(Dropped::Unanswered));
        }
        assert!(!sim.has_reply());
        assert_eq!(sim.answered(), 0);
    }

    #[test]
    fn utun_tap_answers_neighbour_solicitations() {
        let sim = EthernetSim::new(USER);
        let (user, peer) = (v6("fd00::2"), v6("fd00::1"));
        assert_eq!(sim.outbound(&solicitation(user, peer)), Outbound::Answered);
        let mut buf = [0u8; MAX_REPLY_LEN];
        let n = sim.take_reply(&mut buf).unwrap();
        assert_eq!(n, 86);
        assert_eq!(buf[..6], USER);
        assert_eq!(buf[6..12], PEER_MAC);
        assert_eq!(buf[12..14], [0x86, 0xdd]);
        let ip = &buf[14..];
        assert_eq!(ip[6..8], [ICMPV6, 255]);
        assert_eq!(ip[8..24], peer.octets());
        assert_eq!(ip[24..40], user.octets());
        let icmp = &ip[40..];
        assert_eq!(icmp[0], NEIGHBOUR_ADVERTISEMENT);
        assert_eq!(icmp[4], 0xe0);
        assert_eq!(icmp[8..24], peer.octets());
        assert_eq!(icmp[24..26], [2, 1]);
        assert_eq!(icmp[26..32], PEER_MAC);
        // The checksum is right: summed with it, the pseudo-header checks to 0.
        assert_eq!(icmpv6_checksum(peer, user, icmp), 0);
    }

    #[test]
    fn utun_tap_leaves_dad_and_bad_solicitations_unanswered() {
        let sim = EthernetSim::new(USER);
        let dad = solicitation(Ipv6Addr::UNSPECIFIED, v6("fd00::2"));
        let own = solicitation(v6("fd00::2"), v6("fd00::2"));
        let mut bad_checksum = solicitation(v6("fd00::2"), v6("fd00::1"));
        bad_checksum[56] ^= 0xff;
        let mut forwarded = solicitation(v6("fd00::2"), v6("fd00::1"));
        forwarded[21] = 64; // hop limit 64: not from the link itself
        for frame in [dad, own, bad_checksum, forwarded] {
            assert_eq!(sim.outbound(&frame), Outbound::Dropped(Dropped::Unanswered));
        }
        assert!(!sim.has_reply());
    }

    #[test]
    fn utun_tap_bounds_and_scatters_replies() {
        let sim = EthernetSim::new(USER);
        let request = arp_request([10, 0, 0, 2], [10, 0, 0, 1]);
        for _ in 0..MAX_PENDING_REPLIES {
            assert_eq!(sim.outbound(&request), Outbound::Answered);
        }
        assert_eq!(
            sim.outbound(&request),
            Outbound::Dropped(Dropped::Unanswered)
        );
        let (mut a, mut b) = ([0u8; 10], [0u8; 40]);
        let n = sim
            .take_reply_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)])
            .unwrap();
        assert_eq!(n, 42);
        assert_eq!(a[..6], USER);
        // The frame goes on where the first buffer ends: EtherType at 12, ARP opcode at 20.
        assert_eq!(b[2..4], [0x08, 0x06]);
        assert_eq!(b[10..12], [0, 2]);
        // A short buffer truncates, as the kernel does.
        let mut short = [0u8; 6];
        assert_eq!(sim.take_reply(&mut short), Some(6));
        assert_eq!(short, USER);
    }
}
