//! `Device::recv_timeout`, `Device::recv_interruptible` and the `Interrupter`, on real devices,
//! each test in its own fresh network namespace (`tun_testkit::in_netns`).
// Real devices in Linux network namespaces: Unix only (Windows has tests/windows.rs).
#![cfg(unix)]
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tun_core::Device;
use tun_testkit::packets::parse_udp_ip;
use tun_testkit::{bind_udp, in_netns, ip, TIMEOUT};

/// A device whose link is down: nothing (no router solicitation either) ever arrives on it.
fn quiet_device() -> Device {
    Device::builder().build().unwrap().remove(0)
}

/// Runs `f` in a thread and returns its result, failing if it takes longer than [`TIMEOUT`].
fn bounded<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(f()).unwrap());
    rx.recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| panic!("{what} did not return within {TIMEOUT:?}"))
}

#[test]
fn a_timeout_returns_in_about_the_time_asked() {
    in_netns(|| {
        let device = quiet_device();
        for asked in [Duration::from_millis(50), Duration::from_millis(300)] {
            let start = Instant::now();
            let err = device.recv_timeout(&mut [0; 2048], asked).unwrap_err();
            let took = start.elapsed();
            assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
            assert!(took >= asked, "returned after {took:?}, asked {asked:?}");
            assert!(
                took < asked + Duration::from_millis(500),
                "returned after {took:?}, asked {asked:?}"
            );
        }
        // Zero: a check that never blocks, in blocking and non-blocking mode.
        let start = Instant::now();
        let err = device.recv_timeout(&mut [0; 2048], Duration::ZERO);
        assert_eq!(err.unwrap_err().kind(), ErrorKind::TimedOut);
        device.set_nonblocking(true).unwrap();
        let err = device.recv_timeout(&mut [0; 2048], Duration::from_millis(50));
        assert_eq!(err.unwrap_err().kind(), ErrorKind::TimedOut);
        assert!(start.elapsed() < Duration::from_millis(500));
    });
}

#[test]
fn a_packet_arriving_before_the_timeout_is_returned() {
    in_netns(|| {
        let device = Device::builder()
            .ipv4(Ipv4Addr::new(10, 71, 0, 1), 24)
            .up()
            .build()
            .unwrap()
            .remove(0);
        let socket = bind_udp(Ipv4Addr::new(10, 71, 0, 1).into());
        let peer = SocketAddr::from((Ipv4Addr::new(10, 71, 0, 2), 4242));
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            socket.send_to(b"before the timeout", peer).unwrap();
        });
        let start = Instant::now();
        let mut buf = [0; 2048];
        // Other packets (IPv6 router solicitations) may come first: each also counts as a
        // packet returned before the timeout.
        let udp = loop {
            let n = device
                .recv_timeout(&mut buf, TIMEOUT)
                .expect("the UDP datagram did not arrive before the timeout");
            if let Some(udp) = parse_udp_ip(&buf[..n]).filter(|udp| udp.destination == peer) {
                break udp;
            }
        };
        assert_eq!(udp.payload, b"before the timeout");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        sender.join().unwrap();
    });
}

#[test]
fn an_interrupt_frees_threads_blocked_in_other_threads() {
    in_netns(|| {
        let device = std::sync::Arc::new(quiet_device());
        let stop = device.interrupter().unwrap();
        assert!(!stop.is_interrupted());
        let (d1, d2) = (device.clone(), device.clone());
        let forever = std::thread::spawn(move || d1.recv_interruptible(&mut [0; 2048]));
        let long =
            std::thread::spawn(move || d2.recv_timeout(&mut [0; 2048], Duration::from_secs(60)));
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            !forever.is_finished() && !long.is_finished(),
            "nothing should have arrived"
        );
        let start = Instant::now();
        stop.clone().interrupt();
        let forever = bounded("recv_interruptible", move || forever.join().unwrap());
        let long = bounded("recv_timeout(60 s)", move || long.join().unwrap());
        assert_eq!(forever.unwrap_err().kind(), ErrorKind::Interrupted);
        assert_eq!(long.unwrap_err().kind(), ErrorKind::Interrupted);
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(stop.is_interrupted());
    });
}

#[test]
fn an_interrupt_without_a_waiter_ends_later_calls_but_not_recv() {
    in_netns(|| {
        let device = quiet_device();
        device.interrupter().unwrap().interrupt();
        // A second handle is the same latch.
        assert!(device.interrupter().unwrap().is_interrupted());
        let start = Instant::now();
        for _ in 0..2 {
            let err = device.recv_timeout(&mut [0; 2048], Duration::from_secs(30));
            assert_eq!(err.unwrap_err().kind(), ErrorKind::Interrupted);
            let err = device.recv_interruptible(&mut [0; 2048]);
            assert_eq!(err.unwrap_err().kind(), ErrorKind::Interrupted);
        }
        assert!(start.elapsed() < Duration::from_secs(1));
        // The plain path does not look at the interrupter.
        device.set_nonblocking(true).unwrap();
        let err = device.recv(&mut [0; 2048]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        // Another device's interrupter is its own.
        let other = quiet_device();
        assert!(!other.interrupter().unwrap().is_interrupted());
        let err = other.recv_timeout(&mut [0; 2048], Duration::from_millis(20));
        assert_eq!(err.unwrap_err().kind(), ErrorKind::TimedOut);
    });
}

#[test]
fn deleting_the_device_ends_an_interruptible_wait() {
    in_netns(|| {
        let device = Device::builder().name("gone0").build().unwrap().remove(0);
        let waiter = std::thread::spawn(move || device.recv_interruptible(&mut [0; 2048]));
        std::thread::sleep(Duration::from_millis(100));
        ip(&["link", "del", "gone0"]);
        let result = bounded("recv_interruptible on a deleted device", move || {
            waiter.join().unwrap()
        });
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NotFound);
    });
}
