//! The demo: a TUN device whose "other end" is this program. It answers ICMP echo requests
//! (IPv4 and IPv6) in userspace and proves it by pinging through the device itself.
//!
//! What it does, in order:
//! 1. Moves itself into a new, private network namespace (as root), so the device, its
//!    addresses and routes exist only there: the host's interfaces and routing are untouched, and
//!    everything disappears when the demo exits. `--host` skips this (then it needs
//!    CAP_NET_ADMIN and adds routes for 10.200.0.0/24 and fd00:200::/64 while it runs).
//! 2. Creates `demo0` (TUN) with 10.200.0.1/24 and fd00:200::1/64, and brings it up.
//! 3. A tokio task reads every packet from the device, prints it, and writes an echo reply for
//!    each echo request (packets parsed and built with `etherparse`).
//! 4. Pings 10.200.0.2 and fd00:200::2 (raw ICMP sockets): the kernel routes the requests
//!    into the device, the task answers, the kernel delivers the replies. Prints each round trip
//!    and a summary, and exits (status 1 if any ping went unanswered).
//!
//! Run: `sudo -E $(which cargo) run --example demo`

use std::error::Error;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use etherparse::{
    IcmpEchoHeader, Icmpv4Header, Icmpv4Type, Icmpv6Header, Icmpv6Type, NetSlice, PacketBuilder,
    SlicedPacket, TransportSlice,
};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tun_tokio::Tun;

const LOCAL_V4: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 1);
const PEER_V4: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 2);
const LOCAL_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x200, 0, 0, 0, 0, 0, 1);
const PEER_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x200, 0, 0, 0, 0, 0, 2);
const PINGS: u16 = 4;
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("demo failed: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, Box<dyn Error>> {
    if std::env::args().any(|arg| arg == "--host") {
        println!("--host: creating the device in the current network namespace");
    } else {
        enter_private_namespace()?;
    }
    // The runtime is built after the namespace switch, so its threads live there too.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(demo())
}

