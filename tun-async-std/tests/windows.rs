//! tun-async-std on Windows (async-std and smol), end to end against the stand-in `wintun.dll`
//! of `testkit/fake-wintun` (a loopback adapter: what is sent comes back), loaded from
//! `TUN_FAKE_WINTUN`; run under Wine by `scripts/wine-test`. A `recv` that finds nothing waits
//! through tun-core's `poll_recv_ready` (the session's read event, a thread-pool wait).
#![cfg(windows)]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::future;
use tun_async_std::Tun;

const SMALL_RING: u32 = 0x20000;
const LIMIT: Duration = Duration::from_secs(5);

/// A `Tun` on the stand-in DLL, or `None` (said loudly) when it was not built.
fn tun(name: &str) -> Option<Arc<Tun>> {
    let Some(path) = std::env::var_os("TUN_FAKE_WINTUN") else {
        println!("*** SKIPPED: TUN_FAKE_WINTUN is not set (scripts/wine-test builds and sets it)");
        return None;
    };
    let tun = Tun::builder()
        .name(name)
        .wintun_path(path)
        .ring_capacity(SMALL_RING)
        .up()
        .build()
        .unwrap()
        .pop()
        .unwrap();
    Some(Arc::new(tun))
}

fn packet(seq: u16, len: usize) -> Vec<u8> {
    let mut packet = vec![0x45; len];
    packet[1..3].copy_from_slice(&seq.to_be_bytes());
    packet
}

/// `fut`, or a panic after [`LIMIT`].
async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    future::or(fut, async {
        async_io::Timer::after(LIMIT).await;
        panic!("{what} did not finish within {LIMIT:?}")
    })
    .await
}

#[test]
fn async_std_a_waiting_recv_is_woken_by_the_read_event() {
    let Some(tun) = tun("asyncstd0") else { return };
    async_std::task::block_on(async {
        let reader = {
            let tun = Arc::clone(&tun);
            async_std::task::spawn(async move {
                let mut buf = vec![0; 2000];
                let n = tun.recv(&mut buf).await.unwrap();
                buf.truncate(n);
                buf
            })
        };
        async_io::Timer::after(Duration::from_millis(50)).await;
        tun.send(&packet(1, 600)).await.unwrap();
        assert_eq!(bounded("the waiting recv", reader).await, packet(1, 600));
    });
}

#[test]
fn smol_a_waiting_recv_is_woken_and_recv_is_cancel_safe() {
    let Some(tun) = tun("smol0") else { return };
    smol::block_on(async {
        let mut buf = vec![0; 2000];
        for _ in 0..5 {
            let cancelled = future::or(async { Some(tun.recv(&mut buf).await) }, async {
                async_io::Timer::after(Duration::from_millis(10)).await;
                None
            })
            .await;
            assert!(cancelled.is_none(), "recv returned without a packet");
        }
        let reader = {
            let tun = Arc::clone(&tun);
            smol::spawn(async move {
                let mut buf = vec![0; 2000];
                let n = tun.recv(&mut buf).await.unwrap();
                buf.truncate(n);
                buf
            })
        };
        async_io::Timer::after(Duration::from_millis(50)).await;
        tun.send(&packet(2, 90)).await.unwrap();
        assert_eq!(bounded("the waiting recv", reader).await, packet(2, 90));
        assert_eq!(
            tun.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    });
}

#[test]
fn async_std_a_send_on_a_full_ring_waits_for_room() {
    let Some(tun) = tun("asyncstd1") else { return };
    async_std::task::block_on(async {
        let mut sent = 0u16;
        while tun.try_send(&packet(sent, 1500)).is_ok() {
            sent += 1;
        }
        let writer = {
            let tun = Arc::clone(&tun);
            async_std::task::spawn(async move { tun.send(&packet(sent, 1500)).await })
        };
        async_io::Timer::after(Duration::from_millis(20)).await;
        let mut buf = vec![0; 2000];
        tun.recv(&mut buf).await.unwrap();
        bounded("send on a full ring", writer).await.unwrap();
        for seq in 1..=sent {
            assert_eq!(tun.recv(&mut buf).await.unwrap(), 1500);
            assert_eq!(buf[1..3], seq.to_be_bytes());
        }
    });
}
