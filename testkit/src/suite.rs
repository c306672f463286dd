//! The behavioural test suite that every async adapter must pass, written once.
//!
//! `tun-tokio` and `tun-async-std` have the same API, name for name.
//! [`adapter_suite!`](crate::adapter_suite) expands to one module of `#[test]`s for an adapter
//! crate and a runtime, so the adapters are held to one behaviour and cannot drift apart. Each
//! test builds its runtime and its devices inside [`in_netns`](crate::in_netns), and every wait
//! is bounded by [`TIMEOUT`](crate::TIMEOUT).
//!
//! The runtime is a module of the test crate that provides:
//! ```text
//! // Builds the runtime in the calling (namespaced) thread and runs `future` on it.
//! pub fn block_on<F: Future>(future: F) -> F::Output;
//! // A task; F: Future + Send + 'static. Awaiting the result gives its output or its panic.
//! pub fn spawn<F>(future: F) -> impl Future<Output = F::Output>;
//! // Blocking work on the runtime's pool; F: FnOnce() -> R + Send + 'static.
//! pub fn spawn_blocking<F, R>(work: F) -> impl Future<Output = R>;
//! // `Some(output)` if `future` finishes within `limit`.
//! pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output>;
//! // The runtime's extension traits: `read`, `write`, `flush` on `&Tun` and `Tun`.
//! pub use ...::{AsyncReadExt, AsyncWriteExt};
//! // Whether `build()` works with no runtime running.
//! pub const BUILDS_OUTSIDE_RUNTIME: bool;
//! ```
//!
//! Sockets, devices and `ip` commands are made only in the test's own thread (or threads it
//! spawns): a shared executor's threads (async-std's, smol's, a blocking pool) may live in another
//! test's namespace. Sockets and devices may then be used from any thread.

use std::collections::HashSet;
use std::net::{SocketAddr, UdpSocket};

#[doc(hidden)]
pub use futures_lite;

/// Checks that `err` is what packet I/O fails with once the device is gone: the documented
/// `NotFound`, with the kernel's `EBADFD` (or `EFAULT` for a read that was waiting) as its source.
pub fn assert_device_gone(err: &std::io::Error) {
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("no longer exists"), "{err}");
    let errno = err
        .get_ref()
        .and_then(|inner| inner.source())
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .and_then(std::io::Error::raw_os_error);
    let expected = [
        nix::errno::Errno::EBADFD as i32,
        nix::errno::Errno::EFAULT as i32,
    ];
    assert!(
        errno.is_some_and(|errno| expected.contains(&errno)),
        "source errno {errno:?} of {err}"
    );
}

/// The UDP payload of the cancel-safety test's datagram number `i`.
pub fn numbered(i: usize) -> Vec<u8> {
    format!("datagram {i}").into_bytes()
}

/// The number in a payload made by [`numbered`].
pub fn number_of(payload: &[u8]) -> Option<usize> {
    std::str::from_utf8(payload)
        .ok()?
        .strip_prefix("datagram ")?
        .parse()
        .ok()
}

/// Receives `count` datagrams on `socket` (each within its read timeout) and returns their
/// payloads, panicking with `what` if one does not come.
pub fn receive_datagrams(socket: &UdpSocket, count: usize, what: &str) -> Vec<Vec<u8>> {
    let mut buf = [0u8; 2048];
    (0..count)
        .map(|i| {
            let n = socket.recv(&mut buf).unwrap_or_else(|err| {
                panic!("{what}: datagram {i} of {count} not received: {err}")
            });
            buf.get(..n).unwrap_or_default().to_vec()
        })
        .collect()
}

/// Sends `count` numbered datagrams from `socket` to `peer`, in bursts of ten with a pause after
/// each so that a reader cancelling with short timeouts is caught both waiting and reading.
pub fn send_numbered(socket: &UdpSocket, peer: SocketAddr, count: usize) {
    for i in 0..count {
        socket
            .send_to(&numbered(i), peer)
            .unwrap_or_else(|err| panic!("cannot send datagram {i}: {err}"));
        if i % 10 == 9 {
            std::thread::sleep(std::time::Duration::from_millis(3));
        }
    }
}

