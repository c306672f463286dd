//! tun-async-std with offload: `recv_batch` → look at each packet → `send_batch`, one task per
//! direction.

use std::sync::Arc;
use tun_async_std::{PacketBatch, Tun};
use tun_relay_bench::{batch_send_failed, die, look, start};

async fn pump(from: Arc<Tun>, to: Arc<Tun>) {
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

fn open(name: &str) -> Arc<Tun> {
    let mut v = Tun::builder()
        .name(name)
        .offload(true)
        .build()
        .unwrap_or_else(|e| die("open", e));
    let tun = v.pop().unwrap_or_else(|| die("open", "no queue"));
    if tun.device().offload().is_none() {
        die("open", "offload asked for but not on");
    }
    Arc::new(tun)
}

fn main() {
    let (a, b) = start();
    async_std::task::block_on(async {
        let (a, b) = (open(&a), open(&b));
        let t = async_std::task::spawn(pump(a.clone(), b.clone()));
        pump(b, a).await;
        t.await;
    });
}
