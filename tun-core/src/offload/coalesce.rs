//! The write side: which packets of a batch go to the kernel together as one super-packet, and
//! the head that turns them into one.
//!
//! The rules are the kernel's GRO rules (`tcp_gro_receive`, `udp_gro_receive_segment`,
//! `inet_gro_receive`, `ipv6_gro_receive`, and their self-test `tools/testing/selftests/net/
//! gro.c`), a little stricter where that makes the kernel's later segmentation give back
//! exactly the packets we were handed: every header byte that segmentation copies from the head
//! must be equal in every member (TCP window and urgent pointer included; the kernel compares
//! the window too), so the only fields that differ are those segmentation rewrites (lengths,
//! IPv4 ID, TCP sequence number, PSH on the last, checksums).
//!
//! The plan is made without copying or allocating per packet: members are chained through a
//! reused `next` array while planning (a packet can join at either end of its group), then laid
//! out group by group in `members`; flows are found by a linear scan of a bounded table.

use super::packet::{
    be16, be32, byte, put16, set_ipv4_checksum, Layout, IPV4_DF, IPV4_FRAGMENT, IPV6_HEADER_LEN,
    TCP_ACK, TCP_PSH,
};
use super::virtio::{VirtioHeader, GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4, NEEDS_CSUM};

/// What the coalescer reads: the packets to send, in the order the user gave them.
pub(crate) trait Packets {
    /// How many packets there are.
    fn len(&self) -> usize;
    /// Packet `index` (`index < len()`): one whole IP packet.
    fn packet(&self, index: usize) -> &[u8];
    /// The transport checksum is known to be right (made by our split/completion, not handed
    /// out mutably since): planning need not verify it. Otherwise the planner verifies before
    /// merging and never merges a packet whose checksum is wrong (it is sent alone, as is).
    fn checksum_known_good(&self, index: usize) -> bool;
}

/// Which super-packets the device accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CoalesceOptions {
    /// TCP (TSO4/TSO6 granted).
    pub(crate) tcp: bool,
    /// UDP (USO granted).
    pub(crate) udp: bool,
}

/// Upper bound of `write_head`'s output: virtio header + IP header (IPv4 ≤ 60, IPv6 40) +
/// TCP ≤ 60.
pub(crate) const HEAD_MAX: usize = VirtioHeader::LEN + 60 + 60;

/// The kernel refuses a UDP super-packet of more segments (`UDP_MAX_SEGMENTS`, 64; newer
/// kernels take 128).
const UDP_MAX_SEGMENTS: usize = 64;
/// An IP packet's length must fit 16 bits (IPv6 could take 40 more; not worth the difference).
const MAX_IP_LEN: usize = 65535;
/// Flows remembered at once: a linear scan over at most this many keeps planning linear in the
/// batch size; a flow pushed out only loses the chance to merge further.
const FLOW_SLOTS: usize = 256;
/// The most packets one plan covers: members are `u16` indices.
const MAX_PACKETS: usize = u16::MAX as usize + 1;
/// End of a member chain.
const NONE: u32 = u32::MAX;

/// How the IPv4 IDs of a group's members go: the kernel's GRO takes IDs that count up by one,
/// or, with DF set, IDs that stay the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdRun {
    /// One member so far (or IPv6): either is possible.
    Open,
    Incrementing,
    Fixed,
}

/// One write: a packet alone, or several packets of one flow sent as one super-packet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Group {
    /// Where the members are in `Coalescer::members` (filled in once the plan is complete).
    start: u32,
    count: u32,
    /// Member chain while planning (packet indices, linked through `Coalescer::next`).
    first: u32,
    last: u32,
    /// Headers of a packet that may take more members; `None` for a packet that is sent alone
    /// whatever follows.
    layout: Option<Layout>,
    /// Payload length of the first member: the segment size of the super-packet.
    gso_size: usize,
    /// Headers plus every member's payload.
    ip_len: usize,
    last_payload: usize,
    last_psh: bool,
    head_seq: u32,
    next_seq: u32,
    head_id: u16,
    last_id: u16,
    id_run: IdRun,
}

impl Group {
    /// Members (at least one).
    pub(crate) fn len(&self) -> usize {
        self.count as usize
    }

    /// IP + transport header length, equal for every member (0 for a packet that is not TCP or
    /// UDP, which is always alone).
    pub(crate) fn header_len(&self) -> usize {
        self.layout.map_or(0, |layout| layout.header_len)
    }

    fn alone(index: u32, layout: Option<Layout>) -> Self {
        Self {
            start: 0,
            count: 1,
            first: index,
            last: index,
            layout,
            gso_size: 0,
            ip_len: 0,
            last_payload: 0,
            last_psh: false,
            head_seq: 0,
            next_seq: 0,
            head_id: 0,
            last_id: 0,
            id_run: IdRun::Open,
        }
    }

