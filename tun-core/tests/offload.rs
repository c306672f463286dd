//! Offload (`Builder::offload`) and the batch API on real devices: TCP and UDP between two
//! network namespaces through a relay built on `recv_batch`/`send_batch`, checked byte for byte,
//! with the kernel's own counters proving that super-packets were read and written; the plain
//! packet API on an offload device; the reset of a persistent device's offloads; the fallback
//! when the kernel refuses coalesced writes; and the refusals.
//!
//! Topology of the relay tests (the namespaces exist only for the test):
//!
//! ```text
//!   test namespace (thread A)                           peer namespace (thread B)
//!   client socket -> ofa 10.66.0.1/24 <-fd- relay -fd-> ofb 10.66.0.2/24 -> server socket
//! ```
//! Both devices are created in A; `ofb` is then moved into B (its fd keeps working).
#![cfg(tun_offload)]
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tun_core::{Device, ErrorKind, PacketBatch};
use tun_testkit::{fd_count, in_netns, ip};

const MTU: usize = 1500;

/// The bytes of the stream at `offset`: every byte depends on its position, so a reordered,
/// lost or duplicated segment shows up as a difference.
fn pattern(offset: u64) -> u8 {
    let x = offset.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 56) as u8 ^ (offset as u8)
}

/// The kernel's counters of a link in the calling thread's namespace: (rx bytes, rx packets,
/// tx bytes, tx packets).
fn link_stats(name: &str) -> (u64, u64, u64, u64) {
    let json = ip(&["-j", "-s", "link", "show", name]);
    let field = |direction: &str, what: &str| -> u64 {
        let at = json
            .find(&format!("\"{direction}\":{{"))
            .unwrap_or_else(|| panic!("no {direction} stats in {json}"));
        let rest = &json[at..];
        let key = format!("\"{what}\":");
        let start = rest.find(&key).unwrap() + key.len();
        rest[start..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (
        field("rx", "bytes"),
        field("rx", "packets"),
        field("tx", "bytes"),
        field("tx", "packets"),
    )
}

/// RFC 1071, the slow and obvious way.
fn naive_sum(data: &[u8], mut sum: u32) -> u32 {
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// Whether an IPv4 TCP/UDP packet's header and transport checksums verify (others: true).
fn checksums_verify(packet: &[u8]) -> bool {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return true;
    }
    let header_len = usize::from(packet[0] & 0x0f) * 4;
    if fold(naive_sum(&packet[..header_len], 0)) != 0xffff {
        return false;
    }
    let total = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    let protocol = packet[9];
    if total != packet.len() || !(protocol == 6 || protocol == 17) {
        return total == packet.len();
    }
    let l4 = &packet[header_len..];
    if protocol == 17 && l4[6..8] == [0, 0] {
        return true; // no UDP checksum
    }
    let mut pseudo = naive_sum(&packet[12..20], 0);
    pseudo += u32::from(protocol) + l4.len() as u32;
    fold(naive_sum(l4, pseudo)) == 0xffff
}

/// What a relay direction saw.
#[derive(Debug, Default)]
struct Seen {
    packets: AtomicU64,
    batches: AtomicU64,
    /// Batches that held more than one packet.
    multi: AtomicU64,
    longest: AtomicU64,
    bad_checksums: AtomicU64,
}

/// Relays `from` → `to` with the batch API until `stop`, checking every packet.
fn relay_batches(from: &Device, to: &Device, stop: &AtomicBool, seen: &Seen) {
    let mut batch = PacketBatch::new();
    while !stop.load(Ordering::Relaxed) {
        if !readable(from, Duration::from_millis(50)) {
            continue;
        }
        let n = match from.recv_batch(&mut batch) {
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            Err(err) => panic!("recv_batch: {err}"),
        };
        seen.batches.fetch_add(1, Ordering::Relaxed);
        if n > 1 {
            seen.multi.fetch_add(1, Ordering::Relaxed);
        }
        for packet in batch.iter() {
            seen.packets.fetch_add(1, Ordering::Relaxed);
            seen.longest
                .fetch_max(packet.len() as u64, Ordering::Relaxed);
            if !checksums_verify(packet) {
                seen.bad_checksums.fetch_add(1, Ordering::Relaxed);
            }
        }
        to.send_batch(&mut batch).expect("send_batch");
        assert!(batch.is_empty(), "send_batch leaves the batch empty");
    }
}

/// Relays `from` → `to` one packet at a time with plain `recv`/`send`.
fn relay_plain(from: &Device, to: &Device, stop: &AtomicBool, seen: &Seen) {
    let mut buf = vec![0; 65536];
    while !stop.load(Ordering::Relaxed) {
        if !readable(from, Duration::from_millis(50)) {
            continue;
        }
        loop {
            let n = match from.recv(&mut buf) {
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) => panic!("recv: {err}"),
            };
            seen.packets.fetch_add(1, Ordering::Relaxed);
            seen.longest.fetch_max(n as u64, Ordering::Relaxed);
            if !checksums_verify(&buf[..n]) {
                seen.bad_checksums.fetch_add(1, Ordering::Relaxed);
            }
            to.send(&buf[..n]).expect("send");
        }
    }
}

fn readable(device: &Device, timeout: Duration) -> bool {
    let mut fds = [nix::poll::PollFd::new(
        device.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    let timeout = nix::poll::PollTimeout::try_from(timeout).unwrap();
    matches!(nix::poll::poll(&mut fds, timeout), Ok(n) if n > 0)
}

type Relay = fn(&Device, &Device, &AtomicBool, &Seen);

/// What a relay test measured.
struct Outcome {
    /// A → B and B → A.
    forward: Seen,
    backward: Seen,
    /// `ofa`'s counters (tx: what A's kernel handed the relay) and `ofb`'s (rx: what the relay
    /// wrote into B's kernel).
    ofa: (u64, u64, u64, u64),
    ofb: (u64, u64, u64, u64),
}

/// Builds the topology, runs `server` in the peer namespace and `client` in the test's, with
/// `relay` in both directions, and returns what was seen. `prepare` runs on the devices first.
fn through_relay(
    relay: Relay,
    prepare: impl FnOnce(&Device, &Device) + Send + 'static,
    server: impl FnOnce() + Send + 'static,
    client: impl FnOnce() + Send + 'static,
) -> Option<Outcome> {
    in_netns(move || {
        let a = Device::builder()
            .name("ofa")
            .offload(true)
            .ipv4(Ipv4Addr::new(10, 66, 0, 1), 24)
            .nonblocking(true)
            .up()
            .build()
            .unwrap()
            .remove(0);
        let b = Device::builder()
            .name("ofb")
            .offload(true)
            .nonblocking(true)
            .build()
            .unwrap()
            .remove(0);
        assert!(a.offload().unwrap().tcp, "TCP segmentation is required");
        prepare(&a, &b);

        let (tid_tx, tid_rx) = mpsc::channel();
        let (moved_tx, moved_rx) = mpsc::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let peer = std::thread::spawn(move || {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            tid_tx.send(nix::unistd::gettid().as_raw()).unwrap();
            moved_rx.recv().unwrap();
            ip(&["link", "set", "lo", "up"]);
            ip(&["addr", "add", "10.66.0.2/24", "dev", "ofb"]);
            ip(&["link", "set", "ofb", "up"]);
            ready_tx.send(()).unwrap();
            server();
            let stats = link_stats("ofb");
            done_rx.recv().unwrap();
            stats
        });
        let tid = tid_rx.recv().unwrap();
        let target = format!("/proc/{}/task/{tid}/ns/net", std::process::id());
        ip(&["link", "set", "ofb", "netns", &target]);
        moved_tx.send(()).unwrap();
        ready_rx.recv().unwrap();

        let stop = AtomicBool::new(false);
        let (forward, backward) = (Seen::default(), Seen::default());
        std::thread::scope(|scope| {
            scope.spawn(|| relay(&a, &b, &stop, &forward));
            scope.spawn(|| relay(&b, &a, &stop, &backward));
            let client = scope.spawn(client);
            let result = client.join();
            stop.store(true, Ordering::Relaxed);
            if let Err(panic) = result {
                std::panic::resume_unwind(panic);
            }
        });
        let ofa = link_stats("ofa");
        done_tx.send(()).unwrap();
        let ofb = peer.join().unwrap();
        Outcome {
            forward,
            backward,
            ofa,
            ofb,
        }
    })
}

const TCP_BYTES: u64 = 32 << 20;

/// Sends `bytes` of the pattern to 10.66.0.2:5001 (retrying the connection for a while: the
/// server may not listen yet).
fn tcp_send(bytes: u64) {
    let address: SocketAddr = "10.66.0.2:5001".parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match TcpStream::connect_timeout(&address, Duration::from_secs(2)) {
            Ok(stream) => break stream,
            Err(err) if Instant::now() < deadline => {
                let _ = err;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(err) => panic!("connect: {err}"),
        }
    };
    let mut chunk = vec![0; 256 * 1024];
    let mut offset = 0;
    while offset < bytes {
        let len = (bytes - offset).min(chunk.len() as u64) as usize;
        for (i, byte) in chunk[..len].iter_mut().enumerate() {
            *byte = pattern(offset + i as u64);
        }
        stream.write_all(&chunk[..len]).unwrap();
        offset += len as u64;
    }
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    // The server closes once it has verified everything.
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
}

/// Accepts one connection on 10.66.0.2:5001 and checks that exactly `bytes` of the pattern
/// arrive.
fn tcp_receive(bytes: u64) -> impl FnOnce() + Send + 'static {
    let listener = move || {
        let listener = TcpListener::bind("10.66.0.2:5001").unwrap();
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut buf = vec![0; 256 * 1024];
        let mut offset = 0u64;
        loop {
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            for (i, &byte) in buf[..n].iter().enumerate() {
                let at = offset + i as u64;
                assert_eq!(byte, pattern(at), "byte {at} of the TCP stream differs");
            }
            offset += n as u64;
        }
        assert_eq!(offset, bytes, "the TCP stream's length");
    };
    listener
}

fn average(bytes: u64, packets: u64) -> u64 {
    bytes / packets.max(1)
}

#[test]
fn tcp_through_a_batch_relay_splits_and_coalesces_super_packets() {
    let Some(outcome) = through_relay(
        relay_batches,
        |_, _| {},
        tcp_receive(TCP_BYTES),
        || tcp_send(TCP_BYTES),
    ) else {
        return;
    };
    let (forward, backward) = (&outcome.forward, &outcome.backward);
    assert_eq!(forward.bad_checksums.load(Ordering::Relaxed), 0);
    assert_eq!(backward.bad_checksums.load(Ordering::Relaxed), 0);
    // Every packet handed out is MTU-sized at most, though the kernel handed out more.
    assert!(forward.longest.load(Ordering::Relaxed) <= MTU as u64);
    let (_, _, tx_bytes, tx_packets) = outcome.ofa;
    let (rx_bytes, rx_packets, _, _) = outcome.ofb;
    assert!(
        average(tx_bytes, tx_packets) > MTU as u64,
        "A's kernel handed the relay super-packets: {tx_bytes} bytes in {tx_packets} packets"
    );
    assert!(
        average(rx_bytes, rx_packets) > MTU as u64,
        "the relay coalesced its writes into B: {rx_bytes} bytes in {rx_packets} writes"
    );
    assert!(forward.multi.load(Ordering::Relaxed) > 0, "batches of many");
    assert!(
        forward.packets.load(Ordering::Relaxed) > TCP_BYTES / MTU as u64,
        "at least one packet per MTU of data was handed out"
    );
}

#[test]
fn the_plain_packet_api_on_an_offload_device_hides_super_packets() {
    let bytes = 8 << 20;
    let Some(outcome) = through_relay(
        relay_plain,
        |_, _| {},
        tcp_receive(bytes),
        move || tcp_send(bytes),
    ) else {
        return;
    };
    assert_eq!(outcome.forward.bad_checksums.load(Ordering::Relaxed), 0);
    assert!(outcome.forward.longest.load(Ordering::Relaxed) <= MTU as u64);
    let (_, _, tx_bytes, tx_packets) = outcome.ofa;
    assert!(
        average(tx_bytes, tx_packets) > MTU as u64,
        "super-packets were read ({tx_bytes} bytes in {tx_packets}) and split for `recv`"
    );
}

#[test]
fn a_kernel_refusing_coalesced_writes_gets_every_packet_one_by_one() {
    let bytes = 8 << 20;
    let refused = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&refused);
    let Some(outcome) = through_relay(
        relay_batches,
        move |_, b| {
            assert_eq!(b.coalescing(), (true, b.offload().unwrap().udp));
            flag.store(b.refuse_next_coalesced_write(), Ordering::Relaxed);
        },
        tcp_receive(bytes),
        move || tcp_send(bytes),
    ) else {
        return;
    };
    assert!(refused.load(Ordering::Relaxed));
    // The stream arrived whole (checked by the server); after the refusal nothing was
    // coalesced any more, so B's kernel saw MTU-sized writes only, bar the one refused.
    let (rx_bytes, rx_packets, _, _) = outcome.ofb;
    assert!(
        average(rx_bytes, rx_packets) <= MTU as u64,
        "no coalescing after EINVAL: {rx_bytes} bytes in {rx_packets} writes"
    );
}

const UDP_SEGMENT: usize = 1000;
const UDP_SEGMENTS_PER_SEND: usize = 16;
const UDP_SENDS: usize = 200;

#[test]
fn udp_segments_through_a_batch_relay_arrive_whole() {
    let received = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&received);
    let progress = Arc::clone(&received);
    let (bound_tx, bound_rx) = mpsc::channel::<()>();
    let Some(outcome) = through_relay(
        relay_batches,
        |a, _| {
            let udp = a.offload().unwrap().udp;
            assert!(udp, "this kernel (6.2 or later) grants UDP segmentation");
        },
        move || {
            let socket = UdpSocket::bind("10.66.0.2:5002").unwrap();
            nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::RcvBuf, &(8 << 20))
                .unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(3)))
                .unwrap();
            bound_tx.send(()).unwrap();
            let mut buf = [0; 2048];
            let total = UDP_SENDS * UDP_SEGMENTS_PER_SEND;
            while let Ok(n) = socket.recv(&mut buf) {
                assert_eq!(n, UDP_SEGMENT, "each datagram arrives as it was sent");
                let number = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
                assert!(number < total);
                assert!(
                    buf[4..n].iter().all(|&b| b == number as u8),
                    "datagram {number}'s payload"
                );
                if counter.fetch_add(1, Ordering::Relaxed) + 1 == total as u64 {
                    break;
                }
            }
        },
        move || {
            bound_rx.recv().unwrap();
            let socket = UdpSocket::bind("10.66.0.1:0").unwrap();
            // One send of 16 datagrams: A's kernel hands the relay one UDP super-packet.
            nix::sys::socket::setsockopt(
                &socket,
                nix::sys::socket::sockopt::UdpGsoSegment,
                &(UDP_SEGMENT as i32),
            )
            .unwrap();
            let mut send = vec![0; UDP_SEGMENT * UDP_SEGMENTS_PER_SEND];
            for round in 0..UDP_SENDS {
                for (i, datagram) in send.chunks_mut(UDP_SEGMENT).enumerate() {
                    let number = round * UDP_SEGMENTS_PER_SEND + i;
                    datagram.fill(number as u8);
                    datagram[..4].copy_from_slice(&(number as u32).to_be_bytes());
                }
                socket.send_to(&send, "10.66.0.2:5002").unwrap();
                // Paced by the receiver, so that no queue on the way overflows however loaded
                // the machine is (a loss then is the relay's).
                let sent = ((round + 1) * UDP_SEGMENTS_PER_SEND) as u64;
                let deadline = Instant::now() + Duration::from_secs(2);
                while progress.load(Ordering::Relaxed) < sent && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
        },
    ) else {
        return;
    };
    assert_eq!(
        received.load(Ordering::Relaxed),
        (UDP_SENDS * UDP_SEGMENTS_PER_SEND) as u64,
        "every datagram arrived"
    );
    assert_eq!(outcome.forward.bad_checksums.load(Ordering::Relaxed), 0);
    assert!(outcome.forward.longest.load(Ordering::Relaxed) <= MTU as u64);
    let (_, _, tx_bytes, tx_packets) = outcome.ofa;
    let (rx_bytes, rx_packets, _, _) = outcome.ofb;
    assert!(
        average(tx_bytes, tx_packets) > MTU as u64,
        "UDP super-packets read: {tx_bytes} bytes in {tx_packets}"
    );
    assert!(
        average(rx_bytes, rx_packets) > MTU as u64,
        "UDP datagrams coalesced: {rx_bytes} bytes in {rx_packets} writes"
    );
}

