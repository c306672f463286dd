//! What adversarial testing found: stale handles, partial packets, wrong error kinds. Each test
//! failed before its fix. Real devices, each test in its own fresh network namespace.
// Real devices in Linux network namespaces: Unix only (Windows has tests/windows.rs).
#![cfg(unix)]
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tun_core::{Device, ErrorKind};
use tun_testkit::packets;
use tun_testkit::suite::assert_device_gone;
use tun_testkit::{bind_udp, in_netns, ip, links};

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// The MTU of `name`, as `ip` reports it.
fn mtu_of(name: &str) -> u32 {
    let show = ip(&["-o", "link", "show", name]);
    let after = show
        .split(" mtu ")
        .nth(1)
        .expect("an mtu in `ip link show`");
    after.split(' ').next().unwrap().parse().unwrap()
}

fn assert_gone(result: tun_core::Result<impl std::fmt::Debug>, what: &str) {
    let err = result.expect_err(what);
    assert_eq!(err.kind(), ErrorKind::NotFound, "{what}: {err}");
    assert!(
        err.hint().is_some_and(|h| h.contains("no longer exists")),
        "{what}: {err}"
    );
}

/// Defect 1: a handle whose device was deleted must not act on a new device of the same name.
#[test]
fn a_handle_never_reaches_a_new_device_of_its_name() {
    in_netns(|| {
        let device = Device::builder().name("x0").build().unwrap().remove(0);
        let old_index = device.index().unwrap();
        ip(&["link", "del", "x0"]);
        ip(&["tuntap", "add", "x0", "mode", "tun"]);
        assert_ne!(
            tun_testkit::links().iter().filter(|l| *l == "x0").count(),
            0,
            "the new x0 exists"
        );

        assert_gone(device.set_mtu(1280), "set_mtu");
        assert_eq!(mtu_of("x0"), 1500, "the new device's MTU was changed");
        assert_gone(device.index(), "index");
        assert_gone(device.mtu(), "mtu");
        assert_gone(device.is_up(), "is_up");
        assert_gone(device.set_up(true), "set_up");
        assert!(!ip(&["-o", "link", "show", "x0"]).contains(",UP"));
        assert_gone(device.address(), "address");
        assert_gone(device.set_ipv4(Ipv4Addr::new(10, 1, 0, 1), 24), "set_ipv4");
        assert!(!ip(&["-o", "addr", "show", "x0"]).contains("10.1.0.1"));
        assert_gone(device.netmask(), "netmask");
        assert_gone(device.destination(), "destination");
        assert_gone(device.broadcast(), "broadcast");
        assert_gone(device.add_ipv6(v6("fd00:1::1"), 64), "add_ipv6");
        assert_gone(device.addresses(), "addresses");
        assert_gone(device.txqueuelen(), "txqueuelen");
        assert_gone(device.set_txqueuelen(7), "set_txqueuelen");
        assert_gone(device.owner(), "owner");
        assert_gone(device.queue_counts(), "queue_counts");
        assert_gone(device.is_persistent(), "is_persistent");
        assert_gone(device.max_packet_len(), "max_packet_len");
        assert_eq!(device.name(), "x0", "the last name is kept for messages");
        let new_index = ip(&["-o", "link", "show", "x0"]);
        assert!(
            !new_index.starts_with(&format!("{old_index}:")),
            "the kernel reused the index: {new_index}"
        );
    });
}

/// Defect 1, the other half: a renamed device is followed.
#[test]
fn a_handle_follows_its_device_through_a_rename() {
    in_netns(|| {
        let device = Device::builder().name("r0").build().unwrap().remove(0);
        let index = device.index().unwrap();
        ip(&["link", "set", "r0", "name", "r1"]);
        assert_eq!(device.name(), "r1");
        device.set_mtu(1400).unwrap();
        assert_eq!(mtu_of("r1"), 1400);
        assert_eq!(device.mtu().unwrap(), 1400);
        assert_eq!(device.index().unwrap(), index);
        device.set_up(true).unwrap();
        assert!(ip(&["-o", "link", "show", "r1"]).contains(",UP"));
        // A name of its own again, and another device takes the old one: still ours.
        ip(&["link", "set", "r1", "down"]);
        ip(&["link", "set", "r1", "name", "r2"]);
        ip(&["tuntap", "add", "r1", "mode", "tun"]);
        device.set_mtu(1300).unwrap();
        assert_eq!(mtu_of("r2"), 1300);
        assert_eq!(mtu_of("r1"), 1500);
        assert_eq!(device.name(), "r2");
    });
}

