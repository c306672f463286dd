//! Devices end to end on Windows, against the stand-in `wintun.dll` of `testkit/fake-wintun`
//! (a loopback adapter in memory: what is sent comes back), loaded from `TUN_FAKE_WINTUN`.
//! Under Wine (`scripts/wine-test`) this runs tun-core's real session code: the DLL's loading
//! and entry points, the rings' calls, blocking and non-blocking I/O, the read and shutdown
//! events. What it cannot show is Wintun's own behaviour: that is for a Windows machine.
//!
//! A binary of its own: the DLL is loaded once per process, and `tests/windows.rs` needs a
//! process in which it is missing.
#![cfg(windows)]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::{ErrorKind, IoSlice, IoSliceMut};
use std::sync::mpsc;
use std::time::Duration;

use tun_core::{Device, Layer};

/// The packet that makes the stand-in end a session (`fake_wintun::TERMINATE`).
const TERMINATE: &[u8] = b"FAKE-WINTUN-TERMINATE";
/// The smallest ring Wintun takes: 128 KiB.
const SMALL_RING: u32 = 0x20000;

/// A device on the stand-in DLL, or `None` (said loudly) when it was not built.
fn device(name: &str, ring: u32) -> Option<Device> {
    let Some(path) = std::env::var_os("TUN_FAKE_WINTUN") else {
        println!("*** SKIPPED: TUN_FAKE_WINTUN is not set (scripts/wine-test builds and sets it)");
        return None;
    };
    let devices = Device::builder()
        .name(name)
        .wintun_path(path)
        .ring_capacity(ring)
        .up()
        .build()
        .unwrap();
    assert_eq!(devices.len(), 1, "one queue on Windows");
    devices.into_iter().next()
}

fn packet(seq: u16, len: usize) -> Vec<u8> {
    let mut packet = vec![0x45; len];
    packet[1..3].copy_from_slice(&seq.to_be_bytes());
    packet
}

