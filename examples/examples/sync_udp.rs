//! Synchronous code with `tun-core` alone: a TUN device with an IPv4 and an IPv6 address, brought
//! up, exchanging packets with ordinary UDP sockets. For each address family the program sends a
//! datagram from a socket to a peer address routed into the device, reads the packet from the
//! device (blocking `recv`), writes the answer packet back (`send`), and the socket receives it.
//!
//! `sudo -E $(which cargo) run --example sync_udp` (creating a device needs CAP_NET_ADMIN). It
//! uses addresses 10.201.0.0/24 and fd00:201::/64 on a device of its own; run it inside a
//! network namespace (`sudo unshare -n ...`) to keep even those routes off the host.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};
use tun_core::Device;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let local_v4 = Ipv4Addr::new(10, 201, 0, 1);
    let local_v6 = Ipv6Addr::new(0xfd00, 0x201, 0, 0, 0, 0, 0, 1);
    let device = Device::builder()
        .name("sync%d")
        .ipv4(local_v4, 24)
        .ipv6(local_v6, 64)
        .up()
        .build()?
        .remove(0);
    println!("{} is up: {:?}", device.name(), device.addresses()?);

    for (local, peer) in [
        (IpAddr::V4(local_v4), "10.201.0.2:7".parse::<SocketAddr>()?),
        (
            IpAddr::V6(local_v6),
            "[fd00:201::2]:7".parse::<SocketAddr>()?,
        ),
    ] {
        let socket = bind(local)?;
        socket.send_to(b"hello, device", peer)?;
        let mut buf = vec![0u8; device.max_packet_len()?];
        // Skip what else the kernel sends (IPv6 router solicitations, ...) until our datagram.
        let (from, payload) = loop {
            let n = device.recv(&mut buf)?;
            if let Some(udp) = udp_in(buf.get(..n).unwrap_or_default()) {
                break udp;
            }
        };
        println!(
            "device read {} bytes from {from}: {:?}",
            payload.len(),
            String::from_utf8_lossy(&payload)
        );

        let answer = build_udp(peer, from, b"hello, socket")?;
        device.send(&answer)?;
        let mut reply = [0u8; 64];
        let (n, sender) = socket.recv_from(&mut reply)?;
        println!(
            "socket got {:?} from {sender}",
            String::from_utf8_lossy(reply.get(..n).unwrap_or_default())
        );
    }
    Ok(())
}

/// A socket on `local` with a read timeout; retries while a fresh IPv6 address is tentative.
fn bind(local: IpAddr) -> std::io::Result<UdpSocket> {
    let deadline = Instant::now() + Duration::from_secs(2);
    let socket = loop {
        match UdpSocket::bind((local, 0)) {
            Ok(socket) => break socket,
            Err(err)
                if Instant::now() < deadline
                    && err.kind() == std::io::ErrorKind::AddrNotAvailable =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(err) => return Err(err),
        }
    };
    socket.set_read_timeout(Some(Duration::from_secs(5)))?;
    Ok(socket)
}

/// The sender and payload of a UDP packet.
fn udp_in(packet: &[u8]) -> Option<(SocketAddr, Vec<u8>)> {
    let sliced = SlicedPacket::from_ip(packet).ok()?;
    let source: IpAddr = match sliced.net? {
        NetSlice::Ipv4(ip) => ip.header().source_addr().into(),
        NetSlice::Ipv6(ip) => ip.header().source_addr().into(),
        _ => return None,
    };
    match sliced.transport? {
        TransportSlice::Udp(udp) => Some((
            SocketAddr::new(source, udp.source_port()),
            udp.payload().to_vec(),
        )),
        _ => None,
    }
}

/// A UDP packet from `from` to `to`.
fn build_udp(
    from: SocketAddr,
    to: SocketAddr,
    payload: &[u8],
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let builder = match (from.ip(), to.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 64),
        _ => return Err("mixed address families".into()),
    }
    .udp(from.port(), to.port());
    let mut packet = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut packet, payload)?;
    Ok(packet)
}
