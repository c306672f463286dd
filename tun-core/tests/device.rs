//! Real TUN/TAP devices, each test in its own fresh network namespace (`tun_testkit::in_netns`).
// Real devices in Linux network namespaces: Unix only (Windows has tests/windows.rs).
#![cfg(unix)]
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::collections::HashSet;
use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Command;

use tun_core::{Device, ErrorKind, InterfaceAddress, Layer};
use tun_testkit::packets::{self, Udp};
use tun_testkit::{bind_udp, in_netns, ip, links, recv_matching, TIMEOUT};

fn v4(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// Waits on `device` for the UDP datagram that `socket` sent to `peer`, parsing with `parse`.
fn recv_udp(device: &Device, peer: SocketAddr, parse: fn(&[u8]) -> Option<Udp>) -> Udp {
    let packet = recv_matching(
        device,
        |buf| device.recv(buf),
        "the UDP datagram",
        |p| parse(p).is_some_and(|udp| udp.destination == peer),
    );
    parse(&packet).unwrap()
}

/// The UDP round trip through a TUN device: socket → kernel → device → test → device → socket.
fn udp_round_trip_tun(device: &Device, local: IpAddr, peer: SocketAddr) {
    let socket = bind_udp(local);
    socket.send_to(b"ping through the tunnel", peer).unwrap();
    let udp = recv_udp(device, peer, packets::parse_udp_ip);
    assert_eq!(udp.source, socket.local_addr().unwrap());
    assert_eq!(udp.payload, b"ping through the tunnel");

    let reply = packets::udp_ip(peer, udp.source, b"pong from userspace");
    assert_eq!(device.send(&reply).unwrap(), reply.len());
    let mut buf = [0u8; 100];
    let (n, from) = socket
        .recv_from(&mut buf)
        .expect("the reply did not arrive");
    assert_eq!(from, peer);
    assert_eq!(&buf[..n], b"pong from userspace");
}

#[test]
fn tun_ipv4_and_ipv6_round_trips() {
    in_netns(|| {
        let device = Device::builder()
            .ipv4(v4(10, 2, 0, 1), 24)
            .ipv6(v6("fd00:2::1"), 64)
            .up()
            .build()
            .unwrap()
            .remove(0);
        assert_eq!(device.layer(), Layer::Tun);
        udp_round_trip_tun(
            &device,
            v4(10, 2, 0, 1).into(),
            "10.2.0.2:9".parse().unwrap(),
        );
        udp_round_trip_tun(
            &device,
            v6("fd00:2::1").into(),
            "[fd00:2::2]:9".parse().unwrap(),
        );
    });
}

#[test]
fn every_option_reads_back_from_the_kernel() {
    in_netns(|| {
        let device = Device::builder()
            .name("opts0")
            .mtu(1400)
            .address(v4(10, 1, 0, 1))
            .netmask(v4(255, 255, 0, 0))
            .destination(v4(10, 1, 0, 2))
            .broadcast(v4(10, 1, 255, 255))
            .ipv6(v6("fd00:1::1"), 64)
            .ipv6(v6("fd00:1:2::1"), 80)
            .txqueuelen(777)
            .owner(1234)
            .group(4321)
            .up()
            .build()
            .unwrap()
            .remove(0);
        assert_eq!(device.name(), "opts0");
        assert_eq!(device.mtu().unwrap(), 1400);
        assert_eq!(device.address().unwrap(), Some(v4(10, 1, 0, 1)));
        assert_eq!(device.netmask().unwrap(), Some(v4(255, 255, 0, 0)));
        assert_eq!(device.destination().unwrap(), Some(v4(10, 1, 0, 2)));
        assert_eq!(device.broadcast().unwrap(), Some(v4(10, 1, 255, 255)));
        assert_eq!(device.txqueuelen().unwrap(), 777);
        assert_eq!(device.owner().unwrap(), Some(1234));
        assert_eq!(device.group().unwrap(), Some(4321));
        assert!(device.is_up().unwrap());
        assert!(!device.is_persistent().unwrap());
        assert!(!device.is_multi_queue().unwrap());
        assert!(!device.has_packet_info());
        assert_eq!(device.max_packet_len().unwrap(), 1400);
        let addresses = device.addresses().unwrap();
        for expected in [
            InterfaceAddress {
                ip: v4(10, 1, 0, 1).into(),
                prefix_len: 16,
            },
            InterfaceAddress {
                ip: v6("fd00:1::1").into(),
                prefix_len: 64,
            },
            InterfaceAddress {
                ip: v6("fd00:1:2::1").into(),
                prefix_len: 80,
            },
        ] {
            assert!(
                addresses.contains(&expected),
                "{expected} not in {addresses:?}"
            );
        }
        assert_eq!(Some(device.index().unwrap()), nix_index("opts0"));

        // `ip` sees the same.
        let link = ip(&["-d", "link", "show", "opts0"]);
        for needle in [
            "mtu 1400",
            "qlen 777",
            "tun type tun pi off",
            "persist off",
            "user 1234",
            "group 4321",
            ",UP",
        ] {
            assert!(link.contains(needle), "`{needle}` not in:\n{link}");
        }
        let addr = ip(&["addr", "show", "opts0"]);
        for needle in [
            "inet 10.1.0.1 peer 10.1.0.2/16 brd 10.1.255.255",
            "inet6 fd00:1::1/64",
            "inet6 fd00:1:2::1/80",
        ] {
            assert!(addr.contains(needle), "`{needle}` not in:\n{addr}");
        }

        // Every setting changes at run time too.
        device.set_mtu(1500).unwrap();
        device.set_ipv4(v4(10, 9, 0, 1), 24).unwrap();
        device.set_destination(v4(10, 9, 0, 7)).unwrap();
        device.set_broadcast(v4(10, 9, 0, 255)).unwrap();
        device.remove_ipv6(v6("fd00:1:2::1"), 80).unwrap();
        device.add_ipv6(v6("fd00:9::1"), 120).unwrap();
        device.set_txqueuelen(50).unwrap();
        device.set_owner(4241).unwrap();
        device.set_group(4242).unwrap();
        let addresses = device.addresses().unwrap();
        let v6s: HashSet<IpAddr> = addresses.iter().map(|a| a.ip).collect();
        assert!(v6s.contains(&IpAddr::V6(v6("fd00:9::1"))), "{addresses:?}");
        assert!(
            !v6s.contains(&IpAddr::V6(v6("fd00:1:2::1"))),
            "{addresses:?}"
        );
        device.set_up(false).unwrap();
        assert_eq!(device.mtu().unwrap(), 1500);
        assert_eq!(device.address().unwrap(), Some(v4(10, 9, 0, 1)));
        assert_eq!(device.netmask().unwrap(), Some(v4(255, 255, 255, 0)));
        assert_eq!(device.destination().unwrap(), Some(v4(10, 9, 0, 7)));
        assert_eq!(device.broadcast().unwrap(), Some(v4(10, 9, 0, 255)));
        assert_eq!(device.txqueuelen().unwrap(), 50);
        assert_eq!(
            (device.owner().unwrap(), device.group().unwrap()),
            (Some(4241), Some(4242))
        );
        assert!(!device.is_up().unwrap());
        let link = ip(&["-d", "link", "show", "opts0"]);
        assert!(
            link.contains("mtu 1500") && link.contains("qlen 50") && !link.contains(",UP"),
            "{link}"
        );
        assert!(link.contains("user 4241 group 4242"), "{link}");

        // Bad run-time values are refused before the kernel sees them.
        assert_eq!(
            device.set_mtu(20).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            device.set_netmask(v4(255, 0, 255, 0)).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            device.set_ipv4(v4(10, 0, 0, 1), 40).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            device.add_ipv6(v6("fd00::5"), 200).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(device.mac().unwrap_err().kind(), ErrorKind::InvalidInput);
    });
}

fn nix_index(name: &str) -> Option<u32> {
    let text = ip(&["-o", "link", "show", name]);
    text.split(':').next()?.trim().parse().ok()
}

#[test]
fn tap_options_and_mac() {
    in_netns(|| {
        let mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
        let device = Device::builder()
            .tap()
            .name("tapopt%d")
            .mac(mac)
            .mtu(9000)
            .up()
            .build()
            .unwrap()
            .remove(0);
        assert_eq!(device.name(), "tapopt0");
        assert_eq!(device.layer(), Layer::Tap);
        assert_eq!(device.mac().unwrap(), mac);
        assert_eq!(device.max_packet_len().unwrap(), 9000 + 14 + 4);
        let link = ip(&["-d", "link", "show", "tapopt0"]);
        assert!(link.contains("link/ether 02:11:22:33:44:55"), "{link}");
        assert!(link.contains("tun type tap"), "{link}");
        assert!(link.contains("mtu 9000"), "{link}");

        let new_mac = [0x02, 0, 0, 0, 0, 0x42];
        device.set_mac(new_mac).unwrap();
        assert_eq!(device.mac().unwrap(), new_mac);
        assert!(ip(&["link", "show", "tapopt0"]).contains("02:00:00:00:00:42"));
        assert_eq!(
            device.set_mac([1, 0, 0, 0, 0, 1]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    });
}

#[test]
fn kernel_chosen_names_and_patterns() {
    in_netns(|| {
        let tun = Device::builder().build().unwrap().remove(0);
        let tap = Device::builder().tap().build().unwrap().remove(0);
        assert_eq!(tun.name(), "tun0");
        assert_eq!(tap.name(), "tap0");
        let a = Device::builder().name("vpn%d").build().unwrap().remove(0);
        let b = Device::builder().name("vpn%d").build().unwrap().remove(0);
        assert_eq!((a.name(), b.name()), ("vpn0", "vpn1"));
        let exact = Device::builder()
            .name("exactly15bytes_")
            .build()
            .unwrap()
            .remove(0);
        assert_eq!(exact.name(), "exactly15bytes_");
        let mut names = links();
        names.sort();
        assert_eq!(
            names,
            ["exactly15bytes_", "lo", "tap0", "tun0", "vpn0", "vpn1"]
        );
    });
}

#[test]
fn packet_info_header() {
    in_netns(|| {
        let device = Device::builder()
            .packet_info()
            .ipv4(v4(10, 4, 0, 1), 24)
            .ipv6(v6("fd00:4::1"), 64)
            .up()
            .build()
            .unwrap()
            .remove(0);
        assert!(device.has_packet_info());
        assert_eq!(device.max_packet_len().unwrap(), 1500 + 4);
        for (local, peer, proto) in [
            (IpAddr::from(v4(10, 4, 0, 1)), "10.4.0.2:9", [0x08, 0x00]),
            (IpAddr::from(v6("fd00:4::1")), "[fd00:4::2]:9", [0x86, 0xdd]),
        ] {
            let peer: SocketAddr = peer.parse().unwrap();
            let socket = bind_udp(local);
            socket.send_to(b"with header", peer).unwrap();
            let packet = recv_matching(
                &device,
                |b| device.recv(b),
                "a packet with header",
                |p| {
                    p.len() > 4
                        && packets::parse_udp_ip(&p[4..]).is_some_and(|u| u.destination == peer)
                },
            );
            // struct tun_pi: flags (u16, 0: not truncated), proto (EtherType, big endian).
            assert_eq!(&packet[..4], &[0, 0, proto[0], proto[1]]);

            // Writing needs the header too.
            let reply = packets::udp_ip(peer, socket.local_addr().unwrap(), b"reply");
            let header = [0, 0, proto[0], proto[1]];
            let n = device
                .send_vectored(&[IoSlice::new(&header), IoSlice::new(&reply)])
                .unwrap();
            assert_eq!(n, 4 + reply.len());
            let mut buf = [0u8; 64];
            let (n, _) = socket.recv_from(&mut buf).expect("reply with header lost");
            assert_eq!(&buf[..n], b"reply");
        }
    });
}

#[test]
fn no_packet_info_means_plain_ip() {
    in_netns(|| {
        let device = Device::builder()
            .ipv4(v4(10, 5, 0, 1), 24)
            .up()
            .build()
            .unwrap()
            .remove(0);
        let socket = bind_udp(v4(10, 5, 0, 1).into());
        socket.send_to(b"x", "10.5.0.2:9").unwrap();
        let packet = recv_matching(
            &device,
            |b| device.recv(b),
            "a plain IPv4 packet",
            |p| packets::parse_udp_ip(p).is_some(),
        );
        assert_eq!(packet[0] >> 4, 4, "first byte is the IP version");
    });
}

#[test]
fn tap_round_trip_with_arp() {
    in_netns(|| {
        let device_mac = [0x02, 0, 0, 0, 0, 0x01];
        let peer_mac = [0x02, 0, 0, 0, 0, 0x02];
        let (local, peer_ip) = (v4(10, 6, 0, 1), v4(10, 6, 0, 2));
        let device = Device::builder()
            .tap()
            .mac(device_mac)
            .ipv4(local, 24)
            .up()
            .build()
            .unwrap()
            .remove(0);
        let socket = bind_udp(local.into());
        socket.send_to(b"over ethernet", (peer_ip, 9)).unwrap();

        // The kernel asks who has the peer's address; the test answers for it.
        let request = recv_matching(
            &device,
            |b| device.recv(b),
            "an ARP request",
            |f| packets::arp_reply(f, peer_ip, peer_mac).is_some(),
        );
        let reply = packets::arp_reply(&request, peer_ip, peer_mac).unwrap();
        device.send(&reply).unwrap();

        let frame = recv_matching(
            &device,
            |b| device.recv(b),
            "the UDP frame",
            |f| packets::parse_udp_ethernet(f).is_some(),
        );
        assert_eq!(&frame[..6], &peer_mac, "sent to the MAC the ARP reply gave");
        let udp = packets::parse_udp_ethernet(&frame).unwrap();
        assert_eq!(udp.payload, b"over ethernet");

        let answer = packets::udp_ethernet(
            peer_mac,
            device_mac,
            (peer_ip, 9),
            (local, udp.source.port()),
            b"back over ethernet",
        );
        device.send(&answer).unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = socket
            .recv_from(&mut buf)
            .expect("the TAP reply did not arrive");
        assert_eq!(
            (&buf[..n], from),
            (&b"back over ethernet"[..], SocketAddr::from((peer_ip, 9)))
        );
    });
}

#[test]
fn multi_queue_spreads_packets_and_queues_attach_and_detach() {
    in_netns(|| {
        let queues = Device::builder()
            .name("mq0")
            .queues(4)
            .ipv4(v4(10, 7, 0, 1), 24)
            .up()
            .build()
            .unwrap();
        assert_eq!(queues.len(), 4);
        assert!(queues.iter().all(|q| q.name() == "mq0"));
        assert!(queues[0].is_multi_queue().unwrap());
        assert_eq!(queues[0].queue_counts().unwrap(), (4, 0));
        assert!(ip(&["-d", "link", "show", "mq0"]).contains("multi_queue"));
        for q in &queues {
            q.set_nonblocking(true).unwrap();
        }

        // Many flows (source ports): the kernel hashes them over the queues.
        const FLOWS: usize = 64;
        let sockets: Vec<UdpSocket> = (0..FLOWS)
            .map(|_| bind_udp(v4(10, 7, 0, 1).into()))
            .collect();
        for socket in &sockets {
            socket.send_to(b"flow", "10.7.0.2:9").unwrap();
        }
        let mut per_queue = [0usize; 4];
        let mut seen = HashSet::new();
        let deadline = std::time::Instant::now() + TIMEOUT;
        while seen.len() < FLOWS && std::time::Instant::now() < deadline {
            for (i, q) in queues.iter().enumerate() {
                let mut buf = [0u8; 2048];
                while let Ok(n) = q.recv(&mut buf) {
                    if let Some(udp) = packets::parse_udp_ip(&buf[..n]) {
                        seen.insert(udp.source.port());
                        per_queue[i] += 1;
                    }
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(seen.len(), FLOWS, "some flows never arrived: {per_queue:?}");
        assert!(
            per_queue.iter().filter(|&&n| n > 0).count() >= 2,
            "not spread: {per_queue:?}"
        );

        queues[3].detach_queue().unwrap();
        assert_eq!(queues[0].queue_counts().unwrap(), (3, 1));
        queues[3].attach_queue().unwrap();
        assert_eq!(queues[0].queue_counts().unwrap(), (4, 0));
        let fifth = queues[0].add_queue().unwrap();
        assert_eq!(fifth.name(), "mq0");
        assert_eq!(queues[0].queue_counts().unwrap(), (5, 0));
        drop(fifth);
        assert_eq!(queues[0].queue_counts().unwrap(), (4, 0));
    });
}

#[test]
fn single_queue_multi_queue_device_grows_later() {
    in_netns(|| {
        let first = Device::builder()
            .multi_queue(true)
            .build()
            .unwrap()
            .remove(0);
        assert!(first.is_multi_queue().unwrap());
        assert_eq!(first.queue_counts().unwrap(), (1, 0));
        let second = first.add_queue().unwrap();
        assert_eq!(second.queue_counts().unwrap(), (2, 0));
        // A plain (single-queue) device cannot grow.
        let plain = Device::builder().build().unwrap().remove(0);
        assert!(plain.add_queue().is_err());
    });
}

#[test]
fn persist_then_reattach_then_unpersist() {
    in_netns(|| {
        let device = Device::builder()
            .name("keep0")
            .persist()
            .build()
            .unwrap()
            .remove(0);
        assert!(device.is_persistent().unwrap());
        drop(device);
        assert!(
            links().contains(&"keep0".to_owned()),
            "persistent device vanished"
        );
        assert!(ip(&["-d", "link", "show", "keep0"]).contains("persist on"));

        let again = Device::builder().name("keep0").build().unwrap().remove(0);
        assert!(again.is_persistent().unwrap());
        again.set_persist(false).unwrap();
        assert!(!again.is_persistent().unwrap());
        drop(again);
        assert!(
            !links().contains(&"keep0".to_owned()),
            "device outlived persist off"
        );
    });
}

/// Runs in a child process as an unprivileged user (see `owner_and_group_let_a_user_attach`).
#[test]
#[ignore = "run by owner_and_group_let_a_user_attach as another user"]
fn child_attach_as_unprivileged_user() {
    let name = std::env::var("TUN_CHILD_DEVICE").expect("TUN_CHILD_DEVICE names the device");
    let expect_ok = std::env::var("TUN_CHILD_EXPECT").as_deref() == Ok("ok");
    match Device::builder().name(&name).build() {
        Ok(devices) => {
            assert!(expect_ok, "attached to {name} without permission");
            // And the queue works: a packet written is accepted by the kernel.
            let packet = packets::udp_ip(
                "10.8.0.2:9".parse().unwrap(),
                "10.8.0.1:9".parse().unwrap(),
                b"hi",
            );
            devices[0].send(&packet).unwrap();
        }
        Err(err) => {
            assert!(!expect_ok, "could not attach to {name}: {err}");
            assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
            assert!(err.to_string().contains("CAP_NET_ADMIN"), "{err}");
        }
    }
}

#[test]
fn owner_and_group_let_a_user_attach() {
    in_netns(|| {
        // The test binary may live where other users cannot read it: run a world-readable copy.
        let dir = std::env::temp_dir().join(format!("tun-owner-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let exe = dir.join("child");
        std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        Command::new("chmod")
            .args(["-R", "a+rx"])
            .arg(&dir)
            .status()
            .unwrap();

        let by_owner = Device::builder()
            .name("own0")
            .owner(65534)
            .persist()
            .build()
            .unwrap()
            .remove(0);
        let by_group = Device::builder()
            .name("grp0")
            .group(65533)
            .persist()
            .build()
            .unwrap()
            .remove(0);
        by_owner.set_up(true).unwrap();
        by_group.set_up(true).unwrap();
        // A single-queue device takes one attached fd at a time: let go of ours.
        drop((by_owner, by_group));
        // /dev/net/tun may be root-only (0600): give the child its own world-usable node of the
        // same device, bind-mounted over /dev/net/tun in a private mount namespace.
        let node = dir.join("tun");
        let made = Command::new("mknod")
            .args(["-m", "666"])
            .arg(&node)
            .args(["c", "10", "200"])
            .status()
            .unwrap();
        assert!(made.success(), "mknod failed");
        let run = |device: &str, uid: u32, gid: u32, expect: &str| {
            let script = format!(
                "mount --bind {} /dev/net/tun && exec setpriv --reuid={uid} --regid={gid} --clear-groups {} \\
                 --exact child_attach_as_unprivileged_user --ignored --test-threads=1",
                node.display(),
                exe.display()
            );
            let status = Command::new("unshare")
                .args(["--mount", "--propagation", "private", "sh", "-c", &script])
                .env("TUN_CHILD_DEVICE", device)
                .env("TUN_CHILD_EXPECT", expect)
                .status()
                .unwrap();
            assert!(
                status.success(),
                "child as {uid}:{gid} on {device} expecting {expect} failed"
            );
        };
        run("own0", 65534, 65534, "ok");
        run("own0", 65532, 65532, "denied");
        run("grp0", 65531, 65533, "ok");
        run("grp0", 65531, 65531, "denied");
        for name in ["own0", "grp0"] {
            Device::builder().name(name).build().unwrap()[0]
                .set_persist(false)
                .unwrap();
        }
        assert!(!links().iter().any(|l| l == "own0" || l == "grp0"));
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn from_fd_adopts_a_handed_over_queue() {
    in_netns(|| {
        let device = Device::builder()
            .tap()
            .packet_info()
            .name("handed0")
            .build()
            .unwrap()
            .remove(0);
        let raw = device.as_raw_fd();
        let fd = OwnedFd::from(device);
        assert_eq!(fd.as_raw_fd(), raw, "the same fd is handed over");
        let adopted = Device::from_fd(fd).unwrap();
        assert_eq!(adopted.name(), "handed0");
        assert_eq!(adopted.layer(), Layer::Tap);
        assert!(adopted.has_packet_info());
        adopted.set_mtu(1234).unwrap();
        assert_eq!(adopted.mtu().unwrap(), 1234);

        // A raw fd too (here: the same one, given up again).
        let raw = std::os::fd::IntoRawFd::into_raw_fd(adopted);
        // SAFETY: `raw` was just given up by `into_raw_fd` and nothing else owns it.
        let again = unsafe { Device::from_raw_fd(raw) }.unwrap();
        assert_eq!(again.name(), "handed0");

        // Not a TUN fd, and a clone-device fd not attached to any device.
        let not_tun = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let err = Device::from_fd(not_tun).unwrap_err();
        assert!(
            err.hint().is_some_and(|h| h.contains("not an attached")),
            "{err}"
        );
        let unattached = OwnedFd::from(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/net/tun")
                .unwrap(),
        );
        assert!(Device::from_fd(unattached).is_err());
    });
}

#[test]
fn nonblocking_reads_would_block() {
    in_netns(|| {
        let device = Device::builder()
            .nonblocking(true)
            .build()
            .unwrap()
            .remove(0);
        let err = device.recv(&mut [0u8; 1500]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);

        let blocking = Device::builder().build().unwrap().remove(0);
        blocking.set_nonblocking(true).unwrap();
        assert_eq!(
            blocking.recv(&mut [0u8; 1500]).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock
        );
    });
}

#[test]
fn read_write_traits_and_vectored_io_keep_packet_boundaries() {
    in_netns(|| {
        let device = Device::builder()
            .ipv4(v4(10, 9, 0, 1), 24)
            .up()
            .build()
            .unwrap()
            .remove(0);
        let socket = bind_udp(v4(10, 9, 0, 1).into());
        let local = socket.local_addr().unwrap();
        let peer: SocketAddr = "10.9.0.2:9".parse().unwrap();

        // Two writes are two packets, through `Write for &Device` and `Write for Device`.
        let first = packets::udp_ip(peer, local, b"first");
        let second = packets::udp_ip(peer, local, b"second");
        (&device).write_all(&first).unwrap();
        let mut owned = device;
        owned.write_all(&second).unwrap();
        owned.flush().unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(
            socket.recv(&mut buf).map(|n| buf[..n].to_vec()).unwrap(),
            b"first"
        );
        assert_eq!(
            socket.recv(&mut buf).map(|n| buf[..n].to_vec()).unwrap(),
            b"second"
        );

        // One read is one packet, split over two buffers by `recv_vectored`.
        socket.send_to(b"scatter me", peer).unwrap();
        let device = owned;
        tun_testkit::wait_readable(&device, "a packet to scatter");
        let mut head = [0u8; 20];
        let mut tail = [0u8; 100];
        let n = loop {
            let n = device
                .recv_vectored(&mut [IoSliceMut::new(&mut head), IoSliceMut::new(&mut tail)])
                .unwrap();
            let mut whole = head.to_vec();
            whole.extend_from_slice(&tail[..n.saturating_sub(20)]);
            if packets::parse_udp_ip(&whole[..n]).is_some() {
                break n;
            }
        };
        assert_eq!(n, 20 + 8 + 10, "IPv4 header + UDP header + payload");
        assert_eq!(&tail[8..18], b"scatter me");

        // `Read for &Device`, and a too-small buffer truncates; the rest of that packet is gone.
        socket.send_to(&[7u8; 100], peer).unwrap();
        let mut small = [0u8; 24];
        loop {
            tun_testkit::wait_readable(&device, "the packet to truncate");
            let n = (&device).read(&mut small).unwrap();
            if small[0] >> 4 == 4 && small[9] == 17 {
                assert_eq!(n, 24);
                break;
            }
        }
        socket.send_to(b"next", peer).unwrap();
        let next = recv_matching(
            &device,
            |b| device.recv(b),
            "the packet after it",
            |p| packets::parse_udp_ip(p).is_some(),
        );
        assert_eq!(packets::parse_udp_ip(&next).unwrap().payload, b"next");
    });
}

#[cfg(feature = "mio")]
#[test]
fn mio_poll_reports_a_waiting_packet() {
    in_netns(|| {
        use mio::{Events, Interest, Poll, Token};
        let mut device = Device::builder()
            .nonblocking(true)
            .ipv4(v4(10, 11, 0, 1), 24)
            .up()
            .build()
            .unwrap()
            .remove(0);
        let mut poll = Poll::new().unwrap();
        poll.registry()
            .register(&mut device, Token(7), Interest::READABLE)
            .unwrap();
        let socket = bind_udp(v4(10, 11, 0, 1).into());
        socket.send_to(b"wake mio", "10.11.0.2:9").unwrap();
        let mut events = Events::with_capacity(8);
        let deadline = std::time::Instant::now() + TIMEOUT;
        loop {
            poll.poll(&mut events, Some(TIMEOUT)).unwrap();
            assert!(
                std::time::Instant::now() < deadline,
                "mio never reported the packet"
            );
            if events
                .iter()
                .any(|e| e.token() == Token(7) && e.is_readable())
            {
                break;
            }
        }
        let mut buf = [0u8; 1500];
        let mut found = false;
        while let Ok(n) = device.recv(&mut buf) {
            found |= packets::parse_udp_ip(&buf[..n]).is_some_and(|u| u.payload == b"wake mio");
        }
        assert!(found, "the readable event came without the packet");
        poll.registry().deregister(&mut device).unwrap();
    });
}

/// `O_CLOEXEC` as `/proc/self/fdinfo` shows it (octal flags).
fn is_close_on_exec(fd: &impl AsRawFd) -> bool {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
    let flags = info
        .lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .map(|flags| u32::from_str_radix(flags.trim(), 8).unwrap())
        .unwrap();
    flags & libc::O_CLOEXEC as u32 != 0
}

#[test]
fn close_on_exec_by_default_and_on_request() {
    in_netns(|| {
        let default = Device::builder().build().unwrap().remove(0);
        assert!(is_close_on_exec(&default));
        let inherited = Device::builder()
            .close_on_exec(false)
            .build()
            .unwrap()
            .remove(0);
        assert!(!is_close_on_exec(&inherited));
    });
}

#[test]
fn devices_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Device>();
}

/// The interface calls go through sockets made in the device's namespace, so a thread that lives
/// in another namespace (where the name means nothing) still configures the right device.
#[test]
fn settings_work_from_a_thread_in_another_namespace() {
    in_netns(|| {
        let device = Device::builder()
            .name("home0")
            .ipv4(v4(10, 12, 0, 1), 24)
            .ipv6(v6("fd00:12::1"), 64)
            .up()
            .build()
            .unwrap()
            .remove(0);
        let device = std::thread::spawn(move || {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            assert!(
                !links().contains(&"home0".to_owned()),
                "not a different namespace"
            );
            device.set_mtu(1300).unwrap();
            assert_eq!(device.mtu().unwrap(), 1300);
            device.set_txqueuelen(99).unwrap();
            assert!(device.is_up().unwrap());
            let addresses = device.addresses().unwrap();
            assert!(
                addresses
                    .iter()
                    .any(|a| a.ip == IpAddr::V4(v4(10, 12, 0, 1))),
                "{addresses:?}"
            );
            device.add_ipv6(v6("fd00:13::1"), 64).unwrap();
            assert_eq!(device.owner().unwrap(), None);
            device
        })
        .join()
        .unwrap();
        // Back home, `ip` sees what the other thread did.
        let link = ip(&["link", "show", "home0"]);
        assert!(
            link.contains("mtu 1300") && link.contains("qlen 99"),
            "{link}"
        );
        assert!(ip(&["addr", "show", "home0"]).contains("fd00:13::1/64"));
        assert_eq!(device.name(), "home0");
    });
}

/// IPv4 as networks: several per device, from the builder and at run time, each one usable.
#[test]
fn several_ipv4_networks() {
    in_netns(|| {
        let device = Device::builder()
            .name("nets0")
            .ipv4(v4(10, 31, 0, 1), 24)
            .ipv4(v4(10, 32, 0, 1), 16)
            .up()
            .build()
            .unwrap()
            .remove(0);
        device.add_ipv4(v4(10, 33, 0, 1), 24).unwrap();
        // Adding one it has already is not an error (a persistent device rebuilt as it was).
        device.add_ipv4(v4(10, 33, 0, 1), 24).unwrap();
        let listed = device.addresses().unwrap();
        for (ip, prefix_len) in [
            ((10, 31, 0, 1), 24),
            ((10, 32, 0, 1), 16),
            ((10, 33, 0, 1), 24),
        ] {
            let (a, b, c, d) = ip;
            let wanted = InterfaceAddress {
                ip: v4(a, b, c, d).into(),
                prefix_len,
            };
            assert!(listed.contains(&wanted), "{wanted} missing from {listed:?}");
        }
        assert!(ip(&["-o", "addr", "show", "nets0"]).contains("10.32.0.1/16"));
        // The primary address is the first one.
        assert_eq!(device.address().unwrap(), Some(v4(10, 31, 0, 1)));
        // A secondary network carries traffic like the first.
        udp_round_trip_tun(
            &device,
            v4(10, 33, 0, 1).into(),
            "10.33.0.2:9".parse().unwrap(),
        );
        device.remove_ipv4(v4(10, 32, 0, 1), 16).unwrap();
        assert!(!ip(&["-o", "addr", "show", "nets0"]).contains("10.32.0.1"));
        let err = device.remove_ipv4(v4(10, 32, 0, 1), 16).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert_eq!(err.operation(), tun_core::Operation::RemoveIpv4);
        let err = device.add_ipv4(v4(224, 0, 0, 1), 24).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    });
}

/// An fd the caller keeps: the device works on a duplicate, and the caller's fd stays open.
#[test]
fn from_borrowed_fd_leaves_the_callers_fd_open() {
    in_netns(|| {
        let device = Device::builder().name("lent0").build().unwrap().remove(0);
        let owned = OwnedFd::from(device);
        let borrowed = Device::from_borrowed_fd(std::os::fd::AsFd::as_fd(&owned)).unwrap();
        assert_eq!(borrowed.name(), "lent0");
        assert_ne!(borrowed.as_raw_fd(), owned.as_raw_fd());
        drop(borrowed);
        assert!(
            links().contains(&"lent0".to_owned()),
            "the caller's fd was closed"
        );
        drop(owned);
        assert!(!links().contains(&"lent0".to_owned()));
    });
}

/// A conversion that fails after persistence was set: the guard undoes it, so the device
/// disappears with the build's fds (all or nothing).
#[test]
fn a_failed_conversion_leaves_no_persistent_device() {
    #[derive(Debug)]
    struct Refuses;
    impl tun_core::FromDevice for Refuses {
        fn from_device(device: Device) -> tun_core::Result<Refuses> {
            assert!(
                device.is_persistent().unwrap(),
                "persistent before conversion"
            );
            Err(tun_core::Error::new(
                tun_core::Operation::Register,
                device.name(),
                std::io::Error::other("refused by the test"),
            ))
        }
    }
    in_netns(|| {
        let err = tun_core::Builder::<Refuses>::new()
            .name("guard0")
            .persist()
            .build()
            .unwrap_err();
        assert_eq!(err.operation(), tun_core::Operation::Register);
        assert_eq!(links(), ["lo"], "a persistent device was left behind");
    });
}