#[test]
fn a_packet_sent_comes_back_whole_or_truncated() {
    let Some(device) = device("loop0", SMALL_RING) else {
        return;
    };
    assert_eq!(device.name(), "loop0");
    assert_eq!(device.layer(), Layer::Tun);
    assert!(!device.has_packet_info());
    let sent = packet(1, 1400);
    assert_eq!(device.send(&sent).unwrap(), 1400);
    let mut buf = vec![0; 2000];
    assert_eq!(device.recv(&mut buf).unwrap(), 1400);
    assert_eq!(buf[..1400], sent[..]);
    // A short buffer gets the packet's start; the rest is dropped, not left for the next recv.
    device.send(&packet(2, 100)).unwrap();
    device.send(&packet(3, 50)).unwrap();
    let mut short = [0; 10];
    assert_eq!(device.recv(&mut short).unwrap(), 10);
    assert_eq!(short[..], packet(2, 100)[..10]);
    assert_eq!(device.recv(&mut buf).unwrap(), 50);
    // Vectored: gathered on send, scattered on receive.
    let (head, body) = ([0x60u8, 0, 0, 1], [7u8; 36]);
    device
        .send_vectored_all(&[IoSlice::new(&head), IoSlice::new(&body)])
        .unwrap();
    let (mut a, mut b) = ([0u8; 4], [0u8; 64]);
    let n = device
        .recv_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)])
        .unwrap();
    assert_eq!((n, a, &b[..36]), (40, head, &body[..]));
    // Empty and oversized packets are refused before the ring.
    assert_eq!(
        device.send(&[]).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let huge = vec![0x45; 70_000];
    assert_eq!(
        device.send(&huge).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn non_blocking_io_never_waits_and_a_full_ring_is_would_block() {
    let Some(device) = device("loop1", SMALL_RING) else {
        return;
    };
    device.set_nonblocking(true).unwrap();
    let mut buf = vec![0; 2000];
    assert_eq!(
        device.recv(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    // Nobody reads: the 128 KiB ring fills after 87 packets of 1500 bytes.
    let mut sent = 0u16;
    loop {
        match device.send(&packet(sent, 1500)) {
            Ok(_) => sent += 1,
            Err(err) if err.kind() == ErrorKind::WouldBlock => break,
            Err(err) => panic!("{err}"),
        }
        assert!(sent < 1000, "the ring never filled");
    }
    assert_eq!(sent, 87);
    // One packet taken out makes room for one more, in order.
    assert_eq!(device.recv(&mut buf).unwrap(), 1500);
    assert_eq!(buf[1..3], 0u16.to_be_bytes());
    device.send(&packet(sent, 1500)).unwrap();
    for seq in 1..=sent {
        assert_eq!(device.recv(&mut buf).unwrap(), 1500);
        assert_eq!(buf[1..3], seq.to_be_bytes(), "out of order");
    }
    assert_eq!(
        device.recv(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
}

#[test]
fn a_blocked_reader_is_woken_by_a_packet() {
    let Some(device) = device("loop2", SMALL_RING) else {
        return;
    };
    let (done, finished) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut buf = vec![0; 2000];
            done.send(device.recv(&mut buf).map(|n| buf[..n].to_vec()))
                .unwrap();
        });
        // The reader is blocked in WaitForMultipleObjects: nothing to take yet.
        assert!(finished.recv_timeout(Duration::from_millis(100)).is_err());
        device.send(&packet(9, 300)).unwrap();
        let got = finished
            .recv_timeout(Duration::from_secs(5))
            .expect("the blocked reader was not woken by the packet")
            .unwrap();
        assert_eq!(got, packet(9, 300));
    });
}

#[test]
fn a_removed_adapter_ends_blocked_and_later_io_with_not_found() {
    let Some(device) = device("loop3", SMALL_RING) else {
        return;
    };
    let (done, finished) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut buf = vec![0; 2000];
            done.send(device.recv(&mut buf)).unwrap();
        });
        assert!(finished.recv_timeout(Duration::from_millis(100)).is_err());
        // The stand-in ends the session as Wintun does when its adapter goes away.
        device.send(TERMINATE).unwrap();
        let err = finished
            .recv_timeout(Duration::from_secs(5))
            .expect("the blocked reader was not woken when the adapter went away")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    });
    let mut buf = [0; 64];
    assert_eq!(
        device.recv(&mut buf).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        device.send(&[0x45; 20]).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn what_a_wintun_adapter_does_not_have_is_refused() {
    let Some(device) = device("loop4", SMALL_RING) else {
        return;
    };
    // No API takes a Wintun adapter down while its session runs.
    let err = device.set_up(false).unwrap_err();
    assert_eq!(err.kind(), tun_core::ErrorKind::Unsupported, "{err}");
    device.set_up(true).unwrap();
    // Layer 3: no MAC address.
    let err = device.mac().unwrap_err();
    assert_eq!(err.kind(), tun_core::ErrorKind::InvalidInput, "{err}");
    // The stand-in's adapter is unknown to the IP Helper API: the listing is empty (it is
    // filtered by the adapter's LUID) and the index lookup fails instead of finding another.
    assert_eq!(device.addresses().unwrap(), []);
    assert!(device.index().is_err());
}

#[test]
fn recv_timeout_takes_waiting_packets_first_and_times_out_on_an_empty_ring() {
    let Some(device) = device("loop5", SMALL_RING) else {
        return;
    };
    let mut buf = vec![0; 2000];
    // Two packets, two signals of the auto-reset read event, at most one left set: each call
    // must take a waiting packet before it waits, or the second would wait for nothing.
    device.send(&packet(1, 64)).unwrap();
    device.send(&packet(2, 64)).unwrap();
    for seq in 1..=2u16 {
        let started = std::time::Instant::now();
        let n = device
            .recv_timeout(&mut buf, Duration::from_secs(2))
            .unwrap();
        assert_eq!((n, &buf[1..3]), (64, &seq.to_be_bytes()[..]));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "waited for a waiting packet"
        );
    }
    let started = std::time::Instant::now();
    let err = device
        .recv_timeout(&mut buf, Duration::from_millis(100))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(started.elapsed() >= Duration::from_millis(90));
    // Zero: a waiting packet is taken, an empty ring is an immediate TimedOut.
    device.send(&packet(3, 64)).unwrap();
    assert_eq!(device.recv_timeout(&mut buf, Duration::ZERO).unwrap(), 64);
    let err = device.recv_timeout(&mut buf, Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
}

#[test]
fn the_interrupter_ends_blocked_and_later_interruptible_reads() {
    let Some(device) = device("loop6", SMALL_RING) else {
        return;
    };
    let stop = device.interrupter().unwrap();
    assert!(!stop.is_interrupted());
    let (done, finished) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut buf = vec![0; 2000];
            done.send(device.recv_interruptible(&mut buf)).unwrap();
        });
        assert!(finished.recv_timeout(Duration::from_millis(100)).is_err());
        stop.interrupt();
        let err = finished
            .recv_timeout(Duration::from_secs(5))
            .expect("the interrupter did not end the blocked read")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Interrupted, "{err}");
    });
    // A latch: later interruptible reads end at once, even with a packet waiting.
    assert!(stop.is_interrupted());
    device.send(&packet(1, 64)).unwrap();
    let mut buf = vec![0; 2000];
    let err = device
        .recv_timeout(&mut buf, Duration::from_secs(5))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interrupted, "{err}");
    // The plain recv is not affected.
    assert_eq!(device.recv(&mut buf).unwrap(), 64);
}

#[test]
fn a_name_taken_by_another_kind_of_interface_is_refused_not_renamed() {
    let Some(path) = std::env::var_os("TUN_FAKE_WINTUN") else {
        println!("*** SKIPPED: TUN_FAKE_WINTUN is not set (scripts/wine-test builds and sets it)");
        return;
    };
    // Wine names its interfaces after the host's: `lo` always exists and is no Wintun adapter.
    // Creating over it would make Wintun rename it; the build refuses instead.
    let err = Device::builder()
        .name("lo")
        .wintun_path(path)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), tun_core::ErrorKind::NameInUse, "{err}");
    assert!(
        err.hint()
            .is_some_and(|hint| hint.contains("not a Wintun adapter")),
        "{err}"
    );
}

#[test]
fn a_blocking_send_on_a_full_ring_goes_through_once_there_is_room() {
    let Some(device) = device("loop7", SMALL_RING) else {
        return;
    };
    device.set_nonblocking(true).unwrap();
    let mut sent = 0u16;
    while device.send(&packet(sent, 1500)).is_ok() {
        sent += 1;
    }
    device.set_nonblocking(false).unwrap();
    let (done, finished) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| done.send(device.send(&packet(sent, 1500))).unwrap());
        // No room, no signal for room: the sender retries (yielding), it does not fail.
        assert!(finished.recv_timeout(Duration::from_millis(100)).is_err());
        let mut buf = vec![0; 2000];
        device.recv(&mut buf).unwrap();
        finished
            .recv_timeout(Duration::from_secs(5))
            .expect("the blocking send never found the room")
            .unwrap();
    });
}
