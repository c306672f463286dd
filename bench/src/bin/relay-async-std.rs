//! tun-async-std, one task per direction.

use std::sync::Arc;
use tun_async_std::Tun;
use tun_relay_bench::{die, start, write_error_is_transient, BUF_LEN};

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

fn main() {
    let (a, b) = start();
    async_std::task::block_on(async {
        let (a, b) = (open(&a), open(&b));
        let t = async_std::task::spawn(pump(a.clone(), b.clone()));
        pump(b, a).await;
        t.await;
    });
}
