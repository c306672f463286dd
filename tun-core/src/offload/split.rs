//! The read side: finishing a partial checksum, and cutting a super-packet into the packets the
//! sender's stack would have sent without offload (what the kernel's `tcp_gso_segment` and
//! `__udp_gso_segment` do for a device that cannot take super-packets).

use super::checksum::{copy_and_sum, sum};
use super::packet::{
    be16, be32, byte, put16, put32, set_ipv4_checksum, Layout, Malformed, IPV6_HEADER_LEN, TCP_CWR,
    TCP_FIN, TCP_PSH,
};
use super::virtio::{VirtioHeader, GSO_ECN, GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4, NEEDS_CSUM};

/// A `GSO_NONE` read: finishes a `NEEDS_CSUM` partial checksum in place (RFC 1071 over
/// `packet[csum_start..]`, stored at `csum_start + csum_offset`); without `NEEDS_CSUM` does
/// nothing.
///
/// Like the kernel's `skb_checksum_help`, a result of 0 is stored as 0xffff (the same value in
/// one's complement, and the only one UDP accepts).
pub(crate) fn complete_checksum(header: &VirtioHeader, packet: &mut [u8]) -> Result<(), Malformed> {
    if header.flags & NEEDS_CSUM == 0 {
        return Ok(());
    }
    let start = usize::from(header.csum_start);
    let field = start + usize::from(header.csum_offset);
    if field + 2 > packet.len() {
        return Err(Malformed::ChecksumOutOfRange);
    }
    // The field holds the pseudo-header sum, so the range's sum is the whole sum.
    let partial = sum(packet.get(start..).unwrap_or_default());
    let checksum = match !partial {
        0 => 0xffff,
        value => value,
    };
    put16(packet, field, checksum);
    Ok(())
}

/// A parsed super-packet (`header.is_gso()`): the GSO type checked against the IP version and
/// protocol, the header length recomputed (the kernel's `hdr_len` is ignored), the segment count
/// known. Small and `Copy`: the caller keeps it beside the bytes while it hands out segments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segments {
    layout: Layout,
    /// Payload bytes per segment (the last may have fewer).
    gso_size: usize,
    /// Payload bytes in all.
    payload_len: usize,
    /// The length of the bytes parsed, to catch a caller passing others to `write_segment`.
    packet_len: usize,
    count: usize,
}

impl Segments {
    /// Checks a super-packet read with `header` and finds its segments.
    pub(crate) fn parse(header: &VirtioHeader, packet: &[u8]) -> Result<Segments, Malformed> {
        let ecn = header.gso_type & GSO_ECN != 0;
        let (tcp, version) = match header.gso_type & !GSO_ECN {
            GSO_TCPV4 => (true, Some(4)),
            GSO_TCPV6 => (true, Some(6)),
            GSO_UDP_L4 if !ecn => (false, None),
            GSO_UDP_L4 => return Err(Malformed::GsoTypeMismatch),
            _ => return Err(Malformed::UnknownGsoType),
        };
        let layout = Layout::parse(packet).map_err(|error| match error {
            // Neither TCP nor UDP: the type said otherwise.
            Malformed::GsoTypeMismatch => Malformed::GsoTypeMismatch,
            other => other,
        })?;
        let actual_version = if layout.v6 { 6 } else { 4 };
        if layout.tcp != tcp || version.is_some_and(|v| v != actual_version) {
            return Err(Malformed::GsoTypeMismatch);
        }
        if header.flags & NEEDS_CSUM != 0 && usize::from(header.csum_start) != layout.ip_len {
            return Err(Malformed::TransportOffset);
        }
        let gso_size = usize::from(header.gso_size);
        if gso_size == 0 {
            return Err(Malformed::ZeroGsoSize);
        }
        let payload_len = packet.len() - layout.header_len;
        // Every segment's IP length field must hold it (IPv4 total length, IPv6 payload length).
        let longest = layout.header_len + gso_size.min(payload_len);
        let length_field = if layout.v6 {
            longest - IPV6_HEADER_LEN
        } else {
            longest
        };
        if length_field > usize::from(u16::MAX) {
            return Err(Malformed::SegmentTooLong);
        }
        // A super-packet without payload (never sent by the kernel) is one packet: its headers.
        let count = payload_len.div_ceil(gso_size).max(1);
        Ok(Segments {
            layout,
            gso_size,
            payload_len,
            packet_len: packet.len(),
            count,
        })
    }