/// A UDP send of 16 segments to 10.67.0.2 through the device `name` (up, 10.67.0.1/24).
fn send_udp_super_packet() {
    let socket = UdpSocket::bind("10.67.0.1:0").unwrap();
    nix::sys::socket::setsockopt(
        &socket,
        nix::sys::socket::sockopt::UdpGsoSegment,
        &(UDP_SEGMENT as i32),
    )
    .unwrap();
    socket
        .send_to(&vec![7; UDP_SEGMENT * UDP_SEGMENTS_PER_SEND], "10.67.0.2:9")
        .unwrap();
}

#[test]
fn attaching_without_offload_resets_a_persistent_devices_offloads() {
    in_netns(|| {
        let offload = Device::builder()
            .name("ofp")
            .offload(true)
            .persist()
            .build()
            .unwrap()
            .remove(0);
        assert!(offload.offload().unwrap().udp);
        drop(offload);
        let plain = Device::builder()
            .name("ofp")
            .ipv4(Ipv4Addr::new(10, 67, 0, 1), 24)
            .up()
            .build()
            .unwrap()
            .remove(0);
        assert_eq!(plain.offload(), None);
        assert_eq!(plain.coalescing(), (false, false));
        assert_eq!(
            plain.set_coalescing(true, true).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        send_udp_super_packet();
        // Without the reset, the kernel would hand this plain queue the whole 16 kB
        // super-packet; with it, it segments in software first.
        let mut buf = vec![0; 65536];
        let mut segments = 0;
        while segments < UDP_SEGMENTS_PER_SEND {
            tun_testkit::wait_readable(&plain, "a UDP segment");
            let n = plain.recv(&mut buf).unwrap();
            assert!(
                n <= MTU,
                "a read of {n} bytes: a super-packet reached a plain queue"
            );
            if is_udp_to_port_9(&buf[..n]) {
                assert_eq!(n, 20 + 8 + UDP_SEGMENT, "segment {segments}");
                segments += 1;
            }
        }
        plain.set_persist(false).unwrap();
    });
}

#[test]
fn an_offload_device_reads_one_udp_super_packet_as_its_segments() {
    in_netns(|| {
        let device = Device::builder()
            .name("ofu")
            .offload(true)
            .ipv4(Ipv4Addr::new(10, 67, 0, 1), 24)
            .up()
            .build()
            .unwrap()
            .remove(0);
        send_udp_super_packet();
        tun_testkit::wait_readable(&device, "a UDP super-packet");
        device.set_nonblocking(true).unwrap();
        let mut batch = PacketBatch::with_capacity(4);
        // Four at a time: the other segments stay pending for the next calls, none is lost.
        let mut ids = Vec::new();
        let mut full_batches = 0;
        loop {
            match device.recv_batch(&mut batch) {
                Ok(n) => {
                    assert!(n <= 4);
                    full_batches += usize::from(n == 4);
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) => panic!("recv_batch: {err}"),
            }
            for packet in batch.iter().filter(|packet| is_udp_to_port_9(packet)) {
                assert_eq!(packet.len(), 20 + 8 + UDP_SEGMENT);
                assert!(checksums_verify(packet));
                ids.push(u16::from_be_bytes([packet[4], packet[5]]));
            }
        }
        assert_eq!(ids.len(), UDP_SEGMENTS_PER_SEND, "every segment");
        assert!(full_batches >= 3, "batches were filled to capacity");
        // IPv4 IDs count up through the segments.
        assert!(
            ids.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
            "{ids:?}"
        );
        let (_, _, tx_bytes, tx_packets) = link_stats("ofu");
        assert!(
            tx_bytes > (UDP_SEGMENT * UDP_SEGMENTS_PER_SEND) as u64 && tx_packets < 4,
            "one super-packet: {tx_bytes} bytes in {tx_packets} packets"
        );
    });
}

fn is_udp_to_port_9(packet: &[u8]) -> bool {
    packet.len() >= 28 && packet[0] >> 4 == 4 && packet[9] == 17 && packet[22..24] == [0, 9]
}

#[test]
fn offload_modes_that_cannot_work_are_refused_and_leak_nothing() {
    in_netns(|| {
        let before = fd_count();
        let offload = Device::builder()
            .name("ofm")
            .offload(true)
            .queues(2)
            .build()
            .unwrap();
        // A queue added later has the device's offload.
        let third = offload[0].add_queue().unwrap();
        assert!(third.offload().is_some());
        let err = Device::builder()
            .name("ofm")
            .multi_queue(true)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
        assert!(err.to_string().contains("offload"), "{err}");
        drop((offload, third));
        let err = Device::builder()
            .offload(true)
            .packet_info()
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = Device::builder().offload(true).tap().build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(fd_count(), before, "every fd of the builds closed");
        assert!(!tun_testkit::links().iter().any(|link| link == "ofm"));
    });
}

#[test]
fn a_plain_device_fills_a_batch_and_sends_it() {
    in_netns(|| {
        let device = Device::builder()
            .name("ofn")
            .ipv4(Ipv4Addr::new(10, 68, 0, 1), 24)
            .nonblocking(true)
            .up()
            .build()
            .unwrap()
            .remove(0);
        let socket = UdpSocket::bind("10.68.0.1:0").unwrap();
        for i in 0..10u8 {
            socket.send_to(&[i; 100], "10.68.0.2:9").unwrap();
        }
        tun_testkit::wait_readable(&device, "ten datagrams");
        std::thread::sleep(Duration::from_millis(100));
        let mut batch = PacketBatch::new();
        device.recv_batch(&mut batch).unwrap();
        // Only our datagrams (the kernel may send something of its own on a new link).
        batch.retain(is_udp_to_port_9);
        assert_eq!(batch.len(), 10);
        for (i, packet) in batch.iter().enumerate() {
            assert_eq!(packet.len(), 128);
            assert_eq!(packet[28], i as u8);
        }
        // Sent back: turned around into datagrams for our own socket.
        let port = socket.local_addr().unwrap().port();
        for packet in batch.iter_mut() {
            let (source, destination) = packet[12..20].split_at_mut(4);
            source.swap_with_slice(destination);
            let ports = &mut packet[20..24];
            ports.copy_from_slice(&[0, 9, (port >> 8) as u8, port as u8]);
            packet[26..28].fill(0); // no UDP checksum
                                    // 10.68.0.2 -> 10.68.0.1: the sum of the addresses is unchanged, so is the header's
                                    // checksum.
        }
        assert_eq!(device.send_batch(&mut batch).unwrap(), 10);
        assert!(batch.is_empty());
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut buf = [0; 200];
        for i in 0..10u8 {
            let n = socket.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], &[i; 100]);
        }
    });
}

