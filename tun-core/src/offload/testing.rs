//! Packets for the tests and the fuzz targets: a builder that computes its checksums with its
//! own naive RFC 1071 code (so it checks the fast code rather than sharing its mistakes), a
//! generator of realistic batches driven by a seeded PRNG or by the fuzzer's bytes, and the
//! checks every plan and every split must pass.
//!
//! Compiled for tests and `--cfg fuzzing` only. A panic here is the report of a failure.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::packet::{Layout, TCP_ACK, TCP_PSH};
use super::split::verify_packet;
use super::{
    complete_checksum, CoalesceOptions, Coalescer, Packets, Segments, VirtioHeader, GSO_TCPV4,
    GSO_TCPV6, GSO_UDP_L4, HEAD_MAX, NEEDS_CSUM,
};

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

/// Every header field a test may want to vary.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) v6: bool,
    pub(crate) tcp: bool,
    /// Last byte of the source address.
    pub(crate) host: u8,
    /// Last byte of the destination address.
    pub(crate) peer: u8,
    pub(crate) sport: u16,
    pub(crate) dport: u16,
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    pub(crate) flags: u8,
    pub(crate) window: u16,
    pub(crate) urgent: u16,
    /// TCP option words (0..=10) and the byte they start from.
    pub(crate) options: u8,
    pub(crate) option_fill: u8,
    pub(crate) tos: u8,
    pub(crate) ttl: u8,
    pub(crate) df: bool,
    pub(crate) id: u16,
    /// IPv4 "more fragments" and fragment offset bits.
    pub(crate) fragment: u16,
    pub(crate) label: u32,
    /// IPv4 option words (0..=10).
    pub(crate) ip_options: u8,
    /// IPv4 UDP: send no checksum (0).
    pub(crate) no_udp_checksum: bool,
}

impl Spec {
    pub(crate) fn new(v6: bool, tcp: bool) -> Self {
        Self {
            v6,
            tcp,
            host: 1,
            peer: 2,
            sport: 40000,
            dport: 443,
            seq: 0x1000_0000,
            ack: 0x2000_0000,
            flags: TCP_ACK,
            window: 502,
            urgent: 0,
            options: 3,
            option_fill: 1,
            tos: 0,
            ttl: 64,
            df: true,
            id: 0x1234,
            fragment: 0,
            label: 0x12345,
            ip_options: 0,
            no_udp_checksum: false,
        }
    }

    pub(crate) fn ip_len(&self) -> usize {
        if self.v6 {
            40
        } else {
            20 + 4 * usize::from(self.ip_options)
        }
    }

    pub(crate) fn header_len(&self) -> usize {
        self.ip_len()
            + if self.tcp {
                20 + 4 * usize::from(self.options)
            } else {
                8
            }
    }
}

/// A whole packet with correct lengths and checksums.
pub(crate) fn build(spec: &Spec, payload: &[u8]) -> Vec<u8> {
    let ip_len = spec.ip_len();
    let len = spec.header_len() + payload.len();
    let l4_len = len - ip_len;
    let protocol = if spec.tcp { 6 } else { 17 };
    let mut p = Vec::with_capacity(len);
    if spec.v6 {
        let word = (6 << 28) | (u32::from(spec.tos) << 20) | (spec.label & 0xf_ffff);
        p.extend_from_slice(&word.to_be_bytes());
        p.extend_from_slice(&(l4_len as u16).to_be_bytes());
        p.extend_from_slice(&[protocol, spec.ttl]);
        p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, spec.host]);
        p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, spec.peer]);
    } else {
        p.push(0x40 | (5 + spec.ip_options));
        p.push(spec.tos);
        p.extend_from_slice(&(len as u16).to_be_bytes());
        p.extend_from_slice(&spec.id.to_be_bytes());
        let frag = if spec.df { 0x4000 } else { 0 } | (spec.fragment & 0x3fff);
        p.extend_from_slice(&frag.to_be_bytes());
        p.extend_from_slice(&[spec.ttl, protocol, 0, 0]);
        p.extend_from_slice(&[10, 0, 0, spec.host, 10, 0, 1, spec.peer]);
        // No-operation options: valid and meaningless.
        p.resize(ip_len, 1);
        let checksum = !naive_sum(&p[..ip_len]);
        p[10..12].copy_from_slice(&checksum.to_be_bytes());
    }
    p.extend_from_slice(&spec.sport.to_be_bytes());
    p.extend_from_slice(&spec.dport.to_be_bytes());
    if spec.tcp {
        p.extend_from_slice(&spec.seq.to_be_bytes());
        p.extend_from_slice(&spec.ack.to_be_bytes());
        p.push((5 + spec.options) << 4);
        p.push(spec.flags);
        p.extend_from_slice(&spec.window.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(&spec.urgent.to_be_bytes());
        for i in 0..4 * spec.options {
            p.push(spec.option_fill.wrapping_add(i));
        }
    } else {
        p.extend_from_slice(&(l4_len as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
    }
    p.extend_from_slice(payload);
    if !spec.no_udp_checksum || spec.tcp {
        let mut pseudo = Vec::with_capacity(40);
        if spec.v6 {
            pseudo.extend_from_slice(&p[8..40]);
        } else {
            pseudo.extend_from_slice(&p[12..20]);
        }
        pseudo.extend_from_slice(&[0, protocol]);
        pseudo.extend_from_slice(&(l4_len as u32).to_be_bytes());
        let sum = u32::from(naive_sum(&pseudo)) + u32::from(naive_sum(&p[ip_len..]));
        let mut checksum = !fold32(sum);
        if checksum == 0 && !spec.tcp {
            checksum = 0xffff;
        }
        let at = ip_len + if spec.tcp { 16 } else { 6 };
        p[at..at + 2].copy_from_slice(&checksum.to_be_bytes());
    }
    p
}

fn fold32(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// A payload of `len` bytes that differ from packet to packet.
pub(crate) fn payload(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 7) as u8
        })
        .collect()
}

