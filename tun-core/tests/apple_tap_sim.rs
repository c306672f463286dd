//! The simulated TAP device of macOS (`sys/ethernet_sim.rs`) with real packets: layered over a
//! Linux TUN device, in its own network namespace, as the macOS queue layers it over a utun.
//! The kernel answers pings and sends datagrams through it; the simulation answers ARP and
//! neighbour solicitations. Only the utun framing under it differs on a Mac, and that part is
//! not run here.
// It layers the simulation over a Linux TUN device.
#![cfg(target_os = "linux")]
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsFd;

use etherparse::{
    EtherType, Icmpv4Type, Icmpv6Type, LinkSlice, NetSlice, PacketBuilder, SlicedPacket,
    TransportSlice,
};
use tun_core::__ethernet_sim::{EthernetSim, Outbound, ETHERNET_HEADER_LEN, PEER_MAC};
use tun_core::Device;
use tun_testkit::packets::{self, parse_udp_ethernet, udp_ethernet};
use tun_testkit::{bind_udp, in_netns, recv_matching};

/// The userspace station's MAC: the simulated device's.
const USER_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30];
const KERNEL_V4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const USER_V4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

fn kernel_v6() -> Ipv6Addr {
    "fd77::1".parse().unwrap()
}

fn user_v6() -> Ipv6Addr {
    "fd77::2".parse().unwrap()
}

/// What the macOS queue does with a utun, done with a Linux TUN device (plain IP packets).
struct SimulatedTap {
    device: Device,
    sim: EthernetSim,
}

impl SimulatedTap {
    fn new() -> SimulatedTap {
        let device = Device::builder()
            .ipv4(KERNEL_V4, 24)
            .ipv6(kernel_v6(), 64)
            .up()
            .build()
            .unwrap()
            .remove(0);
        SimulatedTap {
            device,
            sim: EthernetSim::new(USER_MAC),
        }
    }

    /// A waiting answer, or the next packet from the kernel with its Ethernet header written in
    /// front of it, in place.
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(len) = self.sim.take_reply(buf) {
            return Ok(len);
        }
        let (header, packet) = buf.split_at_mut(ETHERNET_HEADER_LEN);
        let len = self.device.recv(packet)?;
        header.copy_from_slice(&self.sim.header(packet[0] >> 4));
        Ok(ETHERNET_HEADER_LEN + len)
    }

    /// A frame from the user: its IP packet to the kernel; true if it was one.
    fn send(&self, frame: &[u8]) -> bool {
        match self.sim.outbound(frame) {
            Outbound::Ip { packet, .. } => {
                assert_eq!(self.device.send(packet).unwrap(), frame.len() - 14);
                true
            }
            Outbound::Answered | Outbound::Dropped(_) => false,
        }
    }

    /// The next frame the user would receive that `wanted` accepts.
    fn recv_frame(&self, what: &str, wanted: impl FnMut(&[u8]) -> bool) -> Vec<u8> {
        if let Some(len) = self.sim.take_reply(&mut [0u8; 128][..]) {
            panic!("an unexpected answer of {len} bytes was waiting");
        }
        recv_matching(self.device.as_fd(), |buf| self.recv(buf), what, wanted)
    }
}

fn ethernet_of<'a>(frame: &'a SlicedPacket<'a>) -> ([u8; 6], [u8; 6], EtherType) {
    match &frame.link {
        Some(LinkSlice::Ethernet2(eth)) => (eth.source(), eth.destination(), eth.ether_type()),
        other => panic!("not an Ethernet II frame: {other:?}"),
    }
}

fn arp_request(sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&USER_MAC);
    frame.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    frame.extend_from_slice(&USER_MAC);
    frame.extend_from_slice(&sender.octets());
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&target.octets());
    frame
}

