//! Reading and writing the few IP, TCP and UDP header fields offload needs, without panicking on
//! any input: every read is bounds-checked, and writes happen only where a parse has checked the
//! bounds already.

use std::fmt;

use super::checksum::Checksum;

pub(crate) const PROTO_TCP: u8 = 6;
pub(crate) const PROTO_UDP: u8 = 17;
pub(crate) const IPV6_HEADER_LEN: usize = 40;
pub(crate) const TCP_MIN_LEN: usize = 20;
pub(crate) const UDP_LEN: usize = 8;
/// Where the checksum field is in each transport header (`csum_offset`).
pub(crate) const TCP_CHECKSUM_AT: usize = 16;
pub(crate) const UDP_CHECKSUM_AT: usize = 6;
pub(crate) const TCP_FIN: u8 = 0x01;
pub(crate) const TCP_SYN: u8 = 0x02;
pub(crate) const TCP_RST: u8 = 0x04;
pub(crate) const TCP_PSH: u8 = 0x08;
pub(crate) const TCP_ACK: u8 = 0x10;
pub(crate) const TCP_URG: u8 = 0x20;
pub(crate) const TCP_CWR: u8 = 0x80;
/// The IPv4 "don't fragment" bit, in the flags and fragment offset word.
pub(crate) const IPV4_DF: u16 = 0x4000;
/// "More fragments" and the fragment offset: either set means an IP fragment.
pub(crate) const IPV4_FRAGMENT: u16 = 0x3fff;

/// Why a packet read from an offload device could not be handed out (the caller turns it into
/// `io::ErrorKind::InvalidData` with this as its message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// The packet ends before the headers it announces (IP, TCP or UDP).
    TooShort,
    /// The first nibble is neither 4 nor 6.
    NotIp,
    /// A GSO type this code does not know (or UFO, type 3, which makes IP fragments).
    UnknownGsoType,
    /// The GSO type does not match the packet: TCPV4 on IPv6, UDP_L4 on TCP, ECN on UDP...
    GsoTypeMismatch,
    /// `csum_start`/`csum_offset` point past the packet's end.
    ChecksumOutOfRange,
    /// The transport header is not right after the IP header (`csum_start` says otherwise, as
    /// with IPv6 extension headers or IPv4 options the kernel counted differently).
    TransportOffset,
    /// `gso_size` is zero.
    ZeroGsoSize,
    /// A segment would be longer than an IP packet's length field can say.
    SegmentTooLong,
    /// A segment index at or past the segment count.
    NoSuchSegment,
    /// The output buffer is shorter than the segment.
    BufferTooShort,
    /// The bytes given to `write_segment` are not as long as those given to `parse`.
    NotTheParsedPacket,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooShort => "offload: packet shorter than its IP and transport headers",
            Self::NotIp => "offload: packet is neither IPv4 nor IPv6",
            Self::UnknownGsoType => "offload: unknown or unsupported GSO type in the virtio header",
            Self::GsoTypeMismatch => {
                "offload: the virtio header's GSO type does not match the packet's IP version or protocol"
            }
            Self::ChecksumOutOfRange => {
                "offload: the virtio header's checksum start or offset is past the packet's end"
            }
            Self::TransportOffset => {
                "offload: the transport header is not right after the IP header \
                 (extension headers are not supported in super-packets)"
            }
            Self::ZeroGsoSize => "offload: super-packet with a segment size of zero",
            Self::SegmentTooLong => "offload: a segment would exceed the IP length limit",
            Self::NoSuchSegment => "offload: segment index past the segment count",
            Self::BufferTooShort => "offload: buffer too short for the segment",
            Self::NotTheParsedPacket => "offload: segment written from a different packet",
        })
    }
}

impl std::error::Error for Malformed {}

/// A big-endian `u16` at `at`, or `None` past the end.
pub(crate) fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let pair = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*pair.first()?, *pair.get(1)?]))
}

/// A big-endian `u32` at `at`, or `None` past the end.
pub(crate) fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let quad = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(quad.try_into().ok()?))
}

/// Stores a big-endian `u16` at `at`; a no-op past the end (callers have checked the bounds).
pub(crate) fn put16(bytes: &mut [u8], at: usize, value: u16) {
    if let Some(pair) = bytes.get_mut(at..at.saturating_add(2)) {
        pair.copy_from_slice(&value.to_be_bytes());
    }
}

/// Stores a big-endian `u32` at `at`; a no-op past the end (callers have checked the bounds).
pub(crate) fn put32(bytes: &mut [u8], at: usize, value: u32) {
    if let Some(quad) = bytes.get_mut(at..at.saturating_add(4)) {
        quad.copy_from_slice(&value.to_be_bytes());
    }
}

/// The byte at `at`, or 0 past the end.
pub(crate) fn byte(bytes: &[u8], at: usize) -> u8 {
    bytes.get(at).copied().unwrap_or(0)
}

/// Where the headers of a TCP or UDP packet end, read from the packet itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) v6: bool,
    pub(crate) tcp: bool,
    /// IP header length (IPv4 with options; IPv6 without extension headers).
    pub(crate) ip_len: usize,
    /// IP + transport header length: where the payload starts.
    pub(crate) header_len: usize,
}