    /// Whether nothing can come after the last member: it carries PSH, or is shorter than the
    /// segment size (the kernel's GRO flushes then), or UDP's segment limit is reached.
    fn closed(&self, layout: &Layout) -> bool {
        self.last_psh
            || self.last_payload < self.gso_size
            || (!layout.tcp && self.len() >= UDP_MAX_SEGMENTS)
    }
}

/// What identifies a flow: packets with different keys are never merged. The TCP
/// acknowledgement number is part of it (as in the kernel's GRO and wireguard-go), and so is
/// the IPv6 flow label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlowKey {
    ports: u32,
    ack: u32,
    label: u32,
    v6: bool,
    tcp: bool,
    addresses: [u8; 32],
}

impl FlowKey {
    fn of(packet: &[u8], layout: &Layout) -> Self {
        let mut addresses = [0u8; 32];
        let from = if layout.v6 { 8..40 } else { 12..20 };
        for (to, from) in addresses
            .iter_mut()
            .zip(packet.get(from).unwrap_or_default())
        {
            *to = *from;
        }
        let l4 = layout.ip_len;
        Self {
            ports: be32(packet, l4).unwrap_or(0),
            ack: if layout.tcp {
                be32(packet, l4 + 8).unwrap_or(0)
            } else {
                0
            },
            label: if layout.v6 {
                be32(packet, 0).unwrap_or(0) & 0x000f_ffff
            } else {
                0
            },
            v6: layout.v6,
            tcp: layout.tcp,
            addresses,
        }
    }
}

/// A packet's part in the plan.
enum Role {
    /// Not TCP or UDP that we can follow: sent alone, belongs to no flow.
    Alone,
    /// A packet of a flow that cannot be merged (flags, no payload, bad checksum...): sent
    /// alone, and the flow's earlier group takes nothing after it, so the flow keeps its order.
    Barrier(Layout),
    /// A packet that may join or start a super-packet.
    Candidate(Layout),
}

fn role(packet: &[u8], known_good: bool, options: CoalesceOptions) -> Role {
    let Ok(layout) = Layout::parse(packet) else {
        return Role::Alone;
    };
    if !(if layout.tcp { options.tcp } else { options.udp }) {
        return Role::Alone;
    }
    if !layout.v6 && be16(packet, 6).unwrap_or(0) & IPV4_FRAGMENT != 0 {
        // Later fragments hold no ports: fragments are nobody's flow.
        return Role::Alone;
    }
    let l4 = layout.ip_len;
    let ip_length_ok = if layout.v6 {
        usize::from(be16(packet, 4).unwrap_or(0)) + IPV6_HEADER_LEN == packet.len()
    } else {
        usize::from(be16(packet, 2).unwrap_or(0)) == packet.len()
    };
    let headers_ok = if layout.tcp {
        let flags = byte(packet, l4 + 13);
        flags == TCP_ACK || flags == TCP_ACK | TCP_PSH
    } else {
        usize::from(be16(packet, l4 + 4).unwrap_or(0)) == packet.len() - l4
            // IPv4 UDP without a checksum: the kernel would add one when it segments.
            && be16(packet, l4 + 6) != Some(0)
    };
    let mergeable = ip_length_ok
        && headers_ok
        // IPv4 options are not merged by the kernel (it wants 0x45).
        && (layout.v6 || layout.ip_len == 20)
        && packet.len() > layout.header_len
        && (known_good || (layout.ip_checksum_ok(packet) && layout.transport_checksum_ok(packet)));
    if mergeable {
        Role::Candidate(layout)
    } else {
        Role::Barrier(layout)
    }
}

/// Whether two packets of one flow have equal bytes wherever segmentation copies the head's
/// (everything but lengths, IPv4 ID, checksums, TCP sequence number and flags; flags are
/// checked apart).
fn headers_match(a: &[u8], b: &[u8], layout: &Layout) -> bool {
    let equal = |range: std::ops::Range<usize>| a.get(range.clone()) == b.get(range);
    let l4 = layout.ip_len;
    let ip = if layout.v6 {
        equal(0..4) && equal(6..40)
    } else {
        equal(0..2) && equal(6..10) && equal(12..20)
    };
    let transport = if layout.tcp {
        equal(l4..l4 + 4)
            && equal(l4 + 8..l4 + 13)
            && equal(l4 + 14..l4 + 16)
            && equal(l4 + 18..layout.header_len)
    } else {
        equal(l4..l4 + 4)
    };
    ip && transport
}

/// Plans the writes of a batch; reusable, so that steady state allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Coalescer {
    groups: Vec<Group>,
    members: Vec<u16>,
    next: Vec<u32>,
    flows: Vec<(FlowKey, u32)>,
    /// The flow slot to reuse when the table is full (round robin).
    victim: usize,
}

