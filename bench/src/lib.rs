//! Shared bits of the relay binaries: the command-line contract and SIGTERM.
//!
//! Every `relay-<variant>` binary is called as `relay-<variant> TUN_A TUN_B`:
//! it creates two TUN devices (IFF_NO_PI) with those names and copies packets
//! A -> B and B -> A until it gets SIGTERM, then exits with status 0.

use std::process::exit;

/// Size of the one buffer each direction allocates at start-up: larger than
/// any packet a TUN device without offloads hands out (MTU is at most 65535).
pub const BUF_LEN: usize = 65536;

/// Parses `TUN_A TUN_B` from the command line (exits with status 2 otherwise)
/// and installs the SIGTERM handler.
pub fn start() -> (String, String) {
    let mut args = std::env::args();
    let prog = args.next().unwrap_or_else(|| "relay".into());
    let (a, b) = match (args.next(), args.next(), args.next()) {
        (Some(a), Some(b), None) => (a, b),
        _ => {
            eprintln!("usage: {prog} TUN_A TUN_B");
            exit(2);
        }
    };
    exit_zero_on_sigterm();
    (a, b)
}

extern "C" fn on_sigterm(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe; nothing needs flushing.
    unsafe { libc::_exit(0) }
}

/// SIGTERM ends the process at once with status 0, whatever runtime it uses,
/// so no variant pays for shutdown plumbing on its data path.
pub fn exit_zero_on_sigterm() {
    // SAFETY: installs a handler that only calls _exit.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigterm as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut()) != 0 {
            panic!("sigaction: {}", std::io::Error::last_os_error());
        }
    }
}

/// Reports a fatal error the same way in every variant and exits 1.
pub fn die(what: &str, err: impl std::fmt::Display) -> ! {
    eprintln!("relay: {what}: {err}");
    exit(1);
}

/// What to do with an error from writing one packet: writes into a device
/// that is down (while the script moves it into its namespace) fail with EIO
/// and the packet is simply dropped, as the kernel would; anything else is
/// fatal.
pub fn write_error_is_transient(err: &std::io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EIO) | Some(libc::ENOBUFS) | Some(libc::EAGAIN) | Some(libc::EINVAL)
    )
}

/// The tun-tokio relay, shared by the current-thread and the multi-thread variant: they differ
/// only in the runtime they run on.
pub mod tokio_relay {
    use std::sync::Arc;

    use super::{die, start, write_error_is_transient, BUF_LEN};
    use tun_tokio::Tun;

    async fn pump(from: Arc<Tun>, to: Arc<Tun>) {
        let mut buf = vec![0u8; BUF_LEN];
        loop {
            let n = from.recv(&mut buf).await.unwrap_or_else(|e| die("recv", e));
            if let Err(e) = to.send(&buf[..n]).await {
                if !write_error_is_transient(&e) {
                    die("send", e);
                }
            }
        }
    }

    fn open(name: &str) -> Arc<Tun> {
        let mut v = Tun::builder()
            .name(name)
            .build()
            .unwrap_or_else(|e| die("open", e));
        Arc::new(v.pop().unwrap_or_else(|| die("open", "no queue")))
    }

    /// Relays both ways until SIGTERM, both directions spawned as tasks of `runtime` (so on a
    /// multi-thread runtime they run on its workers, not on the thread that blocks on them).
    pub fn run(runtime: tokio::runtime::Runtime) {
        let (a, b) = start();
        runtime.block_on(async {
            let (a, b) = (open(&a), open(&b));
            let forward = tokio::spawn(pump(a.clone(), b.clone()));
            let backward = tokio::spawn(pump(b, a));
            let _ = tokio::join!(forward, backward);
        });
    }
}

/// The tokio-tun 0.16 relay, shared by its current-thread and multi-thread variants (the peer in
/// the same runtime shapes as `tokio_relay`).
pub mod tokio_tun_relay {
    use std::sync::Arc;

    use super::{die, start, write_error_is_transient, BUF_LEN};
    use tokio_tun::Tun;

    async fn pump(from: Arc<Tun>, to: Arc<Tun>) {
        let mut buf = vec![0u8; BUF_LEN];
        loop {
            let n = from.recv(&mut buf).await.unwrap_or_else(|e| die("recv", e));
            if let Err(e) = to.send(&buf[..n]).await {
                if !write_error_is_transient(&e) {
                    die("send", e);
                }
            }
        }
    }

    fn open(name: &str) -> Arc<Tun> {
        let mut v = Tun::builder()
            .name(name)
            .build()
            .unwrap_or_else(|e| die("open", e));
        Arc::new(v.pop().unwrap_or_else(|| die("open", "no queue")))
    }

    /// Relays both ways until SIGTERM, both directions spawned as tasks of `runtime`.
    pub fn run(runtime: tokio::runtime::Runtime) {
        let (a, b) = start();
        runtime.block_on(async {
            let (a, b) = (open(&a), open(&b));
            let forward = tokio::spawn(pump(a.clone(), b.clone()));
            let backward = tokio::spawn(pump(b, a));
            let _ = tokio::join!(forward, backward);
        });
    }
}

/// What every batch relay does with each packet between `recv_batch` and `send_batch`: look at
/// it (its length and IP version, as a router or firewall would), so no variant forwards blind.
pub fn look(batch: &tun_core::PacketBatch) -> usize {
    let mut seen = 0usize;
    for packet in batch.iter() {
        seen = seen
            .wrapping_add(packet.len() + usize::from(packet.first().is_some_and(|b| b >> 4 == 6)));
    }
    std::hint::black_box(seen)
}

/// What to do when `send_batch` failed: a transient error (see [`write_error_is_transient`])
/// drops the rest of the batch, as a router drops what it cannot forward; anything else is fatal.
pub fn batch_send_failed(batch: &mut tun_core::PacketBatch, err: std::io::Error) {
    if !write_error_is_transient(&err) {
        die("send_batch", err);
    }
    batch.clear();
}

/// The tun-tokio batch relay (`recv_batch` → [`look`] → `send_batch`, one task per direction on
/// a multi-thread runtime), with offload or without.
pub mod tokio_batch_relay {
    use std::sync::Arc;

    use super::{batch_send_failed, die, look, start};
    use tun_tokio::{PacketBatch, Tun};

    async fn pump(from: Arc<Tun>, to: Arc<Tun>) {
        // One batch per direction, reused: no allocation per packet or per batch.
        let mut batch = PacketBatch::new();
        loop {
            from.recv_batch(&mut batch)
                .await
                .unwrap_or_else(|e| die("recv_batch", e));
            look(&batch);
            if let Err(e) = to.send_batch(&mut batch).await {
                batch_send_failed(&mut batch, e);
            }
        }
    }

    fn open(name: &str, offload: bool) -> Arc<Tun> {
        let mut v = Tun::builder()
            .name(name)
            .offload(offload)
            .build()
            .unwrap_or_else(|e| die("open", e));
        let tun = v.pop().unwrap_or_else(|| die("open", "no queue"));
        if offload && tun.device().offload().is_none() {
            die("open", "offload asked for but not on");
        }
        Arc::new(tun)
    }

    /// Relays both ways until SIGTERM on a multi-thread runtime (default workers).
    pub fn run(offload: bool) {
        let (a, b) = start();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_io()
            .build()
            .unwrap_or_else(|e| die("runtime", e));
        runtime.block_on(async {
            let (a, b) = (open(&a, offload), open(&b, offload));
            let forward = tokio::spawn(pump(a.clone(), b.clone()));
            let backward = tokio::spawn(pump(b, a));
            let _ = tokio::join!(forward, backward);
        });
    }
}