    /// How many segments the super-packet holds (at least one).
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Payload bytes of segment `index` (0 past the end).
    fn payload_of(&self, index: usize) -> usize {
        let start = index.saturating_mul(self.gso_size);
        self.payload_len.saturating_sub(start).min(self.gso_size)
    }

    /// The length of segment `index` as a packet of its own; 0 when `index >= count`.
    pub(crate) fn segment_len(&self, index: usize) -> usize {
        if index < self.count {
            self.layout.header_len + self.payload_of(index)
        } else {
            0
        }
    }

    /// Writes segment `index` of `packet` (the same bytes given to `parse`) into
    /// `out[..segment_len(index)]`: a packet of its own with every field fixed (IPv4 ID +
    /// index, lengths, IPv4 header checksum, TCP sequence number, FIN/PSH only on the last, CWR
    /// only on the first, UDP length, full transport checksum; a UDP checksum of 0 is sent as
    /// 0xffff), the payload copied and summed in one pass. Returns the segment's length.
    pub(crate) fn write_segment(
        &self,
        packet: &[u8],
        index: usize,
        out: &mut [u8],
    ) -> Result<usize, Malformed> {
        if packet.len() != self.packet_len {
            return Err(Malformed::NotTheParsedPacket);
        }
        if index >= self.count {
            return Err(Malformed::NoSuchSegment);
        }
        let layout = self.layout;
        let payload_len = self.payload_of(index);
        let len = layout.header_len + payload_len;
        let out = out.get_mut(..len).ok_or(Malformed::BufferTooShort)?;
        let (headers, payload) = out.split_at_mut(layout.header_len);
        let from = layout.header_len + index * self.gso_size;
        let source = packet
            .get(from..from + payload_len)
            .ok_or(Malformed::NotTheParsedPacket)?;
        let payload_sum = copy_and_sum(source, payload);
        headers.copy_from_slice(packet.get(..layout.header_len).unwrap_or_default());

        // IP: lengths, and for IPv4 the ID (the kernel's GSO numbers segments from the first's
        // ID) and the header checksum. Lengths fit: `parse` checked the longest segment.
        if layout.v6 {
            put16(headers, 4, (len - IPV6_HEADER_LEN) as u16);
        } else {
            put16(headers, 2, len as u16);
            let id = be16(headers, 4).unwrap_or(0).wrapping_add(index as u16);
            put16(headers, 4, id);
            set_ipv4_checksum(headers.get_mut(..layout.ip_len).unwrap_or_default());
        }

        let l4 = layout.ip_len;
        let transport_len = len - l4;
        if layout.tcp {
            let seq = be32(headers, l4 + 4).unwrap_or(0);
            let step = (index as u32).wrapping_mul(self.gso_size as u32);
            put32(headers, l4 + 4, seq.wrapping_add(step));
            let mut flags = byte(headers, l4 + 13);
            if index + 1 < self.count {
                flags &= !(TCP_FIN | TCP_PSH);
            }
            if index > 0 {
                flags &= !TCP_CWR;
            }
            if let Some(at) = headers.get_mut(l4 + 13) {
                *at = flags;
            }
        } else {
            put16(headers, l4 + 4, transport_len as u16);
        }
        let field = layout.checksum_at();
        put16(headers, field, 0);
        let mut checksum = layout.pseudo_header(headers, transport_len as u32);
        checksum.add_bytes(headers.get(l4..).unwrap_or_default());
        checksum.add_u16(payload_sum);
        let value = match checksum.finish() {
            // UDP's 0 means "no checksum"; one's complement has a second zero for it.
            0 if !layout.tcp => 0xffff,
            value => value,
        };
        put16(headers, field, value);
        Ok(len)
    }
}

