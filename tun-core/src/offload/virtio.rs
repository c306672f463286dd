//! `struct virtio_net_hdr`, the 10 bytes in front of every packet read from or written to a TUN
//! device opened with `IFF_VNET_HDR` (Linux `include/uapi/linux/virtio_net.h`).
//!
//! The fields are in the host's byte order: the kernel converts them with
//! `virtio16_to_cpu(little_endian = true)` on little-endian hosts, and nobody here asks for the
//! other order (`TUNSETVNETBE`).

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the transport checksum field holds only the pseudo-header sum;
/// the sum from `csum_start` to the end, complemented, goes at `csum_start + csum_offset`.
pub(crate) const NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_F_DATA_VALID`: the checksum was verified (reads only; nothing to do).
#[allow(dead_code)] // Named for the reader of a header dump; nothing depends on it.
pub(crate) const DATA_VALID: u8 = 2;

/// `VIRTIO_NET_HDR_GSO_NONE`: one ordinary packet.
pub(crate) const GSO_NONE: u8 = 0;
/// `VIRTIO_NET_HDR_GSO_TCPV4`: an IPv4 TCP super-packet, cut every `gso_size` payload bytes.
pub(crate) const GSO_TCPV4: u8 = 1;
/// `VIRTIO_NET_HDR_GSO_TCPV6`: the same over IPv6.
pub(crate) const GSO_TCPV6: u8 = 4;
/// `VIRTIO_NET_HDR_GSO_UDP_L4`: a UDP super-packet cut into datagrams of `gso_size` payload
/// bytes (USO, Linux 6.2), IPv4 or IPv6. (Type 3, UFO, makes IP fragments and is obsolete.)
pub(crate) const GSO_UDP_L4: u8 = 5;
/// `VIRTIO_NET_HDR_GSO_ECN`: added to a TCP type when the flow uses ECN, so that only the first
/// segment carries CWR.
pub(crate) const GSO_ECN: u8 = 0x80;

/// `struct virtio_net_hdr` (10 bytes, native endian).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct VirtioHeader {
    /// `NEEDS_CSUM`, `DATA_VALID`.
    pub(crate) flags: u8,
    /// `GSO_*`, possibly with `GSO_ECN`.
    pub(crate) gso_type: u8,
    /// Length of the headers before the payload. Not trusted on reads: the kernel sets it to the
    /// whole first packet on its forwarding path (wireguard-go's note), so it is recomputed.
    pub(crate) hdr_len: u16,
    /// Payload bytes per segment.
    pub(crate) gso_size: u16,
    /// Where the checksummed range starts (the transport header), from the packet's start.
    pub(crate) csum_start: u16,
    /// Where the checksum field is, from `csum_start`: 16 for TCP, 6 for UDP.
    pub(crate) csum_offset: u16,
}

impl VirtioHeader {
    /// `sizeof(struct virtio_net_hdr)`, what a TUN device uses unless `TUNSETVNETHDRSZ` says
    /// otherwise.
    pub(crate) const LEN: usize = 10;

    /// The header as the kernel wrote it.
    pub(crate) fn decode(bytes: [u8; 10]) -> Self {
        let [flags, gso_type, a, b, c, d, e, f, g, h] = bytes;
        Self {
            flags,
            gso_type,
            hdr_len: u16::from_ne_bytes([a, b]),
            gso_size: u16::from_ne_bytes([c, d]),
            csum_start: u16::from_ne_bytes([e, f]),
            csum_offset: u16::from_ne_bytes([g, h]),
        }
    }

    /// The header as the kernel reads it.
    pub(crate) fn encode(&self) -> [u8; 10] {
        let [a, b] = self.hdr_len.to_ne_bytes();
        let [c, d] = self.gso_size.to_ne_bytes();
        let [e, f] = self.csum_start.to_ne_bytes();
        let [g, h] = self.csum_offset.to_ne_bytes();
        [self.flags, self.gso_type, a, b, c, d, e, f, g, h]
    }

    /// Whether the packet behind this header is a super-packet to be cut into segments.
    pub(crate) fn is_gso(&self) -> bool {
        self.gso_type & !GSO_ECN != GSO_NONE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_native_order() {
        let header = VirtioHeader {
            flags: NEEDS_CSUM,
            gso_type: GSO_TCPV4 | GSO_ECN,
            hdr_len: 0x0102,
            gso_size: 1448,
            csum_start: 20,
            csum_offset: 16,
        };
        let bytes = header.encode();
        assert_eq!(bytes[0], NEEDS_CSUM);
        assert_eq!(bytes[1], 0x81);
        assert_eq!(bytes[2..4], 0x0102u16.to_ne_bytes());
        assert_eq!(bytes[4..6], 1448u16.to_ne_bytes());
        assert_eq!(bytes[6..8], 20u16.to_ne_bytes());
        assert_eq!(bytes[8..10], 16u16.to_ne_bytes());
        assert_eq!(VirtioHeader::decode(bytes), header);
        assert!(header.is_gso());
    }

    #[test]
    fn ecn_alone_is_not_gso() {
        let mut header = VirtioHeader::default();
        assert!(!header.is_gso());
        header.gso_type = GSO_ECN;
        assert!(!header.is_gso());
        header.gso_type = GSO_UDP_L4;
        assert!(header.is_gso());
        assert_eq!(VirtioHeader::decode([0; 10]), VirtioHeader::default());
    }
}
