//! tokio-only behaviour (the behaviour both adapters share is in `suite.rs`): the seed program,
//! `build()` outside a runtime, `tokio::io::split` of an owned `Tun`. Real devices, each test in
//! its own network namespace.
// Real devices in Linux network namespaces: Unix only (Windows has tests/windows.rs).
#![cfg(unix)]
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tun_testkit::{bind_udp, in_netns, links, packets, TIMEOUT};
use tun_tokio::Tun;

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The program from the issue (tokio-tun's README), as a test: it must compile and work.
#[test]
fn seed_program() {
    in_netns(|| {
        multi_thread().block_on(async {
            let tun = Arc::new(
                Tun::builder()
                    .name("") // empty: the kernel picks the name
                    .tap() // TAP instead of TUN (the default)
                    .packet_info() // keep the packet information header (clears IFF_NO_PI)
                    .up() // bring the link up
                    .build() // Result<Vec<Tun>>: one Tun per queue
                    .unwrap()
                    .pop()
                    .unwrap(),
            );
            println!("tun created, name: {}, fd: {}", tun.name(), tun.as_raw_fd());
            assert_eq!(tun.name(), "tap0");
            let writer = tun.clone();
            let written = tokio::spawn(async move { writer.send_all(b"data to be written").await });
            let mut buf = [0u8; 1024];
            // A TAP link that comes up sends IPv6 neighbour discovery and MLD frames.
            let n = timeout(TIMEOUT, tun.recv(&mut buf))
                .await
                .expect("no frame from the kernel")
                .unwrap();
            assert!(
                n > 4 + 14,
                "a frame with its packet information header: {n} bytes"
            );
            assert_eq!(
                &buf[2..4],
                &[0x86, 0xdd],
                "EtherType in the packet information"
            );
            written.await.unwrap().unwrap();
        });
    });
}

#[test]
fn build_outside_a_runtime_is_an_error_and_leaves_nothing() {
    in_netns(|| {
        let err = Tun::builder().name("nort0").build().unwrap_err();
        assert!(err.to_string().contains("tokio runtime"), "{err}");
        assert_eq!(err.device(), Some("nort0"));
        assert_eq!(links(), ["lo"], "the device of the failed build is gone");
        // A persistent build that fails is not left persistent either.
        assert!(Tun::builder().name("nort1").persist().build().is_err());
        assert_eq!(links(), ["lo"], "a failed persistent build left its device");
    });
}

#[test]
fn split_owned_tun_keeps_packet_boundaries() {
    in_netns(|| {
        current_thread().block_on(async {
            let tun = Tun::builder()
                .ipv4(Ipv4Addr::new(10, 20, 0, 1), 24)
                .up()
                .build()
                .unwrap()
                .pop()
                .unwrap();
            let (mut reader, mut writer) = tokio::io::split(tun);
            let socket = bind_udp(Ipv4Addr::new(10, 20, 0, 1).into());
            let local = socket.local_addr().unwrap();
            let peer: SocketAddr = "10.20.0.2:9".parse().unwrap();

            // Two datagrams sent are two reads.
            socket.send_to(b"one", peer).unwrap();
            socket.send_to(b"two", peer).unwrap();
            let mut payloads = Vec::new();
            let mut buf = [0u8; 2048];
            while payloads.len() < 2 {
                let n = timeout(TIMEOUT, reader.read(&mut buf))
                    .await
                    .expect("a packet")
                    .unwrap();
                if let Some(udp) = packets::parse_udp_ip(&buf[..n]) {
                    assert_eq!(n, 20 + 8 + 3, "one read is exactly one packet");
                    payloads.push(udp.payload);
                }
            }
            assert_eq!(payloads, [b"one".to_vec(), b"two".to_vec()]);

            // Two writes are two datagrams, never merged.
            let first = packets::udp_ip(peer, local, b"first reply");
            let second = packets::udp_ip(peer, local, b"second reply");
            assert_eq!(writer.write(&first).await.unwrap(), first.len());
            assert_eq!(writer.write(&second).await.unwrap(), second.len());
            writer.flush().await.unwrap();
            let mut buf = [0u8; 64];
            let n = socket.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"first reply");
            let n = socket.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"second reply");
            writer.shutdown().await.unwrap();
        });
    });
}

