//! tun-tokio without offload, through the batch API: `recv_batch` (every packet waiting, up to
//! the batch) → look at each packet → `send_batch`, one task per direction, multi-thread runtime.

fn main() {
    tun_relay_bench::tokio_batch_relay::run(false);
}