/// Whether a whole packet's IPv4 header checksum and transport checksum verify (for the checks
/// in tests and fuzzing).
#[cfg(any(test, fuzzing))]
pub(crate) fn verify_packet(packet: &[u8]) -> bool {
    Layout::parse(packet)
        .is_ok_and(|layout| layout.ip_checksum_ok(packet) && layout.transport_checksum_ok(packet))
}

#[cfg(test)]
mod tests {
    use super::super::packet::{TCP_ACK, TCP_FIN};
    use super::super::testing::{build, check_segments, naive_sum, payload, Entropy, Rng, Spec};
    use super::*;

    /// Checks a packet with an independent implementation: etherparse parses it and computes
    /// the checksums its own way.
    fn etherparse_agrees(packet: &[u8]) {
        use etherparse::{NetSlice, SlicedPacket, TransportSlice};
        let sliced = SlicedPacket::from_ip(packet).expect("etherparse parses the packet");
        let (source4, dest4, source6, dest6) = match &sliced.net {
            Some(NetSlice::Ipv4(ip)) => {
                let header = ip.header();
                assert_eq!(usize::from(header.total_len()), packet.len());
                let computed = header.to_header().calc_header_checksum();
                assert_eq!(header.header_checksum(), computed, "IPv4 header checksum");
                (header.source(), header.destination(), [0; 16], [0; 16])
            }
            Some(NetSlice::Ipv6(ip)) => {
                let header = ip.header();
                assert_eq!(usize::from(header.payload_length()) + 40, packet.len());
                ([0; 4], [0; 4], header.source(), header.destination())
            }
            other => panic!("not IP: {other:?}"),
        };
        let v6 = matches!(sliced.net, Some(NetSlice::Ipv6(_)));
        match &sliced.transport {
            Some(TransportSlice::Tcp(tcp)) => {
                let computed = if v6 {
                    tcp.calc_checksum_ipv6(source6, dest6).unwrap()
                } else {
                    tcp.calc_checksum_ipv4(source4, dest4).unwrap()
                };
                assert_eq!(tcp.checksum(), computed, "TCP checksum");
            }
            Some(TransportSlice::Udp(udp)) => {
                let header = udp.to_header();
                assert_eq!(usize::from(header.length), udp.slice().len());
                let computed = if v6 {
                    header
                        .calc_checksum_ipv6_raw(source6, dest6, udp.payload())
                        .unwrap()
                } else {
                    header
                        .calc_checksum_ipv4_raw(source4, dest4, udp.payload())
                        .unwrap()
                };
                assert_eq!(header.checksum, computed, "UDP checksum");
            }
            other => panic!("not TCP or UDP: {other:?}"),
        }
    }

    fn gso_header(spec: &Spec, gso_size: u16) -> VirtioHeader {
        VirtioHeader {
            flags: NEEDS_CSUM,
            gso_type: match (spec.tcp, spec.v6) {
                (true, false) => GSO_TCPV4,
                (true, true) => GSO_TCPV6,
                (false, _) => GSO_UDP_L4,
            },
            // The kernel's value is not used: make it wrong on purpose.
            hdr_len: 9999,
            gso_size,
            csum_start: spec.ip_len() as u16,
            csum_offset: if spec.tcp { 16 } else { 6 },
        }
    }

