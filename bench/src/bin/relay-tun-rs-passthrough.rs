//! tun-rs 2.x with offload, super-packets forwarded unsplit: `recv` hands over the virtio header
//! and up to 64 KiB of TCP/UDP, `send` writes exactly that into the other device, which segments
//! it (or passes it on whole) itself. Nothing can look at individual packets this way, so it is
//! not a usable relay but the practical ceiling of one: one syscall per super-packet each way.
//! One task per direction, multi-thread runtime (default workers).

use std::sync::Arc;
use tun_relay_bench::{die, start, write_error_is_transient};
use tun_rs::{AsyncDevice, DeviceBuilder, VIRTIO_NET_HDR_LEN};

async fn pump(from: Arc<AsyncDevice>, to: Arc<AsyncDevice>) {
    let mut buf = vec![0u8; VIRTIO_NET_HDR_LEN + 65535];
    loop {
        let n = from.recv(&mut buf).await.unwrap_or_else(|e| die("recv", e));
        if let Err(e) = to.send(&buf[..n]).await {
            if !write_error_is_transient(&e) {
                die("send", e);
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