impl Coalescer {
    /// An empty planner (allocates nothing until the first plan).
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Groups packets `0..len` into writes, by the kernel's GRO rules: TCP only if
    /// `options.tcp`, UDP only if `options.udp`, at most 64 UDP segments, total IP length at
    /// most 65535, merged members in sequence order. Every packet is in exactly one group;
    /// groups are ordered by their first packet's position. Anything unparsable: a group of one.
    ///
    /// Plans at most the first 65536 packets (members are `u16` indices); a batch is far
    /// smaller.
    pub(crate) fn plan(&mut self, packets: &impl Packets, options: CoalesceOptions) {
        self.groups.clear();
        self.members.clear();
        self.flows.clear();
        self.victim = 0;
        let count = packets.len().min(MAX_PACKETS);
        self.next.clear();
        self.next.resize(count, NONE);
        for index in 0..count {
            let packet = packets.packet(index);
            let index = index as u32;
            let layout = match role(packet, packets.checksum_known_good(index as usize), options) {
                Role::Alone => {
                    self.groups.push(Group::alone(index, None));
                    continue;
                }
                Role::Barrier(layout) => {
                    let group = self.groups.len() as u32;
                    self.groups.push(Group::alone(index, None));
                    self.set_flow(FlowKey::of(packet, &layout), group);
                    continue;
                }
                Role::Candidate(layout) => layout,
            };
            let key = FlowKey::of(packet, &layout);
            let slot = self.flows.iter().position(|(flow, _)| *flow == key);
            if let Some(slot) = slot {
                let group = self.flows.get(slot).map_or(NONE, |(_, group)| *group);
                if self.try_merge(packets, group, index, packet, &layout) {
                    continue;
                }
            }
            let group = self.groups.len() as u32;
            self.groups.push(Self::open(index, packet, layout));
            match slot.and_then(|slot| self.flows.get_mut(slot)) {
                Some(flow) => flow.1 = group,
                None => self.set_flow(key, group),
            }
        }
        // Lay the chains out group by group.
        for group in &mut self.groups {
            group.start = self.members.len() as u32;
            let mut member = group.first;
            let mut steps = 0;
            while member != NONE && steps < group.count {
                self.members.push(member as u16);
                member = self.next.get(member as usize).copied().unwrap_or(NONE);
                steps += 1;
            }
        }
    }

    /// A group that may take more members, started by a candidate.
    fn open(index: u32, packet: &[u8], layout: Layout) -> Group {
        let payload = packet.len() - layout.header_len;
        let seq = be32(packet, layout.ip_len + 4).unwrap_or(0);
        let id = be16(packet, 4).unwrap_or(0);
        Group {
            gso_size: payload,
            ip_len: packet.len(),
            last_payload: payload,
            last_psh: layout.tcp && byte(packet, layout.ip_len + 13) & TCP_PSH != 0,
            head_seq: seq,
            next_seq: seq.wrapping_add(payload as u32),
            head_id: id,
            last_id: id,
            ..Group::alone(index, Some(layout))
        }
    }

    /// Remembers that `key`'s packets now go to `group`.
    fn set_flow(&mut self, key: FlowKey, group: u32) {
        if let Some(flow) = self.flows.iter_mut().find(|(flow, _)| *flow == key) {
            flow.1 = group;
        } else if self.flows.len() < FLOW_SLOTS {
            self.flows.push((key, group));
        } else if let Some(flow) = self.flows.get_mut(self.victim) {
            *flow = (key, group);
            self.victim = (self.victim + 1) % FLOW_SLOTS;
        }
    }