#[test]
fn utun_tap_sim_answers_arp_and_pings_through_a_kernel_tun() {
    in_netns(|| {
        let tap = SimulatedTap::new();
        // The user's stack asks for the kernel's address: answered here, from the peer.
        assert!(!tap.send(&arp_request(USER_V4, KERNEL_V4)));
        let mut buf = [0u8; 64];
        let n = tap.sim.take_reply(&mut buf).expect("no ARP reply");
        let reply = &buf[..n];
        assert_eq!(n, 42);
        assert_eq!(reply[..6], USER_MAC);
        assert_eq!(reply[6..12], PEER_MAC);
        assert_eq!(reply[20..22], [0, 2], "an ARP reply");
        assert_eq!(reply[22..28], PEER_MAC);
        assert_eq!(reply[28..32], KERNEL_V4.octets());
        assert_eq!(reply[38..42], USER_V4.octets());
        // The same check with the testkit's parser: a reply to a request from the peer.
        let request = arp_request(KERNEL_V4, USER_V4);
        assert!(packets::arp_reply(&request, USER_V4, USER_MAC).is_some());

        // Ping the kernel, addressed to the MAC the ARP reply gave.
        let builder = PacketBuilder::ethernet2(USER_MAC, PEER_MAC)
            .ipv4(USER_V4.octets(), KERNEL_V4.octets(), 64)
            .icmpv4_echo_request(0x77, 1);
        let mut ping = Vec::new();
        builder
            .write(&mut ping, b"through the simulated TAP")
            .unwrap();
        assert!(tap.send(&ping));
        let frame = tap.recv_frame("the echo reply", |frame| {
            let Ok(sliced) = SlicedPacket::from_ethernet(frame) else {
                return false;
            };
            matches!(&sliced.transport, Some(TransportSlice::Icmpv4(icmp))
                if matches!(icmp.icmp_type(), Icmpv4Type::EchoReply(echo) if echo.id == 0x77))
        });
        let sliced = SlicedPacket::from_ethernet(&frame).unwrap();
        assert_eq!(ethernet_of(&sliced), (PEER_MAC, USER_MAC, EtherType::IPV4));
        let Some(NetSlice::Ipv4(ip)) = &sliced.net else {
            panic!("not IPv4")
        };
        assert_eq!(ip.header().source_addr(), KERNEL_V4);
        assert_eq!(ip.header().destination_addr(), USER_V4);
        let Some(TransportSlice::Icmpv4(icmp)) = &sliced.transport else {
            panic!("not ICMP")
        };
        assert_eq!(icmp.payload(), b"through the simulated TAP");
        assert_eq!(tap.sim.dropped(), 0);
    });
}

#[test]
fn utun_tap_sim_carries_udp_both_ways_and_drops_what_is_not_ip() {
    in_netns(|| {
        let tap = SimulatedTap::new();
        // Kernel → user: a datagram to the user's address arrives as a frame to the device.
        let socket = bind_udp(IpAddr::V4(KERNEL_V4));
        let user = SocketAddr::new(IpAddr::V4(USER_V4), 4242);
        socket.send_to(b"to the L2 stack", user).unwrap();
        let frame = tap.recv_frame("the datagram", |frame| {
            parse_udp_ethernet(frame).is_some_and(|udp| udp.destination == user)
        });
        assert_eq!(frame[..6], USER_MAC);
        assert_eq!(frame[6..12], PEER_MAC);
        let udp = parse_udp_ethernet(&frame).unwrap();
        assert_eq!(udp.payload, b"to the L2 stack");

        // User → kernel: the answer, as a frame to the peer.
        let local = socket.local_addr().unwrap();
        let SocketAddr::V4(local_v4) = local else {
            panic!("not IPv4")
        };
        let answer = udp_ethernet(
            USER_MAC,
            PEER_MAC,
            (USER_V4, 4242),
            (*local_v4.ip(), local_v4.port()),
            b"from the L2 stack",
        );
        assert!(tap.send(&answer));
        let mut buf = [0u8; 64];
        let (n, from) = socket.recv_from(&mut buf).unwrap();
        assert_eq!((from, &buf[..n]), (user, &b"from the L2 stack"[..]));

        // Not IP: dropped and counted, nothing reaches the kernel.
        let mut lldp = vec![0x01, 0x80, 0xc2, 0, 0, 0x0e];
        lldp.extend_from_slice(&USER_MAC);
        lldp.extend_from_slice(&[0x88, 0xcc]);
        lldp.extend_from_slice(&[0; 46]);
        assert!(!tap.send(&lldp));
        // A unicast frame to another station: dropped too.
        let elsewhere = udp_ethernet(
            USER_MAC,
            [0x02, 9, 9, 9, 9, 9],
            (USER_V4, 4242),
            (*local_v4.ip(), local_v4.port()),
            b"not for this link",
        );
        assert!(!tap.send(&elsewhere));
        assert_eq!(tap.sim.dropped(), 2);
        socket
            .set_read_timeout(Some(std::time::Duration::from_millis(200)))
            .unwrap();
        assert!(
            socket.recv_from(&mut buf).is_err(),
            "a dropped frame arrived"
        );
    });
}

