//! Several queues of one multi-queue TUN device, read concurrently on async-std: one task per
//! queue (async-std runs them on several threads), reporting to the main task over a channel.
//!
//! `sudo -E $(which cargo) run --example async_std_read_mq`. The device gets 10.0.0.1/24; the
//! example sends UDP datagrams from several source ports to 10.0.0.2 so that the kernel spreads
//! the flows over the queues, and prints which queue received each packet. Ping 10.0.0.2 from
//! another shell to add your own traffic. With `TUN_EXAMPLE_PACKETS=N` it exits after N packets.
//!
//! Linux and Android only (a multi-queue device); elsewhere it says so and exits.

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {
    use std::net::{Ipv4Addr, UdpSocket};

    use async_std::channel;
    use tun_async_std::Tun;

    const QUEUES: usize = 3;

    pub fn main() -> Result<(), Box<dyn std::error::Error>> {
        async_std::task::block_on(async {
            let queues = Tun::builder()
                .name("mq%d")
                .queues(QUEUES)
                .ipv4(Ipv4Addr::new(10, 0, 0, 1), 24)
                .up()
                .build()?;
            let name = queues
                .first()
                .map(|q| q.name().to_owned())
                .unwrap_or_default();
            println!("{name} created with {QUEUES} queues; try `ping 10.0.0.2`");

            // Eight flows: the kernel hashes each to one queue.
            for _ in 0..8 {
                let socket = UdpSocket::bind((Ipv4Addr::new(10, 0, 0, 1), 0))?;
                socket.send_to(b"hello queue", (Ipv4Addr::new(10, 0, 0, 2), 9))?;
            }

            let (report, reports) = channel::unbounded();
            for (queue, tun) in queues.into_iter().enumerate() {
                let report = report.clone();
                async_std::task::spawn(async move {
                    let mut buf = [0u8; 1500];
                    loop {
                        let result = tun.recv(&mut buf).await;
                        let failed = result.is_err();
                        if report.send((queue, result)).await.is_err() || failed {
                            return; // main is done, or this queue failed
                        }
                    }
                });
            }

            for _ in 0..packet_limit() {
                let (queue, result) = reports.recv().await?;
                println!("queue {queue}: {} bytes", result?);
            }
            Ok(())
        })
    }

    /// `TUN_EXAMPLE_PACKETS`, or no limit.
    fn packet_limit() -> usize {
        std::env::var("TUN_EXAMPLE_PACKETS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(usize::MAX)
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    linux::main()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    Err("this example needs Linux or Android (a multi-queue device)".into())
}
