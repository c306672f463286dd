//! tun-tokio on Windows, end to end against the stand-in `wintun.dll` of `testkit/fake-wintun`
//! (a loopback adapter: what is sent comes back), loaded from `TUN_FAKE_WINTUN`; run under Wine
//! by `scripts/wine-test`. A `recv` that finds nothing waits through tun-core's
//! `poll_recv_ready` (the session's read event, a thread-pool wait, the task's waker).
#![cfg(windows)]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::timeout;
use tun_tokio::Tun;

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

#[tokio::test]
async fn a_waiting_recv_is_woken_by_the_read_event() {
    let Some(tun) = tun("tokio0") else { return };
    let reader = {
        let tun = Arc::clone(&tun);
        tokio::spawn(async move {
            let mut buf = vec![0; 2000];
            let n = tun.recv(&mut buf).await.unwrap();
            buf.truncate(n);
            buf
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!reader.is_finished(), "recv returned without a packet");
    tun.send(&packet(1, 600)).await.unwrap();
    let got = timeout(LIMIT, reader)
        .await
        .expect("the waiting recv was not woken")
        .unwrap();
    assert_eq!(got, packet(1, 600));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recv_is_cancel_safe() {
    let Some(tun) = tun("tokio1") else { return };
    let mut buf = vec![0; 2000];
    // Cancelled while waiting, several times: no packet is lost, nothing is left armed wrongly.
    for _ in 0..5 {
        assert!(timeout(Duration::from_millis(10), tun.recv(&mut buf))
            .await
            .is_err());
    }
    tun.send(&packet(2, 80)).await.unwrap();
    let n = timeout(LIMIT, tun.recv(&mut buf)).await.unwrap().unwrap();
    assert_eq!(buf[..n], packet(2, 80)[..]);
    assert_eq!(
        tun.try_recv(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
}

#[tokio::test]
async fn a_send_on_a_full_ring_waits_for_room_without_blocking_the_runtime() {
    let Some(tun) = tun("tokio2") else { return };
    let mut sent = 0u16;
    while tun.try_send(&packet(sent, 1500)).is_ok() {
        sent += 1;
    }
    assert_eq!(
        tun.try_send(&packet(sent, 1500)).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    // `send` retries, yielding to the runtime in between: on this single thread the reader
    // task still runs and makes room.
    let writer = {
        let tun = Arc::clone(&tun);
        tokio::spawn(async move { tun.send(&packet(sent, 1500)).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut buf = vec![0; 2000];
    tun.recv(&mut buf).await.unwrap();
    timeout(LIMIT, writer)
        .await
        .expect("send never found the room")
        .unwrap()
        .unwrap();
    for seq in 1..=sent {
        assert_eq!(tun.recv(&mut buf).await.unwrap(), 1500);
        assert_eq!(buf[1..3], seq.to_be_bytes());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_packets_through_the_readiness_seam() {
    let Some(tun) = tun("tokio3") else { return };
    let reader = {
        let tun = Arc::clone(&tun);
        tokio::spawn(async move {
            let mut buf = vec![0; 2000];
            for seq in 0..1000u16 {
                let n = tun.recv(&mut buf).await.unwrap();
                assert_eq!((n, &buf[1..3]), (100, &seq.to_be_bytes()[..]));
            }
        })
    };
    for seq in 0..1000u16 {
        tun.send(&packet(seq, 100)).await.unwrap();
        if seq % 7 == 0 {
            // Let the reader drain the ring and wait again.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    timeout(Duration::from_secs(30), reader)
        .await
        .expect("the reader stalled")
        .unwrap();
}
