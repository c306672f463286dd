//! Failed builds leave nothing behind: no fd, no device. fds are per process, so these checks run
//! one after another in this binary of their own (one `#[test]`), each in a fresh namespace.
// Real devices in Linux network namespaces: Unix only (Windows has tests/windows.rs).
#![cfg(unix)]
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::net::{Ipv4Addr, Ipv6Addr};

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use tun_core::{Builder, Device, ErrorKind};
use tun_testkit::{fd_count, in_netns, ip, links};

/// Builds `builder`, expects the error `kind`, and checks that the fd count and the links in the
/// namespace are as before.
fn fails_cleanly(what: &str, builder: Builder<Device>, kind: ErrorKind) -> tun_core::Error {
    let fds = fd_count();
    let before = links();
    let err = builder.build().expect_err(what);
    assert_eq!(err.kind(), kind, "{what}: {err}");
    assert_eq!(fd_count(), fds, "{what}: fds leaked ({err})");
    assert_eq!(links(), before, "{what}: a device was left behind ({err})");
    assert!(!err.to_string().is_empty());
    err
}

/// The fd numbers open in this process (without the one used to list them).
fn open_fds() -> std::collections::BTreeSet<u64> {
    let own = format!("/proc/{}/fd", std::process::id());
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let target = std::fs::read_link(entry.path()).ok()?;
            (target.to_str() != Some(own.as_str())).then_some(())?;
            entry.file_name().to_str()?.parse().ok()
        })
        .collect()
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

