//! tun-tokio on a multi-thread tokio runtime (default worker count), one task per direction.

use tun_relay_bench::{die, tokio_relay};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .build()
        .unwrap_or_else(|e| die("runtime", e));
    tokio_relay::run(runtime);
}
