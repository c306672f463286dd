//! Several queues of one multi-queue TUN device, read concurrently with `tokio::select!`.
//!
//! `sudo -E $(which cargo) run --example read-mq`. The device gets 10.0.0.1/24; the example
//! sends UDP datagrams from several source ports to 10.0.0.2 so that the kernel spreads the flows
//! over the queues, and prints which queue received each packet. Ping 10.0.0.2 from another
//! shell to add your own traffic. With `TUN_EXAMPLE_PACKETS=N` it exits after N packets.
//!
//! Linux and Android only (a multi-queue device); elsewhere it says so and exits.

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {
    use std::net::{Ipv4Addr, UdpSocket};

    use tun_tokio::Tun;

    const QUEUES: usize = 3;

    #[tokio::main]
    pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
        let queues = Tun::builder()
            .name("mq%d")
            .queues(QUEUES)
            .ipv4(Ipv4Addr::new(10, 0, 0, 1), 24)
            .up()
            .build()?;
        let [q0, q1, q2] = <[Tun; QUEUES]>::try_from(queues).map_err(|_| "wrong queue count")?;
        println!("{} created with {QUEUES} queues", q0.name());

        // Eight flows: the kernel hashes each to one queue.
        for _ in 0..8 {
            let socket = UdpSocket::bind((Ipv4Addr::new(10, 0, 0, 1), 0))?;
            socket.send_to(b"hello queue", (Ipv4Addr::new(10, 0, 0, 2), 9))?;
        }

        let limit: usize = std::env::var("TUN_EXAMPLE_PACKETS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(usize::MAX);
        let (mut b0, mut b1, mut b2) = ([0u8; 1500], [0u8; 1500], [0u8; 1500]);
        for _ in 0..limit {
            // `recv` is cancel safe: the queues that lose the race lose no packet.
            let (queue, n) = tokio::select! {
                n = q0.recv(&mut b0) => (0, n?),
                n = q1.recv(&mut b1) => (1, n?),
                n = q2.recv(&mut b2) => (2, n?),
            };
            println!("queue {queue}: {n} bytes");
        }
        Ok(())
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