    /// Cuts a super-packet of `data` and compares every segment with the packet the builder
    /// makes for it on its own.
    fn split_and_compare(spec: &Spec, data: &[u8], gso_size: usize, ecn: bool) {
        let mut whole = build(spec, data);
        // What the kernel puts in the checksum field does not matter to the split.
        let at = spec.ip_len() + if spec.tcp { 16 } else { 6 };
        whole[at] ^= 0xff;
        let mut header = gso_header(spec, gso_size as u16);
        if ecn {
            header.gso_type |= GSO_ECN;
        }
        let segments = check_segments(&header, &whole).expect("parses");
        let expected_count = data.len().div_ceil(gso_size).max(1);
        assert_eq!(segments.len(), expected_count);
        for (index, segment) in segments.iter().enumerate() {
            let mut one = spec.clone();
            one.seq = spec.seq.wrapping_add((index * gso_size) as u32);
            one.id = spec.id.wrapping_add(index as u16);
            if index + 1 < expected_count {
                one.flags &= !(TCP_FIN | TCP_PSH);
            }
            if index > 0 {
                one.flags &= !TCP_CWR;
            }
            let end = data.len().min((index + 1) * gso_size);
            let expected = build(&one, &data[index * gso_size..end]);
            assert_eq!(segment, &expected, "segment {index} of {expected_count}");
            etherparse_agrees(segment);
        }
    }

    #[test]
    fn splits_every_kind() {
        let data = payload(if cfg!(miri) { 700 } else { 4000 }, 9);
        for (v6, tcp) in [(false, true), (true, true), (false, false), (true, false)] {
            let mut spec = Spec::new(v6, tcp);
            spec.flags = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR;
            for gso_size in [1, 7, 100, 256, 699, 700, 1448, 5000] {
                if gso_size < 7 && cfg!(miri) {
                    continue;
                }
                split_and_compare(&spec, &data, gso_size, tcp);
            }
        }
    }

    #[test]
    fn splits_with_options_and_wrapping_fields() {
        let mut spec = Spec::new(false, true);
        spec.ip_options = 10; // the longest IPv4 header
        spec.options = 10; // the longest TCP header
        spec.seq = u32::MAX - 100;
        spec.id = u16::MAX - 1;
        split_and_compare(&spec, &payload(600, 2), 100, false);
        let mut spec = Spec::new(false, false);
        spec.id = u16::MAX;
        spec.df = false;
        split_and_compare(&spec, &payload(600, 3), 64, false);
    }