#[test]
fn utun_tap_sim_answers_neighbour_solicitations_and_pings_over_ipv6() {
    in_netns(|| {
        let tap = SimulatedTap::new();
        // A neighbour solicitation for the kernel's address, to its solicited-node group.
        let [.., c, d] = kernel_v6().octets();
        let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00 | u16::from(c), u16::from(d));
        let builder = PacketBuilder::ethernet2(USER_MAC, [0x33, 0x33, 0xff, 0, c, d])
            .ipv6(user_v6().octets(), group.octets(), 255)
            .icmpv6_raw(135, 0, [0; 4]);
        let mut solicitation = Vec::new();
        let mut body = kernel_v6().octets().to_vec();
        body.extend_from_slice(&[1, 1]);
        body.extend_from_slice(&USER_MAC);
        builder.write(&mut solicitation, &body).unwrap();
        assert!(!tap.send(&solicitation));
        let mut buf = [0u8; 128];
        let n = tap.sim.take_reply(&mut buf).expect("no advertisement");
        let sliced = SlicedPacket::from_ethernet(&buf[..n]).unwrap();
        assert_eq!(ethernet_of(&sliced), (PEER_MAC, USER_MAC, EtherType::IPV6));
        let Some(NetSlice::Ipv6(ip)) = &sliced.net else {
            panic!("not IPv6")
        };
        assert_eq!(ip.header().source_addr(), kernel_v6());
        assert_eq!(ip.header().destination_addr(), user_v6());
        assert_eq!(ip.header().hop_limit(), 255);
        let Some(TransportSlice::Icmpv6(icmp)) = &sliced.transport else {
            panic!("not ICMPv6")
        };
        // etherparse checks the checksum itself: recompute it from the slice.
        let header = icmp.header();
        let checksum = header
            .icmp_type
            .calc_checksum(
                ip.header().source(),
                ip.header().destination(),
                icmp.payload(),
            )
            .unwrap();
        assert_eq!(header.checksum, checksum);
        assert_eq!(icmp.type_u8(), 136, "a neighbour advertisement");
        assert_eq!(icmp.payload()[..16], kernel_v6().octets());
        assert_eq!(icmp.payload()[16..18], [2, 1]);
        assert_eq!(icmp.payload()[18..24], PEER_MAC);

        // Ping the kernel's IPv6 address through the simulated link.
        let builder = PacketBuilder::ethernet2(USER_MAC, PEER_MAC)
            .ipv6(user_v6().octets(), kernel_v6().octets(), 64)
            .icmpv6_echo_request(0x66, 1);
        let mut ping = Vec::new();
        builder.write(&mut ping, b"v6 through the TAP").unwrap();
        // The kernel's address is tentative for a moment after it is added (duplicate address
        // detection, skipped on this NOARP link, completes asynchronously): wait until it can
        // be bound, then ping.
        drop(bind_udp(IpAddr::V6(kernel_v6())));
        assert!(tap.send(&ping));
        let frame = tap.recv_frame("the ICMPv6 echo reply", |frame| {
            let Ok(sliced) = SlicedPacket::from_ethernet(frame) else {
                return false;
            };
            matches!(&sliced.transport, Some(TransportSlice::Icmpv6(icmp))
                if matches!(icmp.icmp_type(), Icmpv6Type::EchoReply(echo) if echo.id == 0x66))
        });
        let sliced = SlicedPacket::from_ethernet(&frame).unwrap();
        assert_eq!(ethernet_of(&sliced), (PEER_MAC, USER_MAC, EtherType::IPV6));
        let Some(TransportSlice::Icmpv6(icmp)) = &sliced.transport else {
            panic!("not ICMPv6")
        };
        assert_eq!(icmp.payload(), b"v6 through the TAP");
    });
}
