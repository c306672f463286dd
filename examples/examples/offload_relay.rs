//! A relay between two TUN devices with offload and the batch API, on tokio: one task per
//! direction, `recv_batch` → look at each packet → `send_batch`. This is the shape of a VPN's
//! or a router's data path, and the fastest one the crate offers: the kernel hands over 64 KiB
//! TCP (and UDP) super-packets, `recv_batch` splits them into ordinary packets, and `send_batch`
//! coalesces them again into super-packets, written with one `writev` each.
//!
//! ```text
//! offload_relay NAME_A NAME_B [SECONDS]
//! ```
//! Creates TUN devices NAME_A and NAME_B (offload on), prints `ready`, and relays packets both
//! ways for SECONDS (default: until killed), then prints what it relayed. Give the devices
//! addresses in separate namespaces to route through it; `scripts/offload-relay-test` does that
//! and sends 32 MiB of TCP through it, checked byte for byte. Linux (and Android) only: elsewhere
//! there is no offload, and it says so.

#[cfg(any(target_os = "linux", target_os = "android"))]
mod relay {
    use std::error::Error;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use tun_tokio::{PacketBatch, Tun};

    /// What one direction relayed.
    #[derive(Default)]
    struct Counters {
        packets: AtomicU64,
        bytes: AtomicU64,
        batches: AtomicU64,
        ipv6: AtomicU64,
    }

    async fn pump(from: Arc<Tun>, to: Arc<Tun>, counters: Arc<Counters>) -> std::io::Result<()> {
        // One batch per direction, reused: no allocation per packet or per batch.
        let mut batch = PacketBatch::new();
        loop {
            from.recv_batch(&mut batch).await?;
            counters.batches.fetch_add(1, Ordering::Relaxed);
            // Look at every packet: each is one whole IP packet, at most MTU-sized, however
            // large the super-packet it came in was. A firewall would `batch.retain(...)` here,
            // a NAT would rewrite addresses through `batch.iter_mut()`.
            for packet in batch.iter() {
                counters.packets.fetch_add(1, Ordering::Relaxed);
                counters
                    .bytes
                    .fetch_add(packet.len() as u64, Ordering::Relaxed);
                if packet.first().is_some_and(|byte| byte >> 4 == 6) {
                    counters.ipv6.fetch_add(1, Ordering::Relaxed);
                }
            }
            // Cancel safe and retry safe: progress is kept in the batch.
            match to.send_batch(&mut batch).await {
                Ok(_) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(err),
                // A packet the kernel refuses (the device is down, say) is dropped, as a router
                // drops what it cannot forward; the rest of the batch is dropped with it.
                Err(_) => batch.clear(),
            }
        }
    }

    fn open(name: &str) -> Result<Arc<Tun>, Box<dyn Error>> {
        let tun = Tun::builder().name(name).offload(true).build()?.remove(0);
        let offload = tun.device().offload().ok_or("no offload")?;
        println!(
            "{}: offload with TCP segmentation {}, UDP segmentation {}",
            tun.name(),
            offload.tcp,
            offload.udp
        );
        Ok(Arc::new(tun))
    }

    fn report(direction: &str, counters: &Counters) {
        let packets = counters.packets.load(Ordering::Relaxed);
        let batches = counters.batches.load(Ordering::Relaxed).max(1);
        println!(
            "{direction}: {packets} packets ({} IPv6), {} bytes, {:.1} packets per batch",
            counters.ipv6.load(Ordering::Relaxed),
            counters.bytes.load(Ordering::Relaxed),
            packets as f64 / batches as f64
        );
    }

    pub fn main() -> Result<(), Box<dyn Error>> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let (a, b, seconds) = match args.as_slice() {
            [a, b] => (a.clone(), b.clone(), None),
            [a, b, seconds] => (a.clone(), b.clone(), Some(seconds.parse::<u64>()?)),
            _ => return Err("usage: offload_relay NAME_A NAME_B [SECONDS]".into()),
        };
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(async {
            let (a, b) = (open(&a)?, open(&b)?);
            let (forward, backward) = (Arc::default(), Arc::default());
            let a_to_b = tokio::spawn(pump(a.clone(), b.clone(), Arc::clone(&forward)));
            let b_to_a = tokio::spawn(pump(b, a, Arc::clone(&backward)));
            println!("ready");
            match seconds {
                Some(seconds) => tokio::time::sleep(Duration::from_secs(seconds)).await,
                None => std::future::pending().await,
            }
            a_to_b.abort();
            b_to_a.abort();
            report("A -> B", &forward);
            report("B -> A", &backward);
            Ok(())
        })
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    relay::main()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn main() {
    eprintln!("offload_relay: offload (IFF_VNET_HDR) exists on Linux and Android only");
}