    #[test]
    fn ignores_the_kernels_ip_length_fields() {
        // A super-packet's IP length may say anything (BIG TCP writes 0): the bytes count.
        let spec = Spec::new(false, true);
        let data = payload(3000, 4);
        let mut whole = build(&spec, &data);
        whole[2..4].fill(0);
        let segments = check_segments(&gso_header(&spec, 1000), &whole).unwrap();
        assert_eq!(segments.len(), 3);
        let spec = Spec::new(true, false);
        let mut whole = build(&spec, &data);
        whole[4..6].fill(0xff);
        whole[44..46].fill(0); // UDP length
        assert_eq!(
            check_segments(&gso_header(&spec, 1000), &whole)
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn a_super_packet_without_payload_is_one_packet() {
        let spec = Spec::new(true, true);
        let whole = build(&spec, &[]);
        let segments = check_segments(&gso_header(&spec, 1400), &whole).unwrap();
        assert_eq!(segments, [whole]);
    }

    #[test]
    fn refuses_what_does_not_match() {
        let tcp4 = Spec {
            options: 0,
            ..Spec::new(false, true)
        };
        let tcp6 = Spec {
            options: 0,
            ..Spec::new(true, true)
        };
        let udp4 = Spec::new(false, false);
        let data = payload(3000, 5);
        let packet4 = build(&tcp4, &data);
        let packet6 = build(&tcp6, &data);
        let udp = build(&udp4, &data);
        let header = gso_header(&tcp4, 1000);
        let parse = |header: VirtioHeader, packet: &[u8]| Segments::parse(&header, packet).err();
        assert_eq!(parse(header, &packet4), None);
        assert_eq!(
            parse(
                VirtioHeader {
                    gso_type: 3,
                    ..header
                },
                &packet4
            ),
            Some(Malformed::UnknownGsoType)
        );
        assert_eq!(
            parse(
                VirtioHeader {
                    gso_type: 0x42,
                    ..header
                },
                &packet4
            ),
            Some(Malformed::UnknownGsoType)
        );
        assert_eq!(parse(header, &packet6), Some(Malformed::GsoTypeMismatch));
        assert_eq!(
            parse(gso_header(&tcp6, 1000), &packet4),
            Some(Malformed::GsoTypeMismatch)
        );
        assert_eq!(parse(header, &udp), Some(Malformed::GsoTypeMismatch));
        assert_eq!(
            parse(gso_header(&udp4, 1000), &packet4),
            Some(Malformed::GsoTypeMismatch)
        );
        let udp_ecn = VirtioHeader {
            gso_type: GSO_UDP_L4 | GSO_ECN,
            ..gso_header(&udp4, 1000)
        };
        assert_eq!(parse(udp_ecn, &udp), Some(Malformed::GsoTypeMismatch));
        assert_eq!(
            parse(
                VirtioHeader {
                    gso_size: 0,
                    ..header
                },
                &packet4
            ),
            Some(Malformed::ZeroGsoSize)
        );
        assert_eq!(parse(header, &packet4[..39]), Some(Malformed::TooShort));
        assert_eq!(parse(header, &[]), Some(Malformed::TooShort));
        assert_eq!(parse(header, &[0x70; 100]), Some(Malformed::NotIp));
        assert_eq!(
            parse(
                VirtioHeader {
                    csum_start: 24,
                    ..header
                },
                &packet4
            ),
            Some(Malformed::TransportOffset)
        );
        // Without NEEDS_CSUM, csum_start is not looked at.
        assert_eq!(
            parse(
                VirtioHeader {
                    csum_start: 24,
                    flags: 0,
                    ..header
                },
                &packet4
            ),
            None
        );
        // A segment longer than an IP packet can be.
        let mut huge = build(&tcp4, &payload(65535 - 40, 1));
        huge.extend_from_slice(&[0; 100]);
        assert_eq!(
            parse(
                VirtioHeader {
                    gso_size: 65535,
                    ..header
                },
                &huge
            ),
            Some(Malformed::SegmentTooLong)
        );
        assert_eq!(
            parse(
                VirtioHeader {
                    gso_size: 65495,
                    ..header
                },
                &huge
            ),
            None
        );
        // IPv6 counts its payload length without the fixed header: 40 bytes more fit.
        let huge6 = build(&tcp6, &payload(65535 - 20, 1));
        assert_eq!(
            parse(
                VirtioHeader {
                    gso_size: 65535,
                    ..gso_header(&tcp6, 0)
                },
                &huge6
            ),
            None
        );
        let mut huge6 = huge6;
        huge6.push(0);
        assert_eq!(
            parse(
                VirtioHeader {
                    gso_size: 65535,
                    ..gso_header(&tcp6, 0)
                },
                &huge6
            ),
            Some(Malformed::SegmentTooLong)
        );
    }

    #[test]
    fn write_segment_refuses_bad_arguments() {
        let spec = Spec::new(false, true);
        let packet = build(&spec, &payload(3000, 6));
        let segments = Segments::parse(&gso_header(&spec, 1000), &packet).unwrap();
        assert_eq!(segments.count(), 3);
        assert_eq!(segments.segment_len(2), 1052);
        assert_eq!(segments.segment_len(3), 0);
        assert_eq!(segments.segment_len(usize::MAX), 0);
        let mut out = vec![0; 2000];
        assert_eq!(
            segments.write_segment(&packet, 3, &mut out),
            Err(Malformed::NoSuchSegment)
        );
        assert_eq!(
            segments.write_segment(&packet, usize::MAX, &mut out),
            Err(Malformed::NoSuchSegment)
        );
        assert_eq!(
            segments.write_segment(&packet, 0, &mut out[..1051]),
            Err(Malformed::BufferTooShort)
        );
        assert_eq!(
            segments.write_segment(&packet[1..], 0, &mut out),
            Err(Malformed::NotTheParsedPacket)
        );
        assert_eq!(
            segments.write_segment(&packet, 0, &mut out[..1052]),
            Ok(1052)
        );
    }

    #[test]
    fn completes_partial_checksums() {
        for (v6, tcp) in [(false, true), (true, true), (false, false), (true, false)] {
            let spec = Spec::new(v6, tcp);
            for len in [0, 1, 2, 3, 57, 1400] {
                let packet = build(&spec, &payload(len, len as u32));
                let ip_len = spec.ip_len();
                let at = ip_len + if tcp { 16 } else { 6 };
                // What the kernel hands out: the pseudo-header sum, not complemented.
                let mut partial = packet.clone();
                let layout = Layout::parse(&packet).unwrap();
                let pseudo = layout.pseudo_header(&packet, (packet.len() - ip_len) as u32);
                partial[at..at + 2].copy_from_slice(&pseudo.fold().to_be_bytes());
                let header = VirtioHeader {
                    flags: NEEDS_CSUM,
                    csum_start: ip_len as u16,
                    csum_offset: (at - ip_len) as u16,
                    ..VirtioHeader::default()
                };
                complete_checksum(&header, &mut partial).unwrap();
                assert_eq!(partial, packet, "v6 {v6} tcp {tcp} len {len}");
                // Without NEEDS_CSUM nothing changes.
                let mut untouched = packet.clone();
                untouched[at] ^= 1;
                let copy = untouched.clone();
                complete_checksum(&VirtioHeader::default(), &mut untouched).unwrap();
                assert_eq!(untouched, copy);
            }
        }
    }

    #[test]
    fn completion_at_any_offset_verifies() {
        let data = payload(if cfg!(miri) { 40 } else { 200 }, 11);
        for start in 0..data.len() {
            // Checksum fields sit at even offsets from the transport header.
            for offset in [0usize, 2, 6, 16] {
                let mut packet = data.clone();
                let header = VirtioHeader {
                    flags: NEEDS_CSUM,
                    csum_start: start as u16,
                    csum_offset: offset as u16,
                    ..VirtioHeader::default()
                };
                let field = start + offset;
                if field + 2 > packet.len() {
                    assert_eq!(
                        complete_checksum(&header, &mut packet),
                        Err(Malformed::ChecksumOutOfRange)
                    );
                    assert_eq!(packet, data);
                    continue;
                }
                // A zero seed: the completed range must then sum to all ones.
                packet[field..field + 2].fill(0);
                complete_checksum(&header, &mut packet).unwrap();
                assert_eq!(
                    naive_sum(&packet[start..]),
                    0xffff,
                    "start {start} offset {offset}"
                );
                assert_eq!(packet[..start], data[..start]);
                assert_ne!(packet[field..field + 2], [0, 0]);
            }
        }
        let mut short = [0u8; 1];
        let header = VirtioHeader {
            flags: NEEDS_CSUM,
            csum_start: u16::MAX,
            csum_offset: u16::MAX,
            ..VirtioHeader::default()
        };
        assert_eq!(
            complete_checksum(&header, &mut short),
            Err(Malformed::ChecksumOutOfRange)
        );
    }

    #[test]
    fn random_super_packets_split_into_what_the_sender_would_send() {
        let mut rng = Rng(0x5eed_0001);
        let rounds = if cfg!(miri) { 12 } else { 400 };
        for _ in 0..rounds {
            let mut spec = Spec::new(rng.chance(50), rng.chance(50));
            spec.seq = rng.next();
            spec.id = rng.next() as u16;
            spec.df = rng.chance(50);
            spec.options = rng.below(11) as u8;
            spec.ip_options = if spec.v6 { 0 } else { rng.below(11) as u8 };
            spec.flags = TCP_ACK | (rng.next() as u8 & (TCP_PSH | TCP_FIN | TCP_CWR));
            let max = if cfg!(miri) { 600 } else { 9000 };
            let data = payload(rng.below(max) as usize, rng.next());
            let gso_size = 1 + rng.below(1500) as usize;
            split_and_compare(&spec, &data, gso_size, spec.tcp && rng.chance(50));
        }
    }
}