/// Checks that a set of seen numbers is exactly `0..count`.
pub fn assert_all_seen(seen: &HashSet<usize>, count: usize) {
    let missing: Vec<usize> = (0..count).filter(|i| !seen.contains(i)).collect();
    assert!(missing.is_empty(), "lost datagrams: {missing:?}");
}

/// Expands to `mod $module` with the shared tests for the adapter crate `$adapter` (which has a
/// `Tun` type) on the runtime module `$runtime` (see the [module docs](self)).
///
/// ```text
/// mod tokio_rt { /* block_on, spawn, spawn_blocking, timeout, ... */ }
/// tun_testkit::adapter_suite!(
///     mod tokio_current_thread, adapter = tun_tokio, runtime = crate::tokio_rt
/// );
/// ```
#[macro_export]
macro_rules! adapter_suite {
    (mod $module:ident, adapter = $adapter:ident, runtime = $($runtime:ident)::+) => {
        #[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
        mod $module {
            use std::collections::HashSet;
            use std::future::Future;
            use std::io::{IoSlice, IoSliceMut};
            use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
            use std::sync::Arc;
            use std::time::{Duration, Instant};

            use $adapter::Tun;
            use $($runtime)::+ as rt;
            use rt::{AsyncReadExt as _, AsyncWriteExt as _};
            use $crate::packets::{self, Udp};
            use $crate::suite::{self as shared, futures_lite};
            use $crate::{bind_udp, in_netns, ip, links, TIMEOUT};

            /// Runs `body` in a fresh namespace on a runtime built there, bounded as a whole.
            fn netns_test<F: Future<Output = ()> + 'static>(body: fn() -> F) {
                in_netns(move || {
                    rt::block_on(async move {
                        rt::timeout(4 * TIMEOUT, body())
                            .await
                            .expect("the test as a whole did not finish in 4 * TIMEOUT");
                    })
                });
            }

            fn v4(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
                Ipv4Addr::new(a, b, c, d)
            }

            fn v6(s: &str) -> Ipv6Addr {
                s.parse().unwrap()
            }

            /// Receives until a packet for which `wanted` is true, within TIMEOUT; skips others
            /// (router solicitations, MLD reports, ...).
            async fn recv_matching(
                tun: &Tun,
                what: &str,
                mut wanted: impl FnMut(&[u8]) -> bool,
            ) -> Vec<u8> {
                let mut buf = vec![0u8; 65536];
                rt::timeout(TIMEOUT, async {
                    loop {
                        let n = tun
                            .recv(&mut buf)
                            .await
                            .unwrap_or_else(|err| panic!("recv failed waiting for {what}: {err}"));
                        if wanted(&buf[..n]) {
                            return buf[..n].to_vec();
                        }
                    }
                })
                .await
                .unwrap_or_else(|| panic!("timed out after {TIMEOUT:?} waiting for {what}"))
            }

            fn udp_to(peer: SocketAddr) -> impl FnMut(&[u8]) -> bool {
                move |packet| {
                    packets::parse_udp_ip(packet).is_some_and(|udp| udp.destination == peer)
                }
            }

            fn tun_with(local: IpAddr, prefix_len: u8) -> Tun {
                let builder = Tun::builder().up();
                let builder = match local {
                    IpAddr::V4(address) => builder.ipv4(address, prefix_len),
                    IpAddr::V6(address) => builder.ipv6(address, prefix_len),
                };
                builder.build().unwrap().remove(0)
            }

            /// socket → kernel → Tun → test → Tun → kernel → socket, by `recv`/`send_all`.
            async fn udp_round_trip(tun: &Tun, local: IpAddr, peer: SocketAddr) {
                let socket = bind_udp(local);
                let source = socket.local_addr().unwrap();
                socket.send_to(b"ping through the tunnel", peer).unwrap();
                let reply_received = rt::spawn_blocking(move || {
                    shared::receive_datagrams(&socket, 1, "the reply")
                });
                let packet = recv_matching(tun, "the UDP datagram", udp_to(peer)).await;
                let udp = packets::parse_udp_ip(&packet).unwrap();
                assert_eq!(udp.source, source);
                assert_eq!(udp.payload, b"ping through the tunnel");

                let reply = packets::udp_ip(peer, source, b"pong from userspace");
                tun.send_all(&reply).await.unwrap();
                assert_eq!(reply_received.await, [b"pong from userspace".to_vec()]);
            }

            /// Twenty datagrams in through `recv_batch` (after a `recv_batch` cancelled while
            /// nothing was waiting, which must lose nothing), twenty answers out through one
            /// `send_batch`.
            async fn batch_round_trip(tun: &Tun, local: Ipv4Addr, peer: SocketAddr) {
                let mut batch = $adapter::PacketBatch::new();
                // Cancelled before anything arrives.
                let _ = rt::timeout(Duration::from_millis(50), tun.recv_batch(&mut batch)).await;
                let socket = bind_udp(local.into());
                let source = socket.local_addr().unwrap();
                for i in 0..20u8 {
                    socket.send_to(&[i; 64], peer).unwrap();
                }
                let answers_received = rt::spawn_blocking(move || {
                    shared::receive_datagrams(&socket, 20, "the answers")
                });
                let mut seen = Vec::new();
                rt::timeout(TIMEOUT, async {
                    while seen.len() < 20 {
                        let n = tun.recv_batch(&mut batch).await.unwrap();
                        assert_eq!(n, batch.len());
                        seen.extend(
                            batch
                                .iter()
                                .filter(|packet| udp_to(peer)(packet))
                                .map(|packet| packets::parse_udp_ip(packet).unwrap().payload),
                        );
                    }
                })
                .await
                .expect("twenty datagrams through recv_batch");
                let expected: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 64]).collect();
                assert_eq!(seen, expected, "every datagram, in order, once");

                let mut answers = $adapter::PacketBatch::with_capacity(20);
                for payload in &seen {
                    answers.push(&packets::udp_ip(peer, source, payload)).unwrap();
                }
                assert_eq!(tun.send_batch(&mut answers).await.unwrap(), 20);
                assert!(answers.is_empty());
                assert_eq!(answers_received.await, expected);
            }

            #[test]
            fn batches_round_trip_after_a_cancelled_recv_batch() {
                netns_test(|| async {
                    let local = v4(10, 41, 0, 1);
                    let tun = tun_with(local.into(), 24);
                    batch_round_trip(&tun, local, "10.41.0.2:9".parse().unwrap()).await;
                });
            }

            /// The same through an offload device: the virtio header never shows.
            #[cfg(target_os = "linux")]
            #[test]
            fn offload_batches_round_trip() {
                netns_test(|| async {
                    let local = v4(10, 42, 0, 1);
                    let tun = Tun::builder()
                        .offload(true)
                        .ipv4(local, 24)
                        .up()
                        .build()
                        .unwrap()
                        .remove(0);
                    assert!(tun.device().offload().is_some());
                    batch_round_trip(&tun, local, "10.42.0.2:9".parse().unwrap()).await;
                });
            }

            #[test]
            fn tun_ipv4_udp_round_trip() {
                netns_test(|| async {
                    let local = IpAddr::from(v4(10, 1, 0, 1));
                    let tun = tun_with(local, 24);
                    udp_round_trip(&tun, local, "10.1.0.2:9".parse().unwrap()).await;
                });
            }

            #[test]
            fn tun_ipv6_udp_round_trip() {
                netns_test(|| async {
                    let local = IpAddr::from(v6("fd00:1::1"));
                    let tun = tun_with(local, 64);
                    udp_round_trip(&tun, local, "[fd00:1::2]:9".parse().unwrap()).await;
                });
            }

            /// The same round trip through the vectored calls: a packet scattered over two
            /// buffers on the way in, gathered from header and payload on the way out.
            #[test]
            fn tun_vectored_udp_round_trip() {
                netns_test(|| async {
                    let local = IpAddr::from(v4(10, 2, 0, 1));
                    let peer: SocketAddr = "10.2.0.2:9".parse().unwrap();
                    let tun = tun_with(local, 24);
                    let socket = bind_udp(local);
                    let source = socket.local_addr().unwrap();
                    socket.send_to(b"scattered", peer).unwrap();
                    let reply_received = rt::spawn_blocking(move || {
                        shared::receive_datagrams(&socket, 1, "the gathered reply")
                    });
                    let (mut head, mut tail) = ([0u8; 20], [0u8; 2048]);
                    let packet = rt::timeout(TIMEOUT, async {
                        loop {
                            let mut bufs = [IoSliceMut::new(&mut head), IoSliceMut::new(&mut tail)];
                            let n = tun.recv_vectored(&mut bufs).await.unwrap();
                            let packet = [&head[..], &tail[..n.saturating_sub(20)]].concat();
                            if udp_to(peer)(&packet[..n]) {
                                return packet[..n].to_vec();
                            }
                        }
                    })
                    .await
                    .expect("the scattered datagram did not arrive");
                    assert_eq!(packets::parse_udp_ip(&packet).unwrap().payload, b"scattered");

                    let reply = packets::udp_ip(peer, source, b"gathered reply");
                    let (header, payload) = reply.split_at(28);
                    tun.send_vectored_all(&[IoSlice::new(header), IoSlice::new(payload)])
                        .await
                        .unwrap();
                    assert_eq!(reply_received.await, [b"gathered reply".to_vec()]);
                });
            }

            /// ARP answered by the test, then a UDP frame each way through a TAP device.
            #[test]
            fn tap_udp_round_trip_with_arp() {
                netns_test(|| async {
                    let device_mac = [0x02, 0, 0, 0, 0, 0x01];
                    let peer_mac = [0x02, 0, 0, 0, 0, 0x02];
                    let (local, peer_ip) = (v4(10, 3, 0, 1), v4(10, 3, 0, 2));
                    let tap = Tun::builder()
                        .tap()
                        .mac(device_mac)
                        .ipv4(local, 24)
                        .up()
                        .build()
                        .unwrap()
                        .remove(0);
                    let socket = bind_udp(local.into());
                    let source_port = socket.local_addr().unwrap().port();
                    socket.send_to(b"over ethernet", (peer_ip, 9)).unwrap();
                    let answer_received = rt::spawn_blocking(move || {
                        shared::receive_datagrams(&socket, 1, "the answer frame")
                    });

                    let request = recv_matching(&tap, "an ARP request", |frame| {
                        packets::arp_reply(frame, peer_ip, peer_mac).is_some()
                    })
                    .await;
                    let reply = packets::arp_reply(&request, peer_ip, peer_mac).unwrap();
                    tap.send_all(&reply).await.unwrap();

                    let frame = recv_matching(&tap, "the UDP frame", |frame| {
                        packets::parse_udp_ethernet(frame).is_some()
                    })
                    .await;
                    assert_eq!(&frame[..6], &peer_mac, "sent to the MAC the ARP reply gave");
                    let udp = packets::parse_udp_ethernet(&frame).unwrap();
                    assert_eq!(udp.payload, b"over ethernet");

                    let answer = packets::udp_ethernet(
                        peer_mac,
                        device_mac,
                        (peer_ip, 9),
                        (local, source_port),
                        b"back over ethernet",
                    );
                    tap.send_all(&answer).await.unwrap();
                    assert_eq!(answer_received.await, [b"back over ethernet".to_vec()]);
                });
            }

            /// Two `write`s are two packets and two packets are two `read`s, through the
            /// `AsyncWrite`/`AsyncRead` implementations of both `&Tun` and `Tun`.
            #[test]
            fn async_read_and_write_keep_packet_boundaries() {
                netns_test(|| async {
                    let local = v4(10, 4, 0, 1);
                    let peer: SocketAddr = "10.4.0.2:9".parse().unwrap();
                    let mut tun = tun_with(local.into(), 24);
                    let socket = bind_udp(local.into());
                    let source = socket.local_addr().unwrap();

                    // Two packets in, two reads out, each exactly one whole packet.
                    socket.send_to(b"first", peer).unwrap();
                    socket.send_to(b"second, longer", peer).unwrap();
                    let mut payloads = Vec::new();
                    let mut buf = [0u8; 2048];
                    rt::timeout(TIMEOUT, async {
                        while payloads.len() < 2 {
                            // One read through `&Tun`, the next through `Tun`.
                            let n = if payloads.is_empty() {
                                (&tun).read(&mut buf).await.unwrap()
                            } else {
                                tun.read(&mut buf).await.unwrap()
                            };
                            if let Some(udp) = packets::parse_udp_ip(&buf[..n]) {
                                assert_eq!(n, 20 + 8 + udp.payload.len(), "a read = one packet");
                                payloads.push(udp.payload);
                            }
                        }
                    })
                    .await
                    .expect("two datagrams did not arrive as two reads");
                    assert_eq!(payloads, [b"first".to_vec(), b"second, longer".to_vec()]);

                    // Two writes in, two packets out.
                    let received = rt::spawn_blocking(move || {
                        shared::receive_datagrams(&socket, 2, "the written packets")
                    });
                    let one = packets::udp_ip(peer, source, b"one");
                    let two = packets::udp_ip(peer, source, b"two, longer");
                    assert_eq!((&tun).write(&one).await.unwrap(), one.len());
                    (&tun).flush().await.unwrap();
                    assert_eq!(tun.write(&two).await.unwrap(), two.len());
                    tun.flush().await.unwrap();
                    assert_eq!(received.await, [b"one".to_vec(), b"two, longer".to_vec()]);
                });
            }

            /// `try_recv`/`try_send` with `readable`/`writable`.
            #[test]
            fn try_calls_with_readiness() {
                // A readiness wait that returns at once forever, while the try call keeps
                // returning `WouldBlock`, is a busy loop that no timer can interrupt: count.
                const SPIN: usize = 10_000;
                const READINESS_NOT_CLEARED: &str = "readiness reported again and again while the \
                    try call returned WouldBlock: a WouldBlock must clear the readiness it saw";
                netns_test(|| async {
                    let local = v4(10, 5, 0, 1);
                    let peer: SocketAddr = "10.5.0.2:9".parse().unwrap();
                    let tun = Tun::builder().ipv4(local, 24).build().unwrap().remove(0);
                    let mut buf = [0u8; 2048];
                    // Down: nothing can arrive, not even router solicitations.
                    let err = tun.try_recv(&mut buf).unwrap_err();
                    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
                    tun.device().set_up(true).unwrap();

                    let socket = bind_udp(local.into());
                    let source = socket.local_addr().unwrap();
                    socket.send_to(b"ready", peer).unwrap();
                    let received = rt::spawn_blocking(move || {
                        shared::receive_datagrams(&socket, 1, "the try_send packet")
                    });
                    rt::timeout(TIMEOUT, async {
                        let mut would_block = 0;
                        loop {
                            tun.readable().await.unwrap();
                            match tun.try_recv(&mut buf) {
                                Ok(n) if udp_to(peer)(&buf[..n]) => break,
                                Ok(_) => {}
                                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                                    would_block += 1;
                                    assert!(would_block < SPIN, "{READINESS_NOT_CLEARED} (recv)");
                                }
                                Err(err) => panic!("try_recv failed: {err}"),
                            }
                        }
                    })
                    .await
                    .expect("readable + try_recv never returned the datagram");

                    let reply = packets::udp_ip(peer, source, b"steady");
                    rt::timeout(TIMEOUT, async {
                        let mut would_block = 0;
                        loop {
                            tun.writable().await.unwrap();
                            match tun.try_send(&reply) {
                                Ok(n) => break assert_eq!(n, reply.len()),
                                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                                    would_block += 1;
                                    assert!(would_block < SPIN, "{READINESS_NOT_CLEARED} (send)");
                                }
                                Err(err) => panic!("try_send failed: {err}"),
                            }
                        }
                    })
                    .await
                    .expect("writable + try_send never sent");
                    assert_eq!(received.await, [b"steady".to_vec()]);
                });
            }

            /// A reader task and a writer task share one `Arc<Tun>` and run at the same time.
            #[test]
            fn reader_and_writer_tasks_share_one_arc_tun() {
                const EACH_WAY: usize = 50;
                netns_test(|| async {
                    let local = v4(10, 6, 0, 1);
                    let peer: SocketAddr = "10.6.0.2:9".parse().unwrap();
                    let tun = Arc::new(tun_with(local.into(), 24));
                    let socket = bind_udp(local.into());
                    let source = socket.local_addr().unwrap();

                    let reader = rt::spawn({
                        let tun = Arc::clone(&tun);
                        async move {
                            let mut seen = HashSet::new();
                            let mut buf = [0u8; 2048];
                            while seen.len() < EACH_WAY {
                                let n = tun.recv(&mut buf).await.unwrap();
                                if let Some(udp) = packets::parse_udp_ip(&buf[..n]) {
                                    seen.extend(shared::number_of(&udp.payload));
                                }
                            }
                            seen
                        }
                    });
                    let writer = rt::spawn({
                        let tun = Arc::clone(&tun);
                        async move {
                            for i in 0..EACH_WAY {
                                let packet = packets::udp_ip(peer, source, &shared::numbered(i));
                                tun.send_all(&packet).await.unwrap();
                            }
                        }
                    });
                    let peer_side = rt::spawn_blocking(move || {
                        shared::send_numbered(&socket, peer, EACH_WAY);
                        shared::receive_datagrams(&socket, EACH_WAY, "the writer task's packets")
                    });

                    let seen = rt::timeout(TIMEOUT, reader)
                        .await
                        .expect("the reader task did not get every datagram");
                    shared::assert_all_seen(&seen, EACH_WAY);
                    rt::timeout(TIMEOUT, writer)
                        .await
                        .expect("the writer task did not finish");
                    let received: HashSet<usize> = peer_side
                        .await
                        .iter()
                        .filter_map(|payload| shared::number_of(payload))
                        .collect();
                    shared::assert_all_seen(&received, EACH_WAY);
                });
            }

            /// `recv` raced by a 1 ms timeout again and again while datagrams arrive: every
            /// cancelled `recv` must leave its packet in the kernel for the next one.
            #[test]
            fn recv_is_cancel_safe() {
                const COUNT: usize = 300;
                netns_test(|| async {
                    let local = v4(10, 7, 0, 1);
                    let peer: SocketAddr = "10.7.0.2:9".parse().unwrap();
                    let tun = Tun::builder()
                        .ipv4(local, 24)
                        .txqueuelen(4 * COUNT as u32)
                        .up()
                        .build()
                        .unwrap()
                        .remove(0);
                    let socket = bind_udp(local.into());
                    let sender = rt::spawn_blocking(move || {
                        shared::send_numbered(&socket, peer, COUNT)
                    });

                    let (mut seen, mut cancelled) = (HashSet::new(), 0usize);
                    let mut buf = [0u8; 2048];
                    let deadline = Instant::now() + TIMEOUT;
                    while seen.len() < COUNT && Instant::now() < deadline {
                        match rt::timeout(Duration::from_millis(1), tun.recv(&mut buf)).await {
                            None => cancelled += 1,
                            Some(result) => {
                                let n = result.unwrap();
                                let number = packets::parse_udp_ip(&buf[..n])
                                    .and_then(|udp| shared::number_of(&udp.payload));
                                if let Some(number) = number {
                                    assert!(seen.insert(number), "datagram {number} read twice");
                                }
                            }
                        }
                    }
                    sender.await;
                    shared::assert_all_seen(&seen, COUNT);
                    assert!(cancelled > 0, "no recv was ever cancelled: the test proved nothing");
                });
            }

            /// `ip link del` while a `recv` is pending: the kernel signals only `EPOLLERR`, and
            /// the pending `recv` must wake and fail instead of waiting forever.
            #[test]
            fn pending_recv_fails_when_the_device_is_deleted() {
                netns_test(|| async {
                    // Down, so no packet can arrive: the recv is pending until the deletion.
                    let tun = Tun::builder().name("gone0").build().unwrap().remove(0);
                    let deleter = std::thread::spawn(|| {
                        std::thread::sleep(Duration::from_millis(200));
                        ip(&["link", "del", "gone0"]);
                    });
                    let started = Instant::now();
                    let mut buf = [0u8; 2048];
                    let result = rt::timeout(TIMEOUT, tun.recv(&mut buf))
                        .await
                        .expect("recv still pending TIMEOUT after the device was deleted");
                    let err = result.expect_err("recv returned a packet from a deleted device");
                    assert!(
                        started.elapsed() >= Duration::from_millis(150),
                        "recv returned {err} before the deletion"
                    );
                    shared::assert_device_gone(&err);
                    deleter.join().unwrap();
                    assert!(!links().contains(&"gone0".to_owned()));
                    // And every later call says the same, in the same matchable kind.
                    shared::assert_device_gone(&tun.recv(&mut buf).await.unwrap_err());
                    shared::assert_device_gone(&tun.send(&[0x45; 20]).await.unwrap_err());
                    shared::assert_device_gone(&tun.try_recv(&mut buf).unwrap_err());
                    let mut reader = &tun;
                    shared::assert_device_gone(&reader.read(&mut buf).await.unwrap_err());
                });
            }

            /// The same through `AsyncRead`, which waits by polling (`poll_recv`): a read pending
            /// when the device is deleted wakes with the error (`tokio::io::copy` from a deleted
            /// device must end, not hang).
            #[test]
            fn pending_async_read_fails_when_the_device_is_deleted() {
                netns_test(|| async {
                    let tun = Tun::builder().name("gone1").build().unwrap().remove(0);
                    let deleter = std::thread::spawn(|| {
                        std::thread::sleep(Duration::from_millis(200));
                        ip(&["link", "del", "gone1"]);
                    });
                    let started = Instant::now();
                    let mut buf = [0u8; 2048];
                    let mut reader = &tun;
                    let result = rt::timeout(TIMEOUT, reader.read(&mut buf))
                        .await
                        .expect("read still pending TIMEOUT after the device was deleted");
                    let err = result.expect_err("read returned a packet from a deleted device");
                    assert!(
                        started.elapsed() >= Duration::from_millis(150),
                        "read returned {err} before the deletion"
                    );
                    shared::assert_device_gone(&err);
                    deleter.join().unwrap();
                });
            }

            /// An empty packet is refused by every send, and a packet in more buffers than one
            /// system call takes (1024) is refused whole instead of sent truncated.
            #[test]
            fn empty_and_overlong_vectored_packets_are_refused() {
                netns_test(|| async {
                    let tun = tun_with(v4(10, 96, 0, 1).into(), 24);
                    let invalid = std::io::ErrorKind::InvalidInput;
                    assert_eq!(tun.send(&[]).await.unwrap_err().kind(), invalid);
                    assert_eq!(tun.send_all(&[]).await.unwrap_err().kind(), invalid);
                    assert_eq!(tun.send_vectored(&[]).await.unwrap_err().kind(), invalid);
                    assert_eq!(tun.send_vectored_all(&[]).await.unwrap_err().kind(), invalid);
                    let mut writer = &tun;
                    assert_eq!(writer.write(&[]).await.unwrap_err().kind(), invalid);

                    let packet = packets::udp_ip(
                        "10.96.0.2:9".parse().unwrap(),
                        "10.96.0.1:9".parse().unwrap(),
                        &[7u8; 1200],
                    );
                    let slices: Vec<IoSlice<'_>> = packet.chunks(1).map(IoSlice::new).collect();
                    assert!(slices.len() > 1024);
                    let err = tun.send_vectored_all(&slices).await.unwrap_err();
                    assert_eq!(err.kind(), invalid, "{err}");
                    let err = tun.send_vectored(&slices).await.unwrap_err();
                    assert_eq!(err.kind(), invalid, "{err}");
                    let mut bytes = vec![[0u8; 1]; 1100];
                    let mut bufs: Vec<IoSliceMut<'_>> =
                        bytes.iter_mut().map(|b| IoSliceMut::new(b)).collect();
                    let err = tun.recv_vectored(&mut bufs).await.unwrap_err();
                    assert_eq!(err.kind(), invalid, "{err}");
                });
            }

            /// Many flows over a two-queue device: the kernel spreads them over both queues, and
            /// one task reads both with a select (which cancels the losing `recv` every time).
            #[test]
            fn multi_queue_reads_both_queues_with_select() {
                const FLOWS: usize = 64;
                netns_test(|| async {
                    let local = v4(10, 8, 0, 1);
                    let queues = Tun::builder()
                        .name("mq0")
                        .queues(2)
                        .ipv4(local, 24)
                        .up()
                        .build()
                        .unwrap();
                    assert_eq!(queues.len(), 2);
                    assert!(queues.iter().all(|queue| queue.name() == "mq0"));
                    let sockets: Vec<_> = (0..FLOWS).map(|_| bind_udp(local.into())).collect();
                    for socket in &sockets {
                        socket.send_to(b"flow", "10.8.0.2:9").unwrap();
                    }

                    let (mut buf0, mut buf1) = ([0u8; 2048], [0u8; 2048]);
                    let mut per_queue = [0usize; 2];
                    let mut ports = HashSet::new();
                    rt::timeout(TIMEOUT, async {
                        while ports.len() < FLOWS {
                            let (queue, packet) = futures_lite::future::or(
                                async {
                                    let n = queues[0].recv(&mut buf0).await.unwrap();
                                    (0, &buf0[..n])
                                },
                                async {
                                    let n = queues[1].recv(&mut buf1).await.unwrap();
                                    (1, &buf1[..n])
                                },
                            )
                            .await;
                            if let Some(udp) = packets::parse_udp_ip(packet) {
                                ports.insert(udp.source.port());
                                per_queue[queue] += 1;
                            }
                        }
                    })
                    .await
                    .unwrap_or_else(|| {
                        panic!("only {} of {FLOWS} flows arrived: {per_queue:?}", ports.len())
                    });
                    assert!(per_queue.iter().all(|&n| n > 0), "not spread: {per_queue:?}");
                });
            }

            /// `build()` with no runtime running: tokio cannot register the device and must say
            /// so (leaving no device behind); async-io's reactor is global, so the build works and
            /// the device serves a runtime started later.
            #[test]
            fn build_outside_a_runtime() {
                in_netns(|| {
                    let local = v4(10, 9, 0, 1);
                    let result = Tun::builder().name("outside0").ipv4(local, 24).up().build();
                    if rt::BUILDS_OUTSIDE_RUNTIME {
                        let tun = result.unwrap().remove(0);
                        rt::block_on(async {
                            let peer = "10.9.0.2:9".parse().unwrap();
                            rt::timeout(2 * TIMEOUT, udp_round_trip(&tun, local.into(), peer))
                                .await
                                .expect("round trip timed out");
                        });
                    } else {
                        let err = result.unwrap_err();
                        assert!(err.to_string().contains("runtime"), "unhelpful error: {err}");
                        assert!(
                            !links().contains(&"outside0".to_owned()),
                            "the failed build left its device behind"
                        );
                    }
                });
            }
        }
    };
}