#[test]
fn run_time_settings_through_the_adapter() {
    in_netns(|| {
        current_thread().block_on(async {
            let tun = Tun::builder().name("set0").build().unwrap().pop().unwrap();
            let device = tun.device();
            device.set_mtu(1300).unwrap();
            device.set_ipv4(Ipv4Addr::new(10, 21, 0, 1), 24).unwrap();
            device.set_up(true).unwrap();
            assert_eq!(device.mtu().unwrap(), 1300);
            assert!(device.is_up().unwrap());
            // The getters ported programs call on the Tun itself (tokio-tun had them there).
            assert_eq!(tun.mtu().unwrap(), 1300);
            assert_eq!(tun.index().unwrap(), device.index().unwrap());
            assert_eq!(
                tun.max_packet_len().unwrap(),
                device.max_packet_len().unwrap()
            );
            // Everything of tun-core is reachable through the adapter alone.
            assert_eq!(tun_tokio::PACKET_INFO_LEN, tun_core::PACKET_INFO_LEN);
            assert_eq!(tun_tokio::MAX_MTU, tun_core::MAX_MTU);
            assert_eq!(tun_tokio::MAX_QUEUES, tun_core::MAX_QUEUES);
            assert_eq!(device.address().unwrap(), Some(Ipv4Addr::new(10, 21, 0, 1)));
            assert_eq!(
                std::os::fd::AsRawFd::as_raw_fd(device),
                tun.as_raw_fd(),
                "no second fd"
            );
            // into_device hands the queue back, still usable.
            let device = tun.into_device().unwrap();
            assert_eq!(device.name(), "set0");
        });
    });
}

/// Whether `fd` is in any epoll set of this process (tokio's reactor has the only one here), read
/// from `/proc/self/fdinfo`: an epoll fd lists each fd it watches as `tfd: N`.
fn in_epoll(fd: i32) -> bool {
    std::fs::read_dir("/proc/self/fdinfo")
        .unwrap()
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .any(|info| {
            info.lines().any(|line| {
                line.strip_prefix("tfd:")
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|n| n.parse::<i32>().ok())
                    == Some(fd)
            })
        })
}

/// A queue drained without ever blocking leaves tokio's epoll set (so its packets stop waking
/// idle workers, see `BUSY_STREAK` in src/ready.rs); the next `recv` that has to wait registers
/// it again and is woken by a packet, and a deleted device still fails a pending `recv`.
#[test]
fn a_busy_streak_leaves_the_reactor_and_a_wait_comes_back() {
    const QUEUED: usize = 600;
    in_netns(|| {
        multi_thread().block_on(async {
            let local = Ipv4Addr::new(10, 22, 0, 1);
            let peer: SocketAddr = "10.22.0.2:9".parse().unwrap();
            let tun = Tun::builder()
                .name("busy0")
                .ipv4(local, 24)
                .txqueuelen(2 * QUEUED as u32)
                .up()
                .build()
                .unwrap()
                .pop()
                .unwrap();
            let fd = tun.as_raw_fd();
            assert!(in_epoll(fd), "registered when built");
            let socket = bind_udp(local.into());
            shared_send(&socket, peer, QUEUED);

            // Every datagram is already queued: no recv blocks.
            let mut seen = std::collections::HashSet::new();
            let mut buf = [0u8; 2048];
            while seen.len() < QUEUED {
                let n = timeout(TIMEOUT, tun.recv(&mut buf))
                    .await
                    .expect("a queued datagram")
                    .unwrap();
                if let Some(udp) = packets::parse_udp_ip(&buf[..n]) {
                    seen.insert(udp.payload);
                }
            }
            assert!(
                !in_epoll(fd),
                "still registered after {QUEUED} reads that never waited"
            );

            // Nothing queued now: this recv waits, registered again, for a datagram sent later.
            let sender = std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(200));
                socket.send_to(b"late", peer).unwrap();
            });
            let payload = timeout(TIMEOUT, async {
                loop {
                    let n = tun.recv(&mut buf).await.unwrap();
                    if let Some(udp) = packets::parse_udp_ip(&buf[..n]) {
                        return udp.payload;
                    }
                }
            })
            .await
            .expect("the late datagram did not wake the waiting recv");
            assert_eq!(payload, b"late");
            assert!(
                in_epoll(fd),
                "a recv that waited registered the queue again"
            );
            sender.join().unwrap();
        });
    });
}