impl Layout {
    /// The IP version and the transport header right after the IP header, if the packet holds
    /// both whole. IPv6 extension headers are not followed: the next header must be TCP or UDP.
    /// Fragments are not looked at here (the callers decide).
    pub(crate) fn parse(packet: &[u8]) -> Result<Self, Malformed> {
        let first = *packet.first().ok_or(Malformed::TooShort)?;
        let (v6, ip_len, protocol) = match first >> 4 {
            4 => (false, usize::from(first & 0x0f) * 4, byte(packet, 9)),
            6 => (true, IPV6_HEADER_LEN, byte(packet, 6)),
            _ => return Err(Malformed::NotIp),
        };
        if ip_len < 20 || packet.len() < ip_len {
            return Err(Malformed::TooShort);
        }
        let (tcp, transport_len) = match protocol {
            PROTO_TCP => {
                let offset = usize::from(byte(packet, ip_len + 12) >> 4) * 4;
                if offset < TCP_MIN_LEN {
                    return Err(Malformed::TooShort);
                }
                (true, offset)
            }
            PROTO_UDP => (false, UDP_LEN),
            _ => return Err(Malformed::GsoTypeMismatch),
        };
        let header_len = ip_len + transport_len;
        if packet.len() < header_len {
            return Err(Malformed::TooShort);
        }
        Ok(Self {
            v6,
            tcp,
            ip_len,
            header_len,
        })
    }

    pub(crate) fn protocol(&self) -> u8 {
        if self.tcp {
            PROTO_TCP
        } else {
            PROTO_UDP
        }
    }

    /// Where the transport checksum field is, from the packet's start.
    pub(crate) fn checksum_at(&self) -> usize {
        self.ip_len + self.checksum_offset()
    }

    /// Where the transport checksum field is, from the transport header (`csum_offset`).
    pub(crate) fn checksum_offset(&self) -> usize {
        if self.tcp {
            TCP_CHECKSUM_AT
        } else {
            UDP_CHECKSUM_AT
        }
    }

    /// The pseudo-header sum (addresses, protocol, transport length) of `packet`'s headers.
    pub(crate) fn pseudo_header(&self, packet: &[u8], transport_len: u32) -> Checksum {
        let mut sum = Checksum::new();
        let addresses = if self.v6 { 8..40 } else { 12..20 };
        sum.add_bytes(packet.get(addresses).unwrap_or_default());
        sum.add_u16(u16::from(self.protocol()));
        sum.add_u32(transport_len);
        sum
    }

    /// Whether the transport checksum of a whole packet verifies (IPv4 UDP's "no checksum", 0,
    /// counts as not verified: nothing vouches for the data).
    pub(crate) fn transport_checksum_ok(&self, packet: &[u8]) -> bool {
        let Some(transport) = packet.get(self.ip_len..) else {
            return false;
        };
        let Ok(transport_len) = u32::try_from(transport.len()) else {
            return false;
        };
        if !self.tcp && be16(packet, self.checksum_at()) == Some(0) {
            return false;
        }
        let mut sum = self.pseudo_header(packet, transport_len);
        sum.add_bytes(transport);
        sum.fold() == 0xffff
    }

    /// Whether the IPv4 header checksum verifies (IPv6 has none).
    pub(crate) fn ip_checksum_ok(&self, packet: &[u8]) -> bool {
        self.v6 || {
            let mut sum = Checksum::new();
            sum.add_bytes(packet.get(..self.ip_len).unwrap_or_default());
            sum.fold() == 0xffff
        }
    }
}

/// Writes a fresh IPv4 header checksum into `header` (exactly the IPv4 header).
pub(crate) fn set_ipv4_checksum(header: &mut [u8]) {
    put16(header, 10, 0);
    let mut sum = Checksum::new();
    sum.add_bytes(header);
    put16(header, 10, sum.finish());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_short_and_odd_packets() {
        assert_eq!(Layout::parse(&[]), Err(Malformed::TooShort));
        assert_eq!(Layout::parse(&[0x50; 60]), Err(Malformed::NotIp));
        // IHL 4 (16 bytes) is below the minimum.
        assert_eq!(Layout::parse(&[0x44; 60]), Err(Malformed::TooShort));
        let mut v4 = [0u8; 40];
        v4[0] = 0x45;
        v4[9] = PROTO_TCP;
        v4[32] = 0x50;
        let layout = Layout::parse(&v4).unwrap();
        assert_eq!(
            (layout.v6, layout.tcp, layout.ip_len, layout.header_len),
            (false, true, 20, 40)
        );
        assert_eq!(Layout::parse(&v4[..39]), Err(Malformed::TooShort));
        v4[32] = 0x40; // data offset 16 bytes
        assert_eq!(Layout::parse(&v4), Err(Malformed::TooShort));
        v4[9] = 1; // ICMP
        assert_eq!(Layout::parse(&v4), Err(Malformed::GsoTypeMismatch));
        let mut v6 = [0u8; 48];
        v6[0] = 0x60;
        v6[6] = PROTO_UDP;
        let layout = Layout::parse(&v6).unwrap();
        assert_eq!(
            (layout.v6, layout.tcp, layout.header_len),
            (true, false, 48)
        );
        assert_eq!(layout.checksum_at(), 46);
    }

    #[test]
    fn field_access_never_panics() {
        let mut bytes = [1u8, 2, 3];
        assert_eq!(be16(&bytes, 1), Some(0x0203));
        assert_eq!(be16(&bytes, 2), None);
        assert_eq!(be16(&bytes, usize::MAX), None);
        assert_eq!(be32(&bytes, 0), None);
        put16(&mut bytes, 2, 0xffff);
        put32(&mut bytes, usize::MAX, 0);
        assert_eq!(bytes, [1, 2, 3]);
        assert_eq!(byte(&bytes, 3), 0);
    }
}