    /// Adds candidate `index` to the end or the front of `group` if the kernel's GRO would
    /// have merged them (`headers_match` covers the equal-fields rules; here: sequence,
    /// sizes, PSH, IDs, limits).
    fn try_merge(
        &mut self,
        packets: &impl Packets,
        group: u32,
        index: u32,
        packet: &[u8],
        layout: &Layout,
    ) -> bool {
        let Some(current) = self.groups.get(group as usize).copied() else {
            return false;
        };
        let Some(group_layout) = current.layout else {
            return false;
        };
        let head = packets.packet(current.first as usize);
        if group_layout != *layout || !headers_match(head, packet, layout) {
            return false;
        }
        let payload = packet.len() - layout.header_len;
        if current.ip_len + payload > MAX_IP_LEN {
            return false;
        }
        let l4 = layout.ip_len;
        let seq = be32(packet, l4 + 4).unwrap_or(0);
        let psh = layout.tcp && byte(packet, l4 + 13) & TCP_PSH != 0;
        let id = be16(packet, 4).unwrap_or(0);
        let df = be16(packet, 6).unwrap_or(0) & IPV4_DF != 0;
        let mut merged = current;
        let appended = !current.closed(layout)
            && payload <= current.gso_size
            && (!layout.tcp || seq == current.next_seq)
            && id_follows(
                layout,
                &current,
                current.last_id,
                id.wrapping_sub(1),
                id,
                df,
            );
        if appended {
            if let Some(next) = self.next.get_mut(current.last as usize) {
                *next = index;
            }
            merged.last = index;
            merged.last_payload = payload;
            merged.last_psh = psh;
            merged.next_seq = seq.wrapping_add(payload as u32);
            merged.last_id = id;
        } else {
            // In front (TCP only: a packet the sender's stack or the network reordered): it
            // becomes the head, so it sets the segment size and must not end the flow.
            let fits = if current.len() == 1 {
                payload >= current.gso_size
            } else {
                payload == current.gso_size
            };
            let prepended = layout.tcp
                && !psh
                && fits
                && seq.wrapping_add(payload as u32) == current.head_seq
                && id_follows(
                    layout,
                    &current,
                    current.head_id,
                    id.wrapping_add(1),
                    id,
                    df,
                );
            if !prepended {
                return false;
            }
            if let Some(next) = self.next.get_mut(index as usize) {
                *next = current.first;
            }
            merged.first = index;
            merged.gso_size = payload;
            merged.head_seq = seq;
            merged.head_id = id;
        }
        if !layout.v6 && merged.id_run == IdRun::Open {
            merged.id_run = if id == current.head_id {
                IdRun::Fixed
            } else {
                IdRun::Incrementing
            };
        }
        merged.count += 1;
        merged.ip_len += payload;
        if let Some(slot) = self.groups.get_mut(group as usize) {
            *slot = merged;
        }
        true
    }

    /// The groups of the last plan, ordered by their first packet's position.
    pub(crate) fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Indices into the packets of a group's members, in wire (sequence) order.
    pub(crate) fn members(&self, group: &Group) -> &[u16] {
        let start = group.start as usize;
        self.members
            .get(start..start + group.len())
            .unwrap_or_default()
    }

    /// For a group of two or more: writes the virtio header (`NEEDS_CSUM`, `csum_start`,
    /// `csum_offset`, `gso_type`, `gso_size`, `hdr_len`) followed by the head member's IP and
    /// transport headers rewritten for the merged packet (IP total/payload length, IPv4 header
    /// checksum, UDP length, TCP PSH from the last member, the pseudo-header checksum in the
    /// transport checksum field) into `out`, and returns its length. The packets are not
    /// modified: the caller then writes `writev([out[..n], member_0[header_len..],
    /// member_1[header_len..], ...])`.
    ///
    /// For a group of one: writes a zero virtio header only (returns `VirtioHeader::LEN`), and
    /// the caller writes `writev([out[..10], whole packet])`.
    pub(crate) fn write_head(
        &self,
        group: &Group,
        packets: &impl Packets,
        out: &mut [u8; HEAD_MAX],
    ) -> usize {
        let zero = VirtioHeader::default().encode();
        out[..VirtioHeader::LEN].copy_from_slice(&zero);
        let (Some(layout), [first, .., last]) = (group.layout, self.members(group)) else {
            return VirtioHeader::LEN;
        };
        let header_len = layout.header_len;
        let head = packets.packet(usize::from(*first));
        let (Some(from), Some(to)) = (
            head.get(..header_len),
            out.get_mut(VirtioHeader::LEN..VirtioHeader::LEN + header_len),
        ) else {
            return VirtioHeader::LEN;
        };
        to.copy_from_slice(from);
        let total = group.ip_len;
        let l4 = layout.ip_len;
        if layout.v6 {
            put16(to, 4, (total - IPV6_HEADER_LEN) as u16);
        } else {
            put16(to, 2, total as u16);
            set_ipv4_checksum(to.get_mut(..l4).unwrap_or_default());
        }
        if layout.tcp {
            let last = packets.packet(usize::from(*last));
            let psh = byte(last, l4 + 13) & TCP_PSH;
            if let Some(flags) = to.get_mut(l4 + 13) {
                *flags = (*flags & !TCP_PSH) | psh;
            }
        } else {
            put16(to, l4 + 4, (total - l4) as u16);
        }
        // The kernel finishes the checksum from `csum_start`: it wants the pseudo-header sum
        // there, folded but not complemented (as `tcp_v4_send_check` leaves it).
        put16(to, layout.checksum_at(), 0);
        let pseudo = layout.pseudo_header(to, (total - l4) as u32).fold();
        put16(to, layout.checksum_at(), pseudo);
        let header = VirtioHeader {
            flags: NEEDS_CSUM,
            gso_type: match (layout.tcp, layout.v6) {
                (true, false) => GSO_TCPV4,
                (true, true) => GSO_TCPV6,
                (false, _) => GSO_UDP_L4,
            },
            hdr_len: header_len as u16,
            gso_size: group.gso_size as u16,
            csum_start: l4 as u16,
            csum_offset: layout.checksum_offset() as u16,
        };
        out[..VirtioHeader::LEN].copy_from_slice(&header.encode());
        VirtioHeader::LEN + header_len
    }
}