/// Where a generator's choices come from.
pub(crate) trait Entropy {
    fn next(&mut self) -> u32;

    /// A number below `n` (0 when `n` is 0).
    fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }
}

/// xorshift64*: a seeded generator for reproducible property tests.
#[derive(Debug)]
pub(crate) struct Rng(pub(crate) u64);

impl Entropy for Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }
}

/// The fuzzer's bytes as choices: two bytes per choice, zeros once they run out.
#[derive(Debug)]
pub(crate) struct FuzzBytes<'a>(pub(crate) &'a [u8]);

impl Entropy for FuzzBytes<'_> {
    fn next(&mut self) -> u32 {
        let (now, rest) = self.0.split_at(self.0.len().min(2));
        self.0 = rest;
        now.iter()
            .fold(0, |value, byte| (value << 8) | u32::from(*byte))
    }
}

/// A batch to plan: packets, and which are known to have good checksums.
#[derive(Debug, Default)]
pub(crate) struct List {
    pub(crate) packets: Vec<Vec<u8>>,
    pub(crate) good: Vec<bool>,
}

impl List {
    pub(crate) fn push(&mut self, packet: Vec<u8>, good: bool) {
        self.packets.push(packet);
        self.good.push(good);
    }
}

impl Packets for List {
    fn len(&self) -> usize {
        self.packets.len()
    }

    fn packet(&self, index: usize) -> &[u8] {
        &self.packets[index]
    }

    fn checksum_known_good(&self, index: usize) -> bool {
        self.good[index]
    }
}

/// One flow of a generated batch and where it stands.
struct Flow {
    spec: Spec,
    mss: usize,
    /// IPv4 IDs stay fixed instead of counting up (only with DF).
    fixed_id: bool,
}

