//! tun-rs 2.x with offload (its wireguard-go port): `recv_multiple` (super-packets split into
//! MTU-sized packets) → look at each packet → `send_multiple` (coalesced again through its
//! `GROTable`), one task per direction, multi-thread runtime (default workers): the shape of
//! `relay-tokio-offload`.

use std::sync::Arc;
use tun_relay_bench::{die, start, write_error_is_transient};
use tun_rs::{AsyncDevice, DeviceBuilder, GROTable, IDEAL_BATCH_SIZE, VIRTIO_NET_HDR_LEN};

/// Room for one packet after the virtio header that `send_multiple` writes in front of it: the
/// devices' MTU is the default 1500.
const PACKET_ROOM: usize = VIRTIO_NET_HDR_LEN + 1500;

async fn pump(from: Arc<AsyncDevice>, to: Arc<AsyncDevice>) {
    // Allocated once.
    let mut original = vec![0u8; VIRTIO_NET_HDR_LEN + 65535];
    // Each buffer with the capacity of a whole super-packet: `send_multiple` coalesces a flow
    // into its first buffer only if that needs no reallocation (as wireguard-go's buffers).
    let mut bufs: Vec<Vec<u8>> = (0..IDEAL_BATCH_SIZE)
        .map(|_| {
            let mut buf = Vec::with_capacity(2 * VIRTIO_NET_HDR_LEN + 65535);
            buf.resize(PACKET_ROOM, 0);
            buf
        })
        .collect();
    let mut sizes = vec![0usize; IDEAL_BATCH_SIZE];
    let mut gro = GROTable::default();
    let mut used = 0;
    loop {
        for buf in bufs.iter_mut().take(used) {
            // `send_multiple` sends each buffer whole from the offset: packets are cut to their
            // length below and given their room back here (no reallocation).
            buf.resize(PACKET_ROOM, 0);
        }
        let n = from
            .recv_multiple(&mut original, &mut bufs, &mut sizes, VIRTIO_NET_HDR_LEN)
            .await
            .unwrap_or_else(|e| die("recv_multiple", e));
        used = n;
        let mut seen = 0usize;
        for (buf, &size) in bufs.iter_mut().zip(&sizes).take(n) {
            buf.truncate(VIRTIO_NET_HDR_LEN + size);
            let packet = &buf[VIRTIO_NET_HDR_LEN..];
            seen = seen.wrapping_add(
                packet.len() + usize::from(packet.first().is_some_and(|b| b >> 4 == 6)),
            );
        }
        std::hint::black_box(seen);
        if let Err(e) = to
            .send_multiple(&mut gro, &mut bufs[..n], VIRTIO_NET_HDR_LEN)
            .await
        {
            if !write_error_is_transient(&e) {
                die("send_multiple", e);
            }
        }
    }
}

fn open(name: &str) -> Arc<AsyncDevice> {
    let dev = DeviceBuilder::new()
        .name(name)
        .offload(true)
        .packet_information(false)
        .enable(false)
        .build_async()
        .unwrap_or_else(|e| die("open", e));
    Arc::new(dev)
}

fn main() {
    let (a, b) = start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .build()
        .unwrap_or_else(|e| die("runtime", e));
    rt.block_on(async {
        let (a, b) = (open(&a), open(&b));
        let forward = tokio::spawn(pump(a.clone(), b.clone()));
        let backward = tokio::spawn(pump(b, a));
        let _ = tokio::join!(forward, backward);
    });
}