#[test]
fn recv_timeout_hands_out_pending_segments_without_waiting_for_the_fd() {
    in_netns(|| {
        let device = Device::builder()
            .name("oft")
            .offload(true)
            .ipv4(Ipv4Addr::new(10, 67, 0, 1), 24)
            .up()
            .build()
            .unwrap()
            .remove(0);
        send_udp_super_packet();
        let mut buf = vec![0; 2048];
        let mut segments = 0;
        while segments < UDP_SEGMENTS_PER_SEND {
            // After the first segment, the rest wait in the queue and the fd is not readable.
            let n = device
                .recv_timeout(&mut buf, Duration::from_secs(2))
                .unwrap_or_else(|err| panic!("segment {segments}: {err}"));
            if is_udp_to_port_9(&buf[..n]) {
                assert!(checksums_verify(&buf[..n]));
                segments += 1;
            }
        }
    });
}

#[test]
fn an_adopted_offload_fd_stays_an_offload_queue() {
    in_netns(|| {
        let device = Device::builder()
            .name("ofd")
            .offload(true)
            .build()
            .unwrap()
            .remove(0);
        let fd = std::os::fd::OwnedFd::from(device);
        let adopted = Device::from_fd(fd).unwrap();
        assert_eq!(adopted.name(), "ofd");
        assert!(adopted.offload().is_some_and(|offload| offload.tcp));
        let plain = Device::builder().name("ofe").build().unwrap().remove(0);
        let adopted = Device::from_fd(std::os::fd::OwnedFd::from(plain)).unwrap();
        assert_eq!(adopted.offload(), None);
    });
}

#[test]
fn a_blocking_recv_batch_takes_every_queued_packet_without_waiting_for_more() {
    in_netns(|| {
        for (name, offload) in [("ofb1", false), ("ofb2", true)] {
            let device = Device::builder()
                .name(name)
                .offload(offload)
                .ipv4(Ipv4Addr::new(10, 69, 0, 1), 24)
                .up()
                .build()
                .unwrap()
                .remove(0);
            let socket = UdpSocket::bind("10.69.0.1:0").unwrap();
            for i in 0..10u8 {
                socket.send_to(&[i; 100], "10.69.0.2:9").unwrap();
            }
            tun_testkit::wait_readable(&device, "ten datagrams");
            std::thread::sleep(Duration::from_millis(100));
            // Blocking mode: the first read may wait, the others take only what is queued
            // (a second waiting read would block this call until more traffic came).
            let mut batch = PacketBatch::new();
            device.recv_batch(&mut batch).unwrap();
            batch.retain(is_udp_to_port_9);
            assert_eq!(batch.len(), 10, "{name}: all ten in one blocking call");
            // The next device takes the same network.
            drop(device);
        }
    });
}