#[test]
fn failed_builds_close_every_fd_and_remove_the_device() {
    in_netns(|| {
        // Warm up: the first build loads whatever the process loads once (nothing to count).
        drop(Device::builder().build().unwrap());
        let baseline = fd_count();

        // Invalid input of every kind: refused before any system call.
        let invalid = ErrorKind::InvalidInput;
        for (what, builder) in [
            ("16-byte name", Device::builder().name("sixteen_bytes_xx")),
            (
                "multi-byte char past 15 bytes",
                Device::builder().name("abcdefghijklmné"),
            ),
            ("NUL in name", Device::builder().name("tun\0x")),
            ("slash in name", Device::builder().name("tun/0")),
            ("space in name", Device::builder().name("tun 0")),
            ("colon in name", Device::builder().name("tun:0")),
            ("dot name", Device::builder().name(".")),
            ("dot-dot name", Device::builder().name("..")),
            ("bad pattern", Device::builder().name("tun%s")),
            ("zero queues", Device::builder().queues(0)),
            ("too many queues", Device::builder().queues(257)),
            ("MTU too small", Device::builder().mtu(20)),
            ("MTU too large", Device::builder().mtu(65536)),
            (
                "IPv6 with small MTU",
                Device::builder().mtu(1000).ipv6(v6("fd00::1"), 64),
            ),
            ("IPv6 prefix", Device::builder().ipv6(v6("fd00::1"), 129)),
            ("IPv6 multicast", Device::builder().ipv6(v6("ff02::1"), 64)),
            (
                "IPv4 prefix",
                Device::builder().ipv4(Ipv4Addr::new(10, 0, 0, 1), 33),
            ),
            (
                "netmask alone",
                Device::builder().netmask(Ipv4Addr::new(255, 0, 0, 0)),
            ),
            (
                "destination alone",
                Device::builder().destination(Ipv4Addr::new(10, 0, 0, 2)),
            ),
            (
                "broadcast alone",
                Device::builder().broadcast(Ipv4Addr::new(10, 0, 0, 255)),
            ),
            (
                "holey netmask",
                Device::builder()
                    .address(Ipv4Addr::new(10, 0, 0, 1))
                    .netmask(Ipv4Addr::new(255, 0, 255, 0)),
            ),
            ("MAC on TUN", Device::builder().mac([2, 0, 0, 0, 0, 1])),
            (
                "multicast MAC",
                Device::builder().tap().mac([1, 0, 0, 0, 0, 1]),
            ),
            ("zero MAC", Device::builder().tap().mac([0; 6])),
        ] {
            let err = fails_cleanly(what, builder, invalid);
            assert!(
                err.raw_os_error().is_none(),
                "{what}: reached the kernel: {err}"
            );
        }

        // TUNSETIFF fails: the name belongs to a device of the other layer.
        let tap = Device::builder().tap().name("clash0").build().unwrap();
        let err = fails_cleanly(
            "TUN over an existing TAP",
            Device::builder().name("clash0"),
            ErrorKind::Incompatible,
        );
        assert!(
            err.hint().is_some_and(|h| h.contains("another kind")),
            "{err}"
        );
        // ... or the single queue of the device is taken.
        let err = fails_cleanly(
            "second fd on a single-queue device",
            Device::builder().tap().name("clash0"),
            ErrorKind::NameInUse,
        );
        assert!(err.to_string().contains("clash0"), "{err}");
        drop(tap);

        // Multi-queue on a persistent single-queue device: refused at the first TUNSETIFF.
        let keep = Device::builder().name("single0").persist().build().unwrap();
        drop(keep);
        fails_cleanly(
            "two queues on a single-queue device",
            Device::builder().name("single0").queues(2),
            ErrorKind::Incompatible,
        );
        let again = Device::builder().name("single0").build().unwrap();
        again[0].set_persist(false).unwrap();
        drop(again);

        // Each step of the build fails in turn: the fd limit lets the build open only `k` more
        // fds (queue 1, its three control sockets, queue 2), so step k+1 fails with EMFILE. The
        // fds opened before it are closed and the device created by step 1 disappears.
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        for k in 0..5 {
            // fd limits bound fd numbers, and new fds take the lowest free numbers: allow the
            // first k free ones.
            let open = open_fds();
            let limit = (0..).filter(|fd| !open.contains(fd)).nth(k).unwrap();
            let fds = fd_count();
            setrlimit(Resource::RLIMIT_NOFILE, limit, hard).unwrap();
            let result = Device::builder().name("steps0").queues(2).build();
            setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();
            let err = result.expect_err("a build beyond the fd limit");
            assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "step {k}: {err}");
            assert!(err.hint().is_some_and(|h| h.contains("ulimit")), "{err}");
            assert_eq!(fd_count(), fds, "step {k}: fds leaked ({err})");
            assert_eq!(links(), ["lo"], "step {k}: device left behind ({err})");
        }

        // A configuration step fails after the device was created: IPv6 is disabled in this
        // namespace, so adding the address (the last step) fails. The device must go.
        std::fs::write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1").unwrap();
        std::fs::write("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1").unwrap();
        fails_cleanly(
            "IPv6 address on an IPv6-less system",
            Device::builder()
                .name("late0")
                .mtu(1400)
                .ipv4(Ipv4Addr::new(10, 0, 0, 1), 24)
                .up()
                .ipv6(v6("fd00::1"), 64),
            ErrorKind::Unsupported,
        )
        .hint()
        .filter(|hint| hint.contains("disable_ipv6"))
        .expect("a hint about disable_ipv6");
        // The same on a multi-queue build: all four queues closed, the device gone.
        fails_cleanly(
            "IPv6 on a 4-queue device",
            Device::builder()
                .name("late1")
                .queues(4)
                .ipv6(v6("fd00::1"), 64),
            ErrorKind::Unsupported,
        );

        // A pre-existing persistent device survives a failed attach-and-configure.
        std::fs::write("/proc/sys/net/ipv6/conf/all/disable_ipv6", "0").unwrap();
        std::fs::write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "0").unwrap();
        drop(Device::builder().name("old0").persist().build().unwrap());
        std::fs::write("/proc/sys/net/ipv6/conf/old0/disable_ipv6", "1").unwrap();
        let fds = fd_count();
        let err = Device::builder()
            .name("old0")
            .ipv6(v6("fd00::2"), 64)
            .build()
            .unwrap_err();
        assert_eq!(fd_count(), fds, "fds leaked: {err}");
        assert!(
            links().contains(&"old0".to_owned()),
            "the pre-existing device was removed"
        );
        let old = Device::builder().name("old0").build().unwrap();
        old[0].set_persist(false).unwrap();
        drop(old);

        // Success and drop leak nothing either, whatever the options.
        let built = Device::builder()
            .queues(3)
            .ipv4(Ipv4Addr::new(10, 1, 0, 1), 24)
            .ipv6(v6("fd00:1::1"), 64)
            .up()
            .build()
            .unwrap();
        let extra = built[0].add_queue().unwrap();
        drop((built, extra));
        assert_eq!(fd_count(), baseline, "fds leaked by successful builds");
        assert_eq!(links(), ["lo"], "devices left: {}", ip(&["link"]));
    });
}
