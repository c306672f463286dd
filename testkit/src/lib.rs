//! Test support shared by the crates of this workspace (never published).
//!
//! - [`in_netns`]: runs a test body in a thread that has its own, fresh network namespace, so
//!   every device and packet of the test stays there and disappears with it
//!   (`../shared/TESTING.md`). Without root it fails when `TUN_TESTS_REQUIRE_ROOT` is set, and
//!   otherwise skips loudly.
//! - [`fd_count`], [`links`]: the leak checks.
//! - [`ip`]: the `ip` command, for setting up and checking from the outside what the library did.
//! - [`packets`]: UDP/ICMP packets built and parsed with `etherparse`.
//! - [`stress`]: the stress suite's packet format, generator, verifier, pacing and drop counters,
//!   shared by the blocking device and every async runtime.
//!
//! This crate has no `unsafe`: namespaces, polling and user ids go through `nix`.

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::process::Command;
use std::time::{Duration, Instant};

pub mod packets;
pub mod stress;
pub mod suite;

/// How long any test waits for a packet or an event before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Whether missing privileges fail the test (CI) instead of skipping it.
pub fn root_required() -> bool {
    std::env::var_os("TUN_TESTS_REQUIRE_ROOT").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Runs `body` in a new thread inside a fresh network namespace with `lo` up, and returns its
/// result; a panic in `body` fails the calling test. Returns `None` (after printing why) when the
/// namespace cannot be made and `TUN_TESTS_REQUIRE_ROOT` is not set.
pub fn in_netns<F, R>(body: F) -> Option<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let thread = std::thread::Builder::new()
        .name("netns-test".into())
        .spawn(move || {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;
            ip(&["link", "set", "lo", "up"]);
            Ok::<R, nix::errno::Errno>(body())
        })
        .unwrap_or_else(|err| panic!("cannot spawn the namespace thread: {err}"));
    match thread.join() {
        Ok(Ok(result)) => Some(result),
        Ok(Err(errno)) => {
            let why = format!(
                "cannot create a network namespace ({errno}): device tests need root \
                 (CAP_SYS_ADMIN and CAP_NET_ADMIN)"
            );
            if root_required() {
                panic!("{why}; TUN_TESTS_REQUIRE_ROOT is set, so this is a failure");
            }
            skip_loudly(&why);
            None
        }
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Says on the terminal that the calling test is skipped, why, and how to run it for real.
///
/// `eprintln!` would go through the test harness's output capture, which shows a passing test's
/// output never: the skip would look like a pass. A write to the stderr handle itself is not
/// captured.
fn skip_loudly(why: &str) {
    use std::io::Write as _;
    let test = std::thread::current()
        .name()
        .map(str::to_owned)
        .unwrap_or_default();
    let message = format!(
        "\n*** SKIPPED {test}: {why}. Run the tests as root with `scripts/test` (or set \
         TUN_TESTS_REQUIRE_ROOT=1 to make missing privileges fail). ***\n"
    );
    // Nothing better to do if stderr is gone.
    let _ = std::io::stderr().lock().write_all(message.as_bytes());
}

/// Runs `ip` with `args` in the calling thread's namespace and returns its stdout; panics with
/// its stderr if it fails.
pub fn ip(args: &[&str]) -> String {
    let output = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run `ip` (install iproute2): {err}"));
    assert!(
        output.status.success(),
        "`ip {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `ip` that may fail: stdout on success, stderr on failure.
pub fn try_ip(args: &[&str]) -> Result<String, String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|err| err.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The names of all links in the calling thread's namespace.
pub fn links() -> Vec<String> {
    ip(&["-o", "link", "show"])
        .lines()
        .filter_map(|line| line.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_owned())
        .collect()
}

/// The number of open fds of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|dir| dir.count())
        .unwrap_or_else(|err| panic!("cannot list /proc/self/fd: {err}"))
}

/// Waits until `fd` is readable, for at most [`TIMEOUT`]; panics naming `what` otherwise.
pub fn wait_readable(fd: impl AsFd, what: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let millis = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [nix::poll::PollFd::new(
            fd.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        match nix::poll::poll(&mut fds, millis) {
            Ok(0) if left.is_zero() => panic!("timed out after {TIMEOUT:?} waiting for {what}"),
            Ok(0) => continue,
            Ok(_) => return,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(err) => panic!("poll on fd {} failed: {err}", fd.as_fd().as_raw_fd()),
        }
    }
}

/// Reads from `recv` until it returns a packet for which `wanted` is true, for at most
/// [`TIMEOUT`]; other packets (router solicitations, MLD reports, ...) are skipped.
pub fn recv_matching(
    fd: impl AsFd,
    mut recv: impl FnMut(&mut [u8]) -> io::Result<usize>,
    what: &str,
    mut wanted: impl FnMut(&[u8]) -> bool,
) -> Vec<u8> {
    let deadline = Instant::now() + TIMEOUT;
    let mut buf = vec![0u8; 65536];
    loop {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        wait_readable(fd.as_fd(), what);
        let n = match recv(&mut buf) {
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            Err(err) => panic!("recv failed while waiting for {what}: {err}"),
        };
        let packet = buf.get(..n).unwrap_or_default();
        if wanted(packet) {
            return packet.to_vec();
        }
    }
}

/// Whether the effective user is root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A UDP socket bound to `address` (port chosen by the kernel) with a [`TIMEOUT`] read timeout.
///
/// A fresh IPv6 address is "tentative" for a moment after it is added (the kernel runs, or on
/// NOARP links skips, duplicate address detection asynchronously) and cannot be bound yet, so
/// this retries `EADDRNOTAVAIL` until [`TIMEOUT`].
pub fn bind_udp(address: std::net::IpAddr) -> std::net::UdpSocket {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match std::net::UdpSocket::bind((address, 0)) {
            Ok(socket) => {
                socket
                    .set_read_timeout(Some(TIMEOUT))
                    .unwrap_or_else(|err| panic!("cannot set a read timeout: {err}"));
                return socket;
            }
            Err(err)
                if err.kind() == io::ErrorKind::AddrNotAvailable && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(err) => panic!("cannot bind a UDP socket to {address}: {err}"),
        }
    }
}