/// Defect 2: `add_queue` on a deleted device must not create a new one under the old name.
#[test]
fn add_queue_after_deletion_creates_nothing() {
    in_netns(|| {
        let device = Device::builder()
            .name("mq9")
            .multi_queue(true)
            .build()
            .unwrap()
            .remove(0);
        ip(&["link", "del", "mq9"]);
        assert_gone(device.add_queue(), "add_queue");
        assert_eq!(links(), ["lo"], "add_queue made a device");
        assert_gone(device.attach_queue(), "attach_queue");
        assert_gone(device.detach_queue(), "detach_queue");
    });
}

/// Defect 3: attaching with the other packet-information mode is refused, not reported as the
/// requested mode while the kernel keeps the device's.
#[test]
fn attaching_with_the_other_packet_info_mode_is_incompatible() {
    in_netns(|| {
        let plain = Device::builder()
            .name("pi0")
            .multi_queue(true)
            .build()
            .unwrap()
            .remove(0);
        let err = Device::builder()
            .name("pi0")
            .multi_queue(true)
            .packet_info()
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
        assert!(err.to_string().contains("packet information"), "{err}");
        assert_eq!(plain.queue_counts().unwrap(), (1, 0), "the queue stayed");

        let with_info = Device::builder()
            .name("pi1")
            .multi_queue(true)
            .packet_info()
            .build()
            .unwrap()
            .remove(0);
        let err = Device::builder()
            .name("pi1")
            .multi_queue(true)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
        assert_eq!(with_info.queue_counts().unwrap(), (1, 0));
    });
}

/// Defect 3, single queue: a persistent single-queue device takes the mode of the queue that
/// attaches (the kernel switches it), so the answer is the mode asked for, and it is true.
#[test]
fn a_persistent_single_queue_device_takes_the_new_mode_for_real() {
    in_netns(|| {
        let first = Device::builder()
            .name("sq0")
            .persist()
            .build()
            .unwrap()
            .remove(0);
        drop(first);
        let again = Device::builder()
            .name("sq0")
            .packet_info()
            .ipv4(Ipv4Addr::new(10, 93, 0, 1), 24)
            .up()
            .build()
            .unwrap()
            .remove(0);
        assert!(again.has_packet_info());
        assert!(ip(&["-d", "link", "show", "sq0"]).contains("pi on"));
        let socket = bind_udp(Ipv4Addr::new(10, 93, 0, 1).into());
        let peer: SocketAddr = "10.93.0.2:9".parse().unwrap();
        socket.send_to(b"with info", peer).unwrap();
        let packet = tun_testkit::recv_matching(
            &again,
            |buf| again.recv(buf),
            "the datagram with packet information",
            |p| p.len() > 4 && packets::parse_udp_ip(&p[4..]).is_some(),
        );
        assert_eq!(&packet[..4], &[0, 0, 0x08, 0x00], "flags and EtherType");
        again.set_persist(false).unwrap();
    });
}

/// Defect 4: more buffers than one `writev` takes: refused whole, nothing reaches the kernel;
/// `readv` likewise, and the packet stays for the next read.
#[test]
fn vectored_io_over_iov_max_is_refused_whole() {
    in_netns(|| {
        let device = Device::builder()
            .ipv4(Ipv4Addr::new(10, 94, 0, 1), 24)
            .up()
            .build()
            .unwrap()
            .remove(0);
        let socket = bind_udp(Ipv4Addr::new(10, 94, 0, 1).into());
        socket
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let peer: SocketAddr = "10.94.0.2:9".parse().unwrap();
        let packet = packets::udp_ip(peer, socket.local_addr().unwrap(), &[7u8; 1200]);
        let slices: Vec<IoSlice<'_>> = packet.chunks(1).map(IoSlice::new).collect();
        assert_eq!(slices.len(), 1228);
        for result in [
            device.send_vectored_all(&slices),
            device.send_vectored(&slices).map(drop),
        ] {
            assert_eq!(result.unwrap_err().kind(), io::ErrorKind::InvalidInput);
        }
        let mut buf = [0u8; 2048];
        assert!(
            socket.recv(&mut buf).is_err(),
            "a part of the refused packet was delivered"
        );
        // Within the limit it goes through whole.
        let chunks: Vec<IoSlice<'_>> = packet.chunks(2).map(IoSlice::new).collect();
        assert_eq!(chunks.len(), 614);
        device.send_vectored_all(&chunks).unwrap();
        socket.set_read_timeout(Some(tun_testkit::TIMEOUT)).unwrap();
        assert_eq!(socket.recv(&mut buf).unwrap(), 1200);

        socket.send_to(&[9u8; 1100], peer).unwrap();
        tun_testkit::wait_readable(&device, "the 1100-byte datagram");
        let mut bytes = vec![[0u8; 1]; 1200];
        let mut bufs: Vec<IoSliceMut<'_>> = bytes.iter_mut().map(|b| IoSliceMut::new(b)).collect();
        let err = device.recv_vectored(&mut bufs).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        let got = tun_testkit::recv_matching(
            &device,
            |buf| device.recv(buf),
            "the datagram, whole",
            |p| packets::parse_udp_ip(p).is_some_and(|udp| udp.destination == peer),
        );
        assert_eq!(
            got.len(),
            20 + 8 + 1100,
            "nothing was lost by the refused read"
        );
    });
}

