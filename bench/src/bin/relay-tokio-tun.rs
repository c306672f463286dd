//! tokio-tun 0.16 on a current-thread tokio runtime, one task per direction.

use tun_relay_bench::{die, tokio_tun_relay};

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap_or_else(|e| die("runtime", e));
    tokio_tun_relay::run(runtime);
}