/// Whether IPv4 ID `id` may sit next to `neighbour` (the group's last member when appending,
/// its head when prepending): counting up by one, or, with DF, equal. `stepped` is `id` moved
/// one step towards the neighbour (`id - 1` when appending, `id + 1` when prepending).
fn id_follows(
    layout: &Layout,
    group: &Group,
    neighbour: u16,
    stepped: u16,
    id: u16,
    df: bool,
) -> bool {
    if layout.v6 {
        return true;
    }
    let incrementing = stepped == neighbour;
    let fixed = df && id == neighbour;
    match group.id_run {
        IdRun::Open => incrementing || fixed,
        IdRun::Incrementing => incrementing,
        IdRun::Fixed => fixed,
    }
}

#[cfg(test)]
mod tests {
    use super::super::packet::{TCP_CWR, TCP_FIN, TCP_RST, TCP_SYN, TCP_URG};
    use super::super::testing::{
        build, check_plan, payload, random_batch, Entropy, List, Merged, Rng, Spec,
    };
    use super::*;

    const ALL: CoalesceOptions = CoalesceOptions {
        tcp: true,
        udp: true,
    };

    /// `count` consecutive full segments of `mss` bytes of one flow, from `spec` on.
    fn segments(spec: &Spec, count: usize, mss: usize) -> Vec<Vec<u8>> {
        (0..count)
            .map(|i| {
                let mut one = spec.clone();
                one.seq = spec.seq.wrapping_add((i * mss) as u32);
                one.id = spec.id.wrapping_add(i as u16);
                build(&one, &payload(mss, i as u32 + 1))
            })
            .collect()
    }

    fn list(packets: Vec<Vec<u8>>, good: bool) -> List {
        let good = vec![good; packets.len()];
        List { packets, good }
    }

    /// The plan's groups as lists of packet indices.
    fn plan(list: &List, options: CoalesceOptions) -> Vec<Vec<u16>> {
        let mut coalescer = Coalescer::new();
        check_plan(list, options, &mut coalescer);
        coalescer
            .groups()
            .iter()
            .map(|group| coalescer.members(group).to_vec())
            .collect()
    }

    fn kinds() -> [Spec; 4] {
        [
            Spec::new(false, true),
            Spec::new(true, true),
            Spec::new(false, false),
            Spec::new(true, false),
        ]
    }

    #[test]
    fn merges_a_flow_with_a_short_last_segment() {
        for spec in kinds() {
            let mut packets = segments(&spec, 10, 100);
            let mut last = spec.clone();
            last.seq = spec.seq.wrapping_add(1000);
            last.id = spec.id.wrapping_add(10);
            last.flags |= TCP_PSH;
            packets.push(build(&last, &payload(30, 99)));
            for good in [true, false] {
                let groups = plan(&list(packets.clone(), good), ALL);
                assert_eq!(groups, [Vec::from_iter(0..11)], "{spec:?}");
            }
        }
    }

    #[test]
    fn options_turn_protocols_off() {
        for spec in kinds() {
            let packets = list(segments(&spec, 4, 100), true);
            let only_other = CoalesceOptions {
                tcp: !spec.tcp,
                udp: spec.tcp,
            };
            assert_eq!(plan(&packets, only_other).len(), 4);
            assert_eq!(plan(&packets, ALL).len(), 1);
        }
    }

    /// Two full segments that merge, then a third changed by `change`: the third is not merged
    /// (it may start its own group).
    fn third_stays_apart(spec: &Spec, change: impl Fn(&mut Spec)) {
        let mut packets = segments(spec, 3, 100);
        let mut third = spec.clone();
        third.seq = spec.seq.wrapping_add(200);
        third.id = spec.id.wrapping_add(2);
        change(&mut third);
        packets[2] = build(&third, &payload(100, 3));
        let groups = plan(&list(packets, true), ALL);
        assert_eq!(groups, [vec![0, 1], vec![2]], "{third:?}");
    }

    #[test]
    fn ip_fields_that_must_be_equal() {
        for spec in kinds() {
            third_stays_apart(&spec, |s| s.ttl -= 1);
            third_stays_apart(&spec, |s| s.tos = 0x02);
            if spec.v6 {
                // Another flow label: another flow.
                third_stays_apart(&spec, |s| s.label ^= 1);
            } else {
                third_stays_apart(&spec, |s| s.df = false);
                third_stays_apart(&spec, |s| s.ip_options = 1);
                third_stays_apart(&spec, |s| s.fragment = 0x2000);
                // An ID that does not count up (DF allows only a fixed one besides).
                third_stays_apart(&spec, |s| s.id = s.id.wrapping_add(5));
            }
            third_stays_apart(&spec, |s| s.peer += 1);
            third_stays_apart(&spec, |s| s.sport += 1);
        }
    }

