//! tun-tokio with offload (`Builder::offload(true)`): `recv_batch` → look at each packet →
//! `send_batch`, one task per direction, multi-thread runtime (default workers).

fn main() {
    tun_relay_bench::tokio_batch_relay::run(true);
}