/// A batch as a relay sees one: a few interleaved flows sending full segments, with now and
/// then what must stop or split a merge (short and PSH segments, reordering, changed TTL,
/// window, options or acknowledgement, other flags, bad checksums, gaps, fragments, IP options,
/// UDP without checksum, garbage).
pub(crate) fn random_batch(e: &mut impl Entropy, max_packets: usize, max_mss: usize) -> List {
    let mut list = List::default();
    let flow_count = 1 + e.below(4) as usize;
    let mut flows: Vec<Flow> = (0..flow_count)
        .map(|i| {
            let kind = e.below(4);
            let mut spec = Spec::new(kind & 1 != 0, kind & 2 == 0);
            spec.host = i as u8;
            spec.sport = 1000 + i as u16;
            spec.seq = e.next().wrapping_mul(65537);
            spec.id = e.next() as u16;
            spec.df = e.chance(80);
            spec.options = e.below(4) as u8;
            Flow {
                spec,
                mss: 1 + e.below(max_mss as u32) as usize,
                fixed_id: false,
            }
        })
        .collect();
    let count = 1 + e.below(max_packets as u32) as usize;
    while list.packets.len() < count {
        let flow = &mut flows[e.below(flow_count as u32) as usize];
        let mut spec = flow.spec.clone();
        let mut len = flow.mss;
        let mut corrupt = false;
        let mut advance = true;
        match e.below(100) {
            0..=59 | 95..=99 => {}
            60..=67 => len = 1 + e.below(flow.mss as u32) as usize,
            68..=72 => spec.flags |= TCP_PSH,
            73..=75 => {
                // Two segments, the second first: the planner may put them back in order.
                let first = build(&spec, &payload(len, e.next()));
                let mut second_spec = spec.clone();
                second_spec.seq = spec.seq.wrapping_add(len as u32);
                second_spec.id = next_id(&spec, flow.fixed_id);
                let second = build(&second_spec, &payload(len, e.next()));
                list.push(second, e.chance(50));
                list.push(first, e.chance(50));
                flow.spec.seq = second_spec.seq.wrapping_add(len as u32);
                flow.spec.id = next_id(&second_spec, flow.fixed_id);
                continue;
            }
            76..=77 => corrupt = true,
            78..=79 => spec.ttl = spec.ttl.wrapping_add(1),
            80..=81 => flow.spec.window = flow.spec.window.wrapping_add(1),
            82..=83 => flow.spec.ack = flow.spec.ack.wrapping_add(1000),
            84 => spec.flags = [0x12, 0x11, 0x14, 0x30, 0x18 | 0x80, 0x50][e.below(6) as usize],
            85 => len = 0,
            86 => spec.seq = spec.seq.wrapping_add(flow.mss as u32),
            87 => len = flow.mss + 1 + e.below(8) as usize,
            88 => flow.fixed_id = flow.spec.df && !flow.fixed_id,
            89 => spec.ip_options = 1 + e.below(3) as u8,
            90 => spec.fragment = 0x2000,
            91 => spec.no_udp_checksum = true,
            92 => {
                let garbage = payload(e.below(70) as usize, e.next());
                list.push(garbage, e.chance(50));
                continue;
            }
            93..=94 => flow.spec.option_fill = flow.spec.option_fill.wrapping_add(1),
            _ => advance = false,
        }
        // Changes made to the flow above apply to this packet too.
        spec.window = flow.spec.window;
        spec.ack = flow.spec.ack;
        spec.option_fill = flow.spec.option_fill;
        let mut packet = build(&spec, &payload(len, e.next()));
        if corrupt {
            let at = packet.len() - 1;
            packet[at] ^= 0x5a;
        }
        let good = !corrupt && e.chance(50);
        list.push(packet, good);
        if advance {
            flow.spec.seq = spec.seq.wrapping_add(len as u32);
            flow.spec.id = next_id(&spec, flow.fixed_id);
        }
    }
    list
}

fn next_id(spec: &Spec, fixed: bool) -> u16 {
    if fixed {
        spec.id
    } else {
        spec.id.wrapping_add(1)
    }
}

/// What a plan merged, for tests that want to see the rules at work.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Merged {
    pub(crate) groups: usize,
    pub(crate) packets: usize,
}

/// Plans `list` and checks the plan: every packet in exactly one group, groups in order of
/// their first packet, only enabled protocols merged, no merged packet with a bad checksum, and
/// for each merged group the round trip the kernel would make: the super-packet built from
/// `write_head` and the members' payloads, parsed with the header written and cut into
/// segments, gives back the members byte for byte (IPv4 IDs aside where DF allows any), with
/// every checksum right.
pub(crate) fn check_plan(
    list: &List,
    options: CoalesceOptions,
    coalescer: &mut Coalescer,
) -> Merged {
    coalescer.plan(list, options);
    let mut seen = vec![false; list.len()];
    let mut previous_first = None;
    let mut merged = Merged::default();
    let mut head = [0u8; HEAD_MAX];
    for group in coalescer.groups() {
        let members = coalescer.members(group);
        assert_eq!(members.len(), group.len());
        assert!(!members.is_empty());
        for &member in members {
            assert!(!seen[usize::from(member)], "packet {member} in two groups");
            seen[usize::from(member)] = true;
        }
        let first = *members.iter().min().unwrap();
        assert!(previous_first < Some(first), "groups out of order");
        previous_first = Some(first);
        let n = coalescer.write_head(group, list, &mut head);
        let header = VirtioHeader::decode(head[..10].try_into().unwrap());
        if members.len() == 1 {
            assert_eq!(n, VirtioHeader::LEN);
            assert_eq!(header, VirtioHeader::default());
            continue;
        }
        merged.groups += 1;
        merged.packets += members.len();
        check_group(list, options, members, group.header_len(), &head[..n]);
    }
    assert!(seen.iter().all(|seen| *seen), "a packet in no group");
    merged
}