/// The cooperative budget is kept: on a current-thread runtime a task that always finds a packet
/// waiting still lets another task run long before it has drained the queue.
#[test]
fn a_task_that_always_finds_a_packet_still_yields() {
    const QUEUED: usize = 600;
    in_netns(|| {
        current_thread().block_on(async {
            let local = Ipv4Addr::new(10, 23, 0, 1);
            let peer: SocketAddr = "10.23.0.2:9".parse().unwrap();
            let tun = Tun::builder()
                .ipv4(local, 24)
                .txqueuelen(2 * QUEUED as u32)
                .up()
                .build()
                .unwrap()
                .pop()
                .unwrap();
            let socket = bind_udp(local.into());
            shared_send(&socket, peer, QUEUED);

            let other_ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let other = tokio::spawn({
                let other_ran = Arc::clone(&other_ran);
                async move { other_ran.store(true, std::sync::atomic::Ordering::SeqCst) }
            });
            let reader = tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let mut datagrams = 0;
                while datagrams < QUEUED {
                    let n = tun.recv(&mut buf).await.unwrap();
                    if packets::parse_udp_ip(&buf[..n]).is_some() {
                        datagrams += 1;
                        if other_ran.load(std::sync::atomic::Ordering::SeqCst) {
                            return datagrams;
                        }
                    }
                }
                datagrams
            });
            let read_before_the_other_ran = timeout(TIMEOUT, reader).await.unwrap().unwrap();
            other.await.unwrap();
            assert!(
                read_before_the_other_ran < QUEUED / 2,
                "the reader took {read_before_the_other_ran} of {QUEUED} queued packets \
                 before the other task ran"
            );
        });
    });
}

/// `count` numbered datagrams to `peer`, all queued on the device before the test reads any.
fn shared_send(socket: &std::net::UdpSocket, peer: SocketAddr, count: usize) {
    tun_testkit::suite::send_numbered(socket, peer, count);
}

/// After a busy streak the queue is registered again with the runtime it was built in, even when
/// the `recv` that has to wait is polled on a thread outside any runtime (another executor).
#[test]
fn a_wait_after_a_busy_streak_outside_the_runtime_registers_with_the_tuns_runtime() {
    const QUEUED: usize = 300;
    in_netns(|| {
        let runtime = multi_thread();
        let local = Ipv4Addr::new(10, 24, 0, 1);
        let peer: SocketAddr = "10.24.0.2:9".parse().unwrap();
        let tun = runtime.block_on(async {
            Tun::builder()
                .ipv4(local, 24)
                .txqueuelen(2 * QUEUED as u32)
                .up()
                .build()
                .unwrap()
                .pop()
                .unwrap()
        });
        let fd = tun.as_raw_fd();
        let socket = bind_udp(local.into());
        shared_send(&socket, peer, QUEUED);
        // Drained by a plain executor on this thread, which is in no tokio runtime.
        let mut buf = [0u8; 2048];
        let mut datagrams = 0;
        while datagrams < QUEUED {
            let n = tun_testkit::suite::futures_lite::future::block_on(tun.recv(&mut buf)).unwrap();
            datagrams += usize::from(packets::parse_udp_ip(&buf[..n]).is_some());
        }
        assert!(!in_epoll(fd), "still registered after a busy streak");
        let sender = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            socket.send_to(b"late", peer).unwrap();
        });
        let payload = tun_testkit::suite::futures_lite::future::block_on(async {
            loop {
                let n = tun.recv(&mut buf).await.unwrap();
                if let Some(udp) = packets::parse_udp_ip(&buf[..n]) {
                    return udp.payload;
                }
            }
        });
        assert_eq!(payload, b"late");
        assert!(in_epoll(fd));
        sender.join().unwrap();
        drop(tun);
        drop(runtime);
    });
}
