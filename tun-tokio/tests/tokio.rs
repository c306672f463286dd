//! tokio-only behaviour (the behaviour both adapters share is in `suite.rs`): the seed program,
//! `build()` outside a runtime, `tokio::io::split` of an owned `Tun`. Real devices, each test in
//! its own network namespace.
// Real devices in Linux network namespaces: Unix only (Windows has tests/windows.rs).
#![cfg(unix)]
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tun_testkit::{bind_udp, in_netns, links, packets, TIMEOUT};
use tun_tokio::Tun;

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The program from the issue (tokio-tun's README), as a test: it must compile and work.
#[test]
fn seed_program() {
    in_netns(|| {
        multi_thread().block_on(async {
            let tun = Arc::new(
                Tun::builder()
                    .name("") // empty: the kernel picks the name
                    .tap() // TAP instead of TUN (the default)
                    .packet_info() // keep the packet information header (clears IFF_NO_PI)
                    .up() // bring the link up
                    .build() // Result<Vec<Tun>>: one Tun per queue
                    .unwrap()
                    .pop()
                    .unwrap(),
            );
            println!("tun created, name: {}, fd: {}", tun.name(), tun.as_raw_fd());
            assert_eq!(tun.name(), "tap0");
            let writer = tun.clone();
            let written = tokio::spawn(async move { writer.send_all(b"data to be written").await });
            let mut buf = [0u8; 1024];
            // A TAP link that comes up sends IPv6 neighbour discovery and MLD frames.
            let n = timeout(TIMEOUT, tun.recv(&mut buf))
                .await
                .expect("no frame from the kernel")
                .unwrap();
            assert!(
                n > 4 + 14,
                "a frame with its packet information header: {n} bytes"
            );
            assert_eq!(
                &buf[2..4],
                &[0x86, 0xdd],
                "EtherType in the packet information"
            );
            written.await.unwrap().unwrap();
        });
    });
}

#[test]
fn build_outside_a_runtime_is_an_error_and_leaves_nothing() {
    in_netns(|| {
        let err = Tun::builder().name("nort0").build().unwrap_err();
        assert!(err.to_string().contains("tokio runtime"), "{err}");
        assert_eq!(err.device(), Some("nort0"));
        assert_eq!(links(), ["lo"], "the device of the failed build is gone");
        // A persistent build that fails is not left persistent either.
        assert!(Tun::builder().name("nort1").persist().build().is_err());
        assert_eq!(links(), ["lo"], "a failed persistent build left its device");
    });
}

#[test]
fn split_owned_tun_keeps_packet_boundaries() {
    in_netns(|| {
        current_thread().block_on(async {
            let tun = Tun::builder()
                .ipv4(Ipv4Addr::new(10, 20, 0, 1), 24)
                .up()
                .build()
                .unwrap()
                .pop()
                .unwrap();
            let (mut reader, mut writer) = tokio::io::split(tun);
            let socket = bind_udp(Ipv4Addr::new(10, 20, 0, 1).into());
            let local = socket.local_addr().unwrap();
            let peer: SocketAddr = "10.20.0.2:9".parse().unwrap();

            // Two datagrams sent are two reads.
            socket.send_to(b"one", peer).unwrap();
            socket.send_to(b"two", peer).unwrap();
            let mut payloads = Vec::new();
            let mut buf = [0u8; 2048];
            while payloads.len() < 2 {
                let n = timeout(TIMEOUT, reader.read(&mut buf))
                    .await
                    .expect("a packet")
                    .unwrap();
                if let Some(udp) = packets::parse_udp_ip(&buf[..n]) {
                    assert_eq!(n, 20 + 8 + 3, "one read is exactly one packet");
                    payloads.push(udp.payload);
                }
            }
            assert_eq!(payloads, [b"one".to_vec(), b"two".to_vec()]);

            // Two writes are two datagrams, never merged.
            let first = packets::udp_ip(peer, local, b"first reply");
            let second = packets::udp_ip(peer, local, b"second reply");
            assert_eq!(writer.write(&first).await.unwrap(), first.len());
            assert_eq!(writer.write(&second).await.unwrap(), second.len());
            writer.flush().await.unwrap();
            let mut buf = [0u8; 64];
            let n = socket.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"first reply");
            let n = socket.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"second reply");
            writer.shutdown().await.unwrap();
        });
    });
}

#[test]
fn run_time_settings_through_the_adapter() {
    in_netns(|| {
        current_thread().block_on(async {
            let tun = Tun::builder().name("set0").build().unwrap().pop().unwrap();
            let device = tun.device();
            device.set_mtu(1300).unwrap();
            device.set_ipv4(Ipv4Addr::new(10, 21, 0, 1), 24).unwrap();
            device.set_up(true).unwrap();
            assert_eq!(device.mtu().unwrap(), 1300);
            assert!(device.is_up().unwrap());
            // The getters ported programs call on the Tun itself (tokio-tun had them there).
            assert_eq!(tun.mtu().unwrap(), 1300);
            assert_eq!(tun.index().unwrap(), device.index().unwrap());
            assert_eq!(
                tun.max_packet_len().unwrap(),
                device.max_packet_len().unwrap()
            );
            // Everything of tun-core is reachable through the adapter alone.
            assert_eq!(tun_tokio::PACKET_INFO_LEN, tun_core::PACKET_INFO_LEN);
            assert_eq!(tun_tokio::MAX_MTU, tun_core::MAX_MTU);
            assert_eq!(tun_tokio::MAX_QUEUES, tun_core::MAX_QUEUES);
            assert_eq!(device.address().unwrap(), Some(Ipv4Addr::new(10, 21, 0, 1)));
            assert_eq!(
                std::os::fd::AsRawFd::as_raw_fd(device),
                tun.as_raw_fd(),
                "no second fd"
            );
            // into_device hands the queue back, still usable.
            let device = tun.into_device().unwrap();
            assert_eq!(device.name(), "set0");
        });
    });
}
