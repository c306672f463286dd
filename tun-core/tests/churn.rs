//! Churn: 1,000 devices built and dropped leave no fd, no link and no memory behind. fds and RSS
//! are per process, so this is the only test of its binary, in a fresh network namespace.
// Real devices in Linux network namespaces: Unix only (Windows has tests/windows.rs).
#![cfg(unix)]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use tun_core::Device;
use tun_testkit::{fd_count, in_netns, links};

const BUILDS: usize = 1000;
/// Threads building at once, all in the test's namespace.
const THREADS: usize = 8;
/// Builds before the baseline is taken: the first ones load and allocate what a process keeps
/// for good (the allocator's arenas, lazily initialised statics, thread-locals).
const WARM_UP: usize = 100;
/// How much the RSS may grow over the [`BUILDS`]. After the warm-up every build allocates and
/// frees the same sizes, which the allocator serves from memory it already holds, so the RSS
/// stays flat (measured: a few KiB of drift, if any). A leak of L bytes per build grows it by at
/// least 1000 * L: this tolerance catches any leak of 256 bytes or more per build, far less than
/// what a device holds (its name, its configuration, its queue struct).
const RSS_TOLERANCE: u64 = 256 * 1024;

/// The resident set size of this process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/self/status:\n{status}"));
    kib * 1024
}

/// Build number `i`: 1 or 2 queues, every other one with addresses and up, a kernel-chosen or a
/// pattern name.
fn build(i: usize) -> Vec<Device> {
    let queues = 1 + i % 2;
    let builder = Device::builder().queues(queues);
    let builder = match i % 4 {
        0 | 1 => builder,
        2 => builder
            .name("churn%d")
            .ipv4(Ipv4Addr::new(10, 78, 0, 1), 24)
            .up(),
        _ => builder
            .name("churn%d")
            .ipv4(Ipv4Addr::new(10, 78, 0, 1), 24)
            .ipv6(Ipv6Addr::new(0xfd00, 78, 0, 0, 0, 0, 0, 1), 64)
            .mtu(1400)
            .up(),
    };
    let devices = builder
        .build()
        .unwrap_or_else(|err| panic!("build {i}: {err}"));
    assert_eq!(devices.len(), queues, "build {i}");
    devices
}

/// Runs builds `range` on [`THREADS`] threads at once (a device's removal waits in the kernel for
/// most of its ~20 ms; in parallel the 1,000 take seconds instead of 20), each built and dropped.
fn churn(range: std::ops::Range<usize>) {
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let builds = range.clone().skip(thread).step_by(THREADS);
            scope.spawn(move || builds.for_each(|i| drop(build(i))));
        }
    });
}

#[test]
fn a_thousand_builds_and_drops_leave_no_fd_link_or_memory() {
    in_netns(|| {
        churn(0..WARM_UP);
        let (fds, before, rss_before) = (fd_count(), links(), rss());
        assert_eq!(before, ["lo"], "devices left by the warm-up");
        let started = std::time::Instant::now();
        churn(0..BUILDS);
        let elapsed = started.elapsed();
        let (fds_after, after, rss_after) = (fd_count(), links(), rss());
        println!(
            "churn: {BUILDS} builds on {THREADS} threads in {elapsed:.2?}; fds {fds} -> \
             {fds_after}; links {before:?} -> {after:?}; RSS {} KiB -> {} KiB",
            rss_before / 1024,
            rss_after / 1024
        );
        assert_eq!(fds_after, fds, "fds leaked by {BUILDS} builds");
        assert_eq!(after, before, "devices left behind by {BUILDS} builds");
        assert!(
            rss_after <= rss_before + RSS_TOLERANCE,
            "RSS grew by {} KiB over {BUILDS} builds (tolerance {} KiB): a leak of about {} \
             bytes per build",
            (rss_after - rss_before) / 1024,
            RSS_TOLERANCE / 1024,
            (rss_after - rss_before) / BUILDS as u64
        );
    });
}
