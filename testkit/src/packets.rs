//! Packets for the tests, built and parsed with `etherparse`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};

/// A UDP datagram seen in a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Udp {
    /// Where it came from.
    pub source: SocketAddr,
    /// Where it goes.
    pub destination: SocketAddr,
    /// What it carries.
    pub payload: Vec<u8>,
}

fn udp_from(sliced: &SlicedPacket<'_>) -> Option<Udp> {
    let (src, dst): (IpAddr, IpAddr) = match &sliced.net {
        Some(NetSlice::Ipv4(ip)) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        Some(NetSlice::Ipv6(ip)) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        _ => return None,
    };
    match &sliced.transport {
        Some(TransportSlice::Udp(udp)) => Some(Udp {
            source: SocketAddr::new(src, udp.source_port()),
            destination: SocketAddr::new(dst, udp.destination_port()),
            payload: udp.payload().to_vec(),
        }),
        _ => None,
    }
}

/// The UDP datagram in an IP packet (TUN), if it is one.
pub fn parse_udp_ip(packet: &[u8]) -> Option<Udp> {
    udp_from(&SlicedPacket::from_ip(packet).ok()?)
}

/// The UDP datagram in an Ethernet frame (TAP), if it is one.
pub fn parse_udp_ethernet(frame: &[u8]) -> Option<Udp> {
    udp_from(&SlicedPacket::from_ethernet(frame).ok()?)
}

/// An IP packet (v4 or v6 after the addresses) carrying a UDP datagram.
pub fn udp_ip(source: SocketAddr, destination: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let builder = match (source.ip(), destination.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 64),
        _ => panic!("mixed address families: {source} -> {destination}"),
    }
    .udp(source.port(), destination.port());
    let mut packet = Vec::with_capacity(builder.size(payload.len()));
    builder
        .write(&mut packet, payload)
        .unwrap_or_else(|err| panic!("cannot build a UDP packet: {err}"));
    packet
}

/// An Ethernet frame carrying an IPv4 UDP datagram.
pub fn udp_ethernet(
    source_mac: [u8; 6],
    destination_mac: [u8; 6],
    source: (Ipv4Addr, u16),
    destination: (Ipv4Addr, u16),
    payload: &[u8],
) -> Vec<u8> {
    let builder = PacketBuilder::ethernet2(source_mac, destination_mac)
        .ipv4(source.0.octets(), destination.0.octets(), 64)
        .udp(source.1, destination.1);
    let mut frame = Vec::with_capacity(builder.size(payload.len()));
    builder
        .write(&mut frame, payload)
        .unwrap_or_else(|err| panic!("cannot build a UDP frame: {err}"));
    frame
}

/// If `frame` is an ARP request for `target`, the ARP reply saying `target` is at `our_mac`.
pub fn arp_reply(frame: &[u8], target: Ipv4Addr, our_mac: [u8; 6]) -> Option<Vec<u8>> {
    // Ethernet (14) + ARP for IPv4 over Ethernet (28).
    let eth = frame.get(..14)?;
    let arp = frame.get(14..42)?;
    if eth.get(12..14)? != [0x08, 0x06]
        || arp.get(6..8)? != [0, 1]
        || arp.get(24..28)? != target.octets()
    {
        return None;
    }
    let sender_mac = arp.get(8..14)?;
    let sender_ip = arp.get(14..18)?;
    let mut reply = Vec::with_capacity(42);
    reply.extend_from_slice(sender_mac);
    reply.extend_from_slice(&our_mac);
    reply.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2]);
    reply.extend_from_slice(&our_mac);
    reply.extend_from_slice(&target.octets());
    reply.extend_from_slice(sender_mac);
    reply.extend_from_slice(sender_ip);
    Some(reply)
}

/// The link-local IPv6 address for a MAC address (EUI-64), as the kernel derives it.
pub fn link_local(mac: [u8; 6]) -> Ipv6Addr {
    let [a, b, c, d, e, f] = mac;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        a ^ 2,
        b,
        c,
        0xff,
        0xfe,
        d,
        e,
        f,
    ])
}