fn check_group(
    list: &List,
    options: CoalesceOptions,
    members: &[u16],
    header_len: usize,
    head: &[u8],
) {
    let header = VirtioHeader::decode(head[..10].try_into().unwrap());
    assert_eq!(head.len(), VirtioHeader::LEN + header_len);
    let first = &list.packets[usize::from(members[0])];
    let layout = Layout::parse(first).unwrap();
    assert_eq!(layout.header_len, header_len);
    assert_eq!(header.flags, NEEDS_CSUM);
    assert_eq!(usize::from(header.csum_start), layout.ip_len);
    assert_eq!(header.csum_offset, if layout.tcp { 16 } else { 6 });
    let gso_type = match (layout.tcp, layout.v6) {
        (true, false) => GSO_TCPV4,
        (true, true) => GSO_TCPV6,
        (false, _) => GSO_UDP_L4,
    };
    assert_eq!(header.gso_type, gso_type);
    assert!(if layout.tcp { options.tcp } else { options.udp });
    assert_eq!(usize::from(header.gso_size), first.len() - header_len);
    assert_eq!(usize::from(header.hdr_len), header_len);
    if !layout.tcp {
        assert!(members.len() <= 64, "{} UDP segments", members.len());
    }
    let mut whole = head[VirtioHeader::LEN..].to_vec();
    for &member in members {
        let packet = &list.packets[usize::from(member)];
        assert!(
            list.good[usize::from(member)] || verify_packet(packet),
            "merged a packet with a bad checksum"
        );
        whole.extend_from_slice(&packet[header_len..]);
    }
    assert!(
        whole.len() <= 65535,
        "super-packet of {} bytes",
        whole.len()
    );
    // The kernel's view: its checksum completion over the pseudo-header sum gives a valid
    // checksum for the whole super-packet...
    let mut completed = whole.clone();
    complete_checksum(&header, &mut completed).unwrap();
    assert!(verify_packet(&completed), "super-packet checksum wrong");
    // ... and its segmentation gives back the members.
    let segments = Segments::parse(&header, &whole).unwrap();
    assert_eq!(segments.count(), members.len());
    let mut out = vec![0u8; 65535];
    for (index, &member) in members.iter().enumerate() {
        let n = segments.write_segment(&whole, index, &mut out).unwrap();
        let segment = &out[..n];
        let expected = &list.packets[usize::from(member)];
        assert!(verify_packet(segment), "segment {index} checksum wrong");
        if segment != &expected[..] {
            // DF packets may keep one ID where segmentation counts up: compare the rest.
            assert!(
                !layout.v6 && expected[6] & 0x40 != 0,
                "segment {index} differs"
            );
            let mask = |p: &[u8]| {
                let mut p = p.to_vec();
                p[4..6].fill(0);
                p[10..12].fill(0);
                p
            };
            assert_eq!(mask(segment), mask(expected), "segment {index} differs");
        }
    }
}

/// Parses a super-packet and writes every segment, checking what must hold for any input:
/// no panic, the announced lengths, bounded output, every segment's checksums right. Returns
/// the segments, or `None` when the parse refused the input.
pub(crate) fn check_segments(header: &VirtioHeader, packet: &[u8]) -> Option<Vec<Vec<u8>>> {
    let segments = Segments::parse(header, packet).ok()?;
    let count = segments.count();
    assert!(
        count >= 1 && count <= packet.len().max(1),
        "{count} segments"
    );
    let mut out = vec![0u8; 65536 + 128];
    let mut all = Vec::with_capacity(count);
    let mut total = 0;
    for index in 0..count {
        let len = segments.segment_len(index);
        let n = segments.write_segment(packet, index, &mut out).unwrap();
        assert_eq!(n, len);
        assert!(verify_packet(&out[..n]), "segment {index} checksum wrong");
        total += n;
        all.push(out[..n].to_vec());
    }
    // Each segment repeats the headers (at most 120 bytes) and carries its share of payload.
    assert!(
        total <= packet.len() + count * 120,
        "{total} bytes out of {}",
        packet.len()
    );
    assert_eq!(segments.segment_len(count), 0);
    assert!(segments.write_segment(packet, count, &mut out).is_err());
    if let Some(last) = out.get_mut(..segments.segment_len(0).saturating_sub(1)) {
        assert!(segments.write_segment(packet, 0, last).is_err());
    }
    Some(all)
}
