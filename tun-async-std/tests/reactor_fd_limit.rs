//! async-io's reactor starts with the first registration in a process and panics (inside
//! async-io) when it cannot: here, because no fd is left for its epoll instance. The build must
//! fail with an error that keeps the errno and its `ulimit -n` hint, and leave no device. The
//! reactor must not have started before, so this is a test binary of its own.
// Real devices in Linux network namespaces: Unix only (Windows has tests/windows.rs).
#![cfg(unix)]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use tun_async_std::Tun;
use tun_testkit::{in_netns, links};

/// The fd numbers open in this process (without the one used to list them).
fn open_fds() -> BTreeSet<u64> {
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

#[test]
fn a_reactor_that_cannot_start_keeps_the_errno_and_the_hint() {
    in_netns(|| {
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let mut reactor_failed = false;
        // Allow k more fds, k = 0, 1, 2, ...: the build fails at each step in turn (the queue,
        // the control sockets, then the reactor's own fds) until it has all it needs.
        for k in 0..32 {
            let open = open_fds();
            let limit = (0..).filter(|fd| !open.contains(fd)).nth(k).unwrap();
            setrlimit(Resource::RLIMIT_NOFILE, limit, hard).unwrap();
            let result = Tun::builder().name("fdl0").build();
            setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();
            let err = match result {
                Ok(_) => break,
                Err(err) => err,
            };
            assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "k = {k}: {err}");
            assert!(
                err.hint().is_some_and(|h| h.contains("ulimit")),
                "k = {k}: {err}"
            );
            assert_eq!(links(), ["lo"], "k = {k}: the device was left ({err})");
            reactor_failed |= err.operation() == tun_async_std::Operation::StartReactor;
        }
        assert!(
            reactor_failed,
            "no build failed in the reactor's start-up: the test did not reach it"
        );
    });
}