#[cfg(target_os = "linux")]
fn enter_private_namespace() -> Result<(), Box<dyn Error>> {
    use nix::sched::{unshare, CloneFlags};
    unshare(CloneFlags::CLONE_NEWNET).map_err(|errno| {
        format!(
            "cannot create a private network namespace ({errno}): that needs root \
             (CAP_SYS_ADMIN). As root: `scripts/demo`, or `sudo target/debug/examples/demo`. \
             Without root or sudo: `unshare --user --map-root-user target/debug/examples/demo` \
             makes you root of a new user namespace only, with no power over the host; it works \
             where unprivileged user namespaces are allowed and /dev/net/tun is open to all \
             users (mode 0666, as on Debian, Ubuntu and Fedora: see `ls -l /dev/net/tun`). Or \
             pass `--host` to use the current namespace (needs CAP_NET_ADMIN; adds routes to \
             10.200.0.0/24 and fd00:200::/64 while it runs)"
        )
    })?;
    println!(
        "running in a private network namespace: the host's interfaces and routes are untouched"
    );
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn enter_private_namespace() -> Result<(), Box<dyn Error>> {
    Err("private network namespaces exist only on Linux: pass --host".into())
}

async fn demo() -> Result<bool, Box<dyn Error>> {
    let tun = Arc::new(
        Tun::builder()
            .name("demo%d")
            .ipv4(LOCAL_V4, 24)
            .ipv6(LOCAL_V6, 64)
            .up()
            .build()?
            .pop()
            .ok_or("the build returned no queue")?,
    );
    println!(
        "created {}: {}",
        tun.name(),
        tun.device()
            .addresses()?
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );

    let seen = Arc::new(AtomicUsize::new(0));
    let responder = tokio::spawn(respond(Arc::clone(&tun), Arc::clone(&seen)));

    println!("pinging {PEER_V4} through {}", tun.name());
    let v4 = tokio::task::spawn_blocking(|| ping(IpAddr::V4(PEER_V4))).await??;
    wait_until_usable(LOCAL_V6).await;
    println!("pinging {PEER_V6} through {}", tun.name());
    let v6 = tokio::task::spawn_blocking(|| ping(IpAddr::V6(PEER_V6))).await??;
    responder.abort();

    println!(
        "\nsummary: {v4}/{PINGS} IPv4 and {v6}/{PINGS} IPv6 echo requests answered in userspace; \
         {} packets read from {}",
        seen.load(Ordering::Relaxed),
        tun.name()
    );
    Ok(v4 == PINGS && v6 == PINGS)
}

/// Reads every packet from the device and answers echo requests.
async fn respond(tun: Arc<Tun>, seen: Arc<AtomicUsize>) -> std::io::Result<()> {
    let mut buf = vec![0u8; 65536];
    loop {
        let n = tun.recv(&mut buf).await?;
        seen.fetch_add(1, Ordering::Relaxed);
        let packet = buf.get(..n).unwrap_or_default();
        match echo_reply(packet) {
            Some((summary, reply)) => {
                println!("  <- {summary} ({n} bytes): writing the echo reply");
                tun.send_all(&reply).await?;
            }
            None => println!("  <- {} ({n} bytes): not for us, ignored", describe(packet)),
        }
    }
}

/// If `packet` is an echo request, a description of it and the echo reply.
fn echo_reply(packet: &[u8]) -> Option<(String, Vec<u8>)> {
    let sliced = SlicedPacket::from_ip(packet).ok()?;
    let mut reply = Vec::new();
    match (sliced.net.as_ref()?, sliced.transport.as_ref()?) {
        (NetSlice::Ipv4(ip), TransportSlice::Icmpv4(icmp)) => {
            let Icmpv4Type::EchoRequest(echo) = icmp.icmp_type() else {
                return None;
            };
            let (src, dst) = (ip.header().source(), ip.header().destination());
            PacketBuilder::ipv4(dst, src, 64)
                .icmpv4_echo_reply(echo.id, echo.seq)
                .write(&mut reply, icmp.payload())
                .ok()?;
            let summary = format!(
                "ICMPv4 echo request {} -> {} id {} seq {}",
                Ipv4Addr::from(src),
                Ipv4Addr::from(dst),
                echo.id,
                echo.seq
            );
            Some((summary, reply))
        }
        (NetSlice::Ipv6(ip), TransportSlice::Icmpv6(icmp)) => {
            let Icmpv6Type::EchoRequest(echo) = icmp.icmp_type() else {
                return None;
            };
            let (src, dst) = (ip.header().source(), ip.header().destination());
            PacketBuilder::ipv6(dst, src, 64)
                .icmpv6_echo_reply(echo.id, echo.seq)
                .write(&mut reply, icmp.payload())
                .ok()?;
            let summary = format!(
                "ICMPv6 echo request {} -> {} id {} seq {}",
                Ipv6Addr::from(src),
                Ipv6Addr::from(dst),
                echo.id,
                echo.seq
            );
            Some((summary, reply))
        }
        _ => None,
    }
}

/// ICMPv6 by name: besides the demo's echo requests, the kernel sends router solicitations
/// (133) and multicast listener reports (143) when a link with IPv6 comes up.
fn describe_icmpv6(icmp: Icmpv6Type) -> String {
    let name = match icmp {
        Icmpv6Type::EchoRequest(echo) => return format!("ICMPv6 echo request (seq {})", echo.seq),
        Icmpv6Type::EchoReply(echo) => return format!("ICMPv6 echo reply (seq {})", echo.seq),
        _ => match icmp.type_u8() {
            1 => "destination unreachable",
            2 => "packet too big",
            3 => "time exceeded",
            4 => "parameter problem",
            130 => "multicast listener query",
            131 => "multicast listener report",
            132 => "multicast listener done",
            133 => "router solicitation",
            134 => "router advertisement",
            135 => "neighbor solicitation",
            136 => "neighbor advertisement",
            137 => "redirect",
            143 => "multicast listener report v2",
            _ => "message",
        },
    };
    format!("ICMPv6 {name} (type {})", icmp.type_u8())
}

/// A one-line description of any packet.
fn describe(packet: &[u8]) -> String {
    match SlicedPacket::from_ip(packet) {
        Ok(sliced) => {
            let net = match &sliced.net {
                Some(NetSlice::Ipv4(ip)) => format!(
                    "IPv4 {} -> {}",
                    ip.header().source_addr(),
                    ip.header().destination_addr()
                ),
                Some(NetSlice::Ipv6(ip)) => format!(
                    "IPv6 {} -> {}",
                    ip.header().source_addr(),
                    ip.header().destination_addr()
                ),
                _ => "unknown network layer".to_owned(),
            };
            let transport = match &sliced.transport {
                Some(TransportSlice::Icmpv6(icmp)) => describe_icmpv6(icmp.icmp_type()),
                Some(TransportSlice::Icmpv4(icmp)) => format!("{:?}", icmp.icmp_type()),
                Some(TransportSlice::Udp(udp)) => format!("UDP port {}", udp.destination_port()),
                Some(TransportSlice::Tcp(tcp)) => format!("TCP port {}", tcp.destination_port()),
                None => "no transport".to_owned(),
            };
            format!("{net} {transport}")
        }
        Err(err) => format!("unparsable packet ({err})"),
    }
}

/// A fresh IPv6 address is tentative for a moment; wait (bounded) until it can be used.
async fn wait_until_usable(address: Ipv6Addr) {
    let deadline = Instant::now() + REPLY_TIMEOUT;
    while std::net::UdpSocket::bind((address, 0)).is_err() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends `PINGS` echo requests to `peer` from a raw ICMP socket and counts the replies.
fn ping(peer: IpAddr) -> std::io::Result<u16> {
    let (domain, protocol) = match peer {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    let socket = Socket::new(domain, Type::RAW, Some(protocol))?;
    socket.set_read_timeout(Some(REPLY_TIMEOUT))?;
    let id = (std::process::id() & 0xffff) as u16;
    let payload = b"tun demo ping";
    let mut answered = 0;
    for seq in 1..=PINGS {
        let echo = IcmpEchoHeader { id, seq };
        let request = match peer {
            IpAddr::V4(_) => {
                let header = Icmpv4Header::with_checksum(Icmpv4Type::EchoRequest(echo), payload);
                [header.to_bytes().as_slice(), payload].concat()
            }
            // The kernel fills in the ICMPv6 checksum of raw ICMPv6 sockets.
            IpAddr::V6(_) => {
                let header = Icmpv6Header::new(Icmpv6Type::EchoRequest(echo));
                [header.to_bytes().as_slice(), payload].concat()
            }
        };
        let sent = Instant::now();
        socket.send_to(&request, &SockAddr::from(SocketAddr::new(peer, 0)))?;
        if wait_for_reply(&socket, peer, echo)? {
            answered += 1;
            println!(
                "  -> reply from {peer}: seq {seq} time {:.3} ms",
                sent.elapsed().as_secs_f64() * 1e3
            );
        } else {
            println!("  -> no reply from {peer} for seq {seq}");
        }
    }
    Ok(answered)
}

/// Reads the raw socket until the reply to `echo` arrives or the read times out.
fn wait_for_reply(socket: &Socket, peer: IpAddr, echo: IcmpEchoHeader) -> std::io::Result<bool> {
    let deadline = Instant::now() + REPLY_TIMEOUT;
    let mut buf = [0u8; 1500];
    while Instant::now() < deadline {
        let n = match (&*socket).read(&mut buf) {
            Ok(n) => n,
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(false)
            }
            Err(err) => return Err(err),
        };
        let received = buf.get(..n).unwrap_or_default();
        let is_reply = match peer {
            // Raw IPv4 sockets deliver the IP header too; raw ICMPv6 sockets only the message.
            IpAddr::V4(_) => SlicedPacket::from_ip(received).ok().is_some_and(|sliced| {
                matches!(sliced.transport, Some(TransportSlice::Icmpv4(icmp))
                    if icmp.icmp_type() == Icmpv4Type::EchoReply(echo))
            }),
            IpAddr::V6(_) => etherparse::Icmpv6Slice::from_slice(received)
                .is_ok_and(|icmp| icmp.icmp_type() == Icmpv6Type::EchoReply(echo)),
        };
        if is_reply {
            return Ok(true);
        }
    }
    Ok(false)
}