/// Defect 5: a name with a byte the kernel counts as whitespace (0xA0, in 'à') is refused
/// before any system call, as invalid input; a refused name is never called "another kind".
#[test]
fn names_follow_the_kernels_byte_rules() {
    in_netns(|| {
        let err = Device::builder().name("advà0").build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.os_error().is_none(), "a system call was made: {err}");
        // A name the kernel takes although Rust calls it whitespace (U+2003 is E2 80 83).
        let odd = Device::builder()
            .name("em\u{2003}0")
            .build()
            .unwrap()
            .remove(0);
        assert_eq!(odd.name(), "em\u{2003}0");
        // A device of another kind is still "incompatible".
        let _tun = Device::builder().name("kind0").build().unwrap();
        let err = Device::builder().name("kind0").tap().build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
    });
}

/// Defect 6: run-time setters make the builder's checks.
#[test]
fn setters_check_like_the_builder() {
    in_netns(|| {
        let device = Device::builder()
            .name("chk0")
            .ipv6(v6("fd00:95::1"), 64)
            .up()
            .build()
            .unwrap()
            .remove(0);
        for bad in [Ipv6Addr::UNSPECIFIED, v6("ff02::1")] {
            let err = device.add_ipv6(bad, 64).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}: {err}");
            assert!(err.os_error().is_none(), "{bad} reached the kernel: {err}");
        }
        let err = device.set_mtu(1000).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(device.mtu().unwrap(), 1500);
        assert!(ip(&["-o", "addr", "show", "chk0"]).contains("fd00:95::1"));
        // Without the configured address the small MTU is fine (link-local ones do not count).
        device.remove_ipv6(v6("fd00:95::1"), 64).unwrap();
        device.set_mtu(1000).unwrap();
        assert_eq!(device.mtu().unwrap(), 1000);
        // And the builder's own refusal is the same check.
        let err = Device::builder()
            .mtu(1000)
            .ipv6(v6("fd00:95::2"), 64)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    });
}

/// Item 9: after deletion every packet I/O path fails with `io::ErrorKind::NotFound`, including
/// a blocking read that was waiting (EFAULT from the kernel).
#[test]
fn packet_io_on_a_deleted_device_is_not_found() {
    in_netns(|| {
        let device = Device::builder().name("io0").build().unwrap().remove(0);
        std::thread::scope(|scope| {
            let waiting = scope.spawn(|| {
                let mut buf = [0u8; 2048];
                device.recv(&mut buf)
            });
            std::thread::sleep(Duration::from_millis(200));
            ip(&["link", "del", "io0"]);
            let err = waiting.join().unwrap().unwrap_err();
            assert_device_gone(&err);
        });
        let mut buf = [0u8; 2048];
        assert_device_gone(&device.recv(&mut buf).unwrap_err());
        assert_device_gone(&device.send(&[0x45; 20]).unwrap_err());
        assert_device_gone(&device.send_all(&[0x45; 20]).unwrap_err());
        let mut bufs = [IoSliceMut::new(&mut buf)];
        assert_device_gone(&device.recv_vectored(&mut bufs).unwrap_err());
        assert_device_gone(
            &device
                .send_vectored(&[IoSlice::new(&[0x45; 20])])
                .unwrap_err(),
        );
        // The settings' errors convert to the same io::ErrorKind.
        let err: io::Error = device.mtu().unwrap_err().into();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    });
}

/// Item 10: empty packets are refused the same everywhere, and the queue limit is named.
#[test]
fn empty_packets_and_the_queue_limit() {
    in_netns(|| {
        let device = Device::builder().build().unwrap().remove(0);
        let invalid = io::ErrorKind::InvalidInput;
        assert_eq!(device.send(&[]).unwrap_err().kind(), invalid);
        assert_eq!(device.send_all(&[]).unwrap_err().kind(), invalid);
        assert_eq!(device.send_vectored(&[]).unwrap_err().kind(), invalid);
        assert_eq!(device.send_vectored_all(&[]).unwrap_err().kind(), invalid);
        let empty = [IoSlice::new(&[]), IoSlice::new(&[])];
        assert_eq!(
            device.send_vectored_all(&empty).unwrap_err().kind(),
            invalid
        );

        let queues = Device::builder().name("q256").queues(256).build().unwrap();
        let err = queues[0].add_queue().unwrap_err();
        assert!(
            err.hint().is_some_and(|h| h.contains("256")),
            "the 257th queue: {err}"
        );
        assert_eq!(queues[0].queue_counts().unwrap(), (256, 0));
    });
}
