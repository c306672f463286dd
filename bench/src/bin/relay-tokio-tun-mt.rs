//! tokio-tun 0.16 on a multi-thread tokio runtime (default worker count), one task per
//! direction: the peer in the shape of `relay-tokio-mt`.

use tun_relay_bench::{die, tokio_tun_relay};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .build()
        .unwrap_or_else(|e| die("runtime", e));
    tokio_tun_relay::run(runtime);
}