    #[test]
    fn tcp_fields_that_must_be_equal() {
        for spec in [Spec::new(false, true), Spec::new(true, true)] {
            third_stays_apart(&spec, |s| s.window += 1);
            third_stays_apart(&spec, |s| s.urgent = 1);
            third_stays_apart(&spec, |s| s.ack += 1);
            third_stays_apart(&spec, |s| s.option_fill += 1);
            third_stays_apart(&spec, |s| s.options += 1);
            for flags in [TCP_SYN, TCP_FIN, TCP_RST, TCP_URG, TCP_CWR, 0x40] {
                third_stays_apart(&spec, |s| s.flags |= flags);
            }
            third_stays_apart(&spec, |s| s.flags = 0);
            third_stays_apart(&spec, |s| s.flags = TCP_PSH);
            // Not adjacent: a gap, an overlap, a retransmission.
            third_stays_apart(&spec, |s| s.seq += 1);
            third_stays_apart(&spec, |s| s.seq -= 1);
            third_stays_apart(&spec, |s| s.seq -= 100);
        }
    }

    #[test]
    fn ipv4_ids_count_up_or_stay_fixed_with_df() {
        let spec = Spec::new(false, true);
        let fixed = |df: bool| {
            let mut same = Spec { df, ..spec.clone() };
            (0..3)
                .map(|i| {
                    same.seq = spec.seq + i * 100;
                    build(&same, &payload(100, i))
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(plan(&list(fixed(true), true), ALL), [vec![0, 1, 2]]);
        assert_eq!(plan(&list(fixed(false), true), ALL).len(), 3);
        // Counting up without DF merges.
        let packets = segments(
            &Spec {
                df: false,
                ..spec.clone()
            },
            3,
            100,
        );
        assert_eq!(plan(&list(packets, true), ALL), [vec![0, 1, 2]]);
        // A fixed run cannot turn into a counting one.
        let mut packets = fixed(true);
        let mut third = spec.clone();
        third.seq = spec.seq + 200;
        third.id = spec.id + 2;
        packets[2] = build(&third, &payload(100, 9));
        assert_eq!(plan(&list(packets, true), ALL), [vec![0, 1], vec![2]]);
    }

    #[test]
    fn nothing_after_psh_or_a_short_segment_and_no_larger_after_smaller() {
        for spec in kinds() {
            // PSH in the middle: the group ends with it.
            if spec.tcp {
                let mut packets = segments(&spec, 4, 100);
                let mut second = spec.clone();
                second.seq += 100;
                second.id += 1;
                second.flags |= TCP_PSH;
                packets[1] = build(&second, &payload(100, 2));
                assert_eq!(plan(&list(packets, true), ALL), [vec![0, 1], vec![2, 3]]);
            }
            // A short segment ends the group; the next one starts another.
            let mut packets = segments(&spec, 2, 100);
            let mut short = spec.clone();
            short.seq += 200;
            short.id += 2;
            packets.push(build(&short, &payload(50, 3)));
            short.seq += 50;
            short.id += 1;
            packets.push(build(&short, &payload(50, 4)));
            assert_eq!(plan(&list(packets, true), ALL), [vec![0, 1, 2], vec![3]]);
            // A larger segment after a smaller.
            let mut packets = segments(&spec, 2, 100);
            let mut large = spec.clone();
            large.seq += 200;
            large.id += 2;
            packets.push(build(&large, &payload(101, 3)));
            assert_eq!(plan(&list(packets, true), ALL), [vec![0, 1], vec![2]]);
        }
    }

    #[test]
    fn bad_checksums_are_sent_alone_unless_vouched_for() {
        for spec in kinds() {
            let mut packets = segments(&spec, 3, 100);
            let last = packets[1].len() - 1;
            packets[1][last] ^= 1;
            assert_eq!(
                plan(&list(packets.clone(), false), ALL),
                [vec![0], vec![1], vec![2]]
            );
            // A broken IPv4 header checksum too.
            let mut broken_ip = segments(&spec, 3, 100);
            if !spec.v6 {
                broken_ip[2][11] ^= 1;
                assert_eq!(plan(&list(broken_ip, false), ALL), [vec![0, 1], vec![2]]);
            }
            // Known good: not verified (the caller made or checked them).
            let mut trusted = list(packets, true);
            trusted.good[1] = true;
            let mut coalescer = Coalescer::new();
            coalescer.plan(&trusted, ALL);
            assert_eq!(coalescer.groups().len(), 1);
        }
    }

    #[test]
    fn udp_without_checksum_or_payload_and_pure_acks_are_alone() {
        let udp4 = Spec::new(false, false);
        let mut packets = segments(&udp4, 3, 100);
        packets[1] = build(
            &Spec {
                no_udp_checksum: true,
                id: udp4.id + 1,
                ..udp4.clone()
            },
            &payload(100, 2),
        );
        assert_eq!(
            plan(&list(packets, false), ALL),
            [vec![0], vec![1], vec![2]]
        );
        for spec in kinds() {
            let packets = vec![build(&spec, &[]), build(&spec, &[])];
            assert_eq!(plan(&list(packets, false), ALL).len(), 2);
        }
    }

    #[test]
    fn barriers_keep_a_flows_order() {
        // A1, A2 with FIN, A3: A3 must not join A1 ahead of A2.
        let spec = Spec::new(false, true);
        let mut packets = segments(&spec, 3, 100);
        let mut fin = spec.clone();
        fin.seq += 100;
        fin.id += 1;
        fin.flags |= TCP_FIN;
        packets[1] = build(&fin, &payload(100, 2));
        assert_eq!(plan(&list(packets, true), ALL), [vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn garbage_is_alone() {
        let packets = vec![
            vec![],
            vec![0x45],
            vec![0x60; 39],
            vec![0x45; 100],
            vec![0xff; 20],
        ];
        assert_eq!(plan(&list(packets, false), ALL).len(), 5);
        // Trailing bytes after the IP length: not merged.
        let spec = Spec::new(false, true);
        let mut packets = segments(&spec, 2, 100);
        packets[1].push(0);
        assert_eq!(plan(&list(packets, true), ALL).len(), 2);
    }

    #[test]
    fn prepends_a_segment_that_came_late() {
        for spec in [Spec::new(false, true), Spec::new(true, true)] {
            let mut packets = segments(&spec, 3, 100);
            packets.swap(0, 1);
            assert_eq!(plan(&list(packets, true), ALL), [vec![1, 0, 2]]);
            // A longer segment in front of a single short one.
            let mut packets = segments(&spec, 2, 100);
            let mut short = spec.clone();
            short.seq += 100;
            short.id += 1;
            packets[1] = build(&short, &payload(40, 1));
            packets.swap(0, 1);
            assert_eq!(plan(&list(packets, true), ALL), [vec![1, 0]]);
            // Not in front of two when it is shorter than their size.
            let mut packets = segments(&spec, 3, 100);
            let mut early = spec.clone();
            early.seq -= 50;
            early.id -= 1;
            packets.push(build(&early, &payload(50, 7)));
            assert_eq!(plan(&list(packets, true), ALL), [vec![0, 1, 2], vec![3]]);
        }
        // UDP has no sequence: never reordered.
        let spec = Spec::new(false, false);
        let mut packets = segments(&spec, 2, 100);
        packets.swap(0, 1);
        assert_eq!(plan(&list(packets, true), ALL), [vec![0], vec![1]]);
    }

    #[test]
    fn interleaved_flows_each_merge() {
        let a = Spec::new(false, true);
        let b = Spec {
            sport: 7,
            ..Spec::new(true, false)
        };
        let c = Spec {
            ack: 5,
            ..a.clone()
        }; // another acknowledgement: another flow
        let (a, b, c) = (
            segments(&a, 3, 80),
            segments(&b, 3, 60),
            segments(&c, 3, 80),
        );
        let mut packets = Vec::new();
        for i in 0..3 {
            packets.extend([a[i].clone(), b[i].clone(), c[i].clone()]);
        }
        assert_eq!(
            plan(&list(packets, false), ALL),
            [vec![0, 3, 6], vec![1, 4, 7], vec![2, 5, 8]]
        );
    }

    #[test]
    fn limits_total_length_and_udp_segments() {
        let mss = if cfg!(miri) { 1000 } else { 1400 };
        for spec in kinds() {
            let packets = list(segments(&spec, 70, mss), true);
            let mut coalescer = Coalescer::new();
            let merged = check_plan(&packets, ALL, &mut coalescer);
            assert_eq!(merged.packets, 70);
            let header = spec.header_len();
            let per_group = if spec.tcp {
                (65535 - header) / mss
            } else {
                64.min((65535 - header) / mss)
            };
            let sizes: Vec<usize> = coalescer.groups().iter().map(Group::len).collect();
            assert_eq!(sizes[0], per_group, "{spec:?}");
        }
        // Small datagrams: 64 per super-packet.
        let udp = Spec::new(true, false);
        let sizes: Vec<usize> = plan(&list(segments(&udp, 150, 10), true), ALL)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [64, 64, 22]);
        let tcp = Spec::new(true, true);
        let sizes: Vec<usize> = plan(&list(segments(&tcp, 150, 10), true), ALL)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [150]);
    }

    #[test]
    fn head_is_the_merged_packets_header() {
        let spec = Spec::new(false, true);
        let mut packets = segments(&spec, 3, 100);
        let mut last = spec.clone();
        last.seq += 200;
        last.id += 2;
        last.flags |= TCP_PSH;
        packets[2] = build(&last, &payload(60, 3));
        let packets = list(packets, true);
        let mut coalescer = Coalescer::new();
        coalescer.plan(&packets, ALL);
        let group = coalescer.groups()[0];
        assert_eq!((group.len(), group.header_len()), (3, 52));
        let mut out = [0xee; HEAD_MAX];
        let n = coalescer.write_head(&group, &packets, &mut out);
        assert_eq!(n, 62);
        let header = VirtioHeader::decode(out[..10].try_into().unwrap());
        let expected = VirtioHeader {
            flags: NEEDS_CSUM,
            gso_type: GSO_TCPV4,
            hdr_len: 52,
            gso_size: 100,
            csum_start: 20,
            csum_offset: 16,
        };
        assert_eq!(header, expected);
        let head = &out[10..n];
        assert_eq!(u16::from_be_bytes([head[2], head[3]]), 52 + 260);
        assert_eq!(head[4..6], packets.packets[0][4..6]);
        assert_eq!(head[20 + 13], TCP_ACK | TCP_PSH);
        assert_eq!(head[20 + 4..20 + 8], packets.packets[0][24..28]);
        // The pseudo-header sum: addresses, protocol, TCP length.
        let mut pseudo = super::super::checksum::Checksum::new();
        pseudo.add_bytes(&head[12..20]);
        pseudo.add_u16(6);
        pseudo.add_u32(32 + 260);
        assert_eq!(head[36..38], pseudo.fold().to_be_bytes());
        // The packets themselves are untouched.
        assert_eq!(packets.packets[0][13 + 20], TCP_ACK);
    }

    #[test]
    fn reuses_its_memory() {
        let mut rng = Rng(77);
        let batch = random_batch(&mut rng, 128, 200);
        let mut coalescer = Coalescer::new();
        check_plan(&batch, ALL, &mut coalescer);
        let capacities = |c: &Coalescer| {
            (
                c.groups.capacity(),
                c.members.capacity(),
                c.next.capacity(),
                c.flows.capacity(),
            )
        };
        let before = capacities(&coalescer);
        for _ in 0..3 {
            check_plan(&batch, ALL, &mut coalescer);
            assert_eq!(capacities(&coalescer), before);
        }
        // An empty batch plans to nothing.
        coalescer.plan(&List::default(), ALL);
        assert!(coalescer.groups().is_empty());
    }

    #[test]
    fn more_flows_than_slots() {
        let flows = FLOW_SLOTS + 50;
        let specs: Vec<Spec> = (0..flows)
            .map(|i| Spec {
                sport: i as u16,
                ..Spec::new(false, false)
            })
            .collect();
        // Every flow twice, far apart: a cycle longer than the table never finds its flow
        // again (first in, first out), and that is all it costs.
        let mut packets = Vec::new();
        for round in 0..2 {
            for spec in &specs {
                let one = Spec {
                    id: spec.id + round,
                    ..spec.clone()
                };
                packets.push(build(&one, &[round as u8; 4]));
            }
        }
        let mut coalescer = Coalescer::new();
        check_plan(&list(packets.clone(), true), ALL, &mut coalescer);
        assert_eq!(coalescer.groups().len(), 2 * flows);
        // A flow that starts after many others still merges.
        packets.extend(segments(&Spec::new(true, true), 4, 100));
        let merged = check_plan(&list(packets, true), ALL, &mut coalescer);
        assert_eq!(
            merged,
            Merged {
                groups: 1,
                packets: 4
            }
        );
    }

    #[test]
    fn random_batches_keep_every_invariant() {
        let rounds = if cfg!(miri) { 6 } else { 3000 };
        let mut rng = Rng(0x0ff1_0ad5);
        let mut coalescer = Coalescer::new();
        let mut total = Merged::default();
        for round in 0..rounds {
            let batch = random_batch(&mut rng, if cfg!(miri) { 40 } else { 200 }, 300);
            let options = CoalesceOptions {
                tcp: round % 7 != 3,
                udp: round % 5 != 2,
            };
            let merged = check_plan(&batch, options, &mut coalescer);
            total.groups += merged.groups;
            total.packets += merged.packets;
        }
        // The generator must give the rules something to merge, or the test proves nothing.
        assert!(total.groups * 2 >= rounds, "{total:?}");
        assert!(total.packets >= total.groups * 3, "{total:?}");
    }

    #[test]
    fn a_round_trip_with_randomly_sized_flows() {
        // split(coalesce(x)) == x over large segments too (the 64 KiB limit in play).
        let mut rng = Rng(3);
        let rounds = if cfg!(miri) { 2 } else { 100 };
        for _ in 0..rounds {
            let batch = random_batch(&mut rng, 64, if cfg!(miri) { 1000 } else { 1500 });
            check_plan(&batch, ALL, &mut Coalescer::new());
        }
        let _ = rng.next();
    }
}
