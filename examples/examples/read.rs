//! The classic tokio-tun program (the README of tokio-tun 0.16), ported name for name and
//! corrected so that it compiles: a TAP device with the packet information header, a writer
//! task that writes a packet every second, and a read loop that prints every packet the kernel
//! sends to the device. docs/migration.md lists what changed.
//!
//! Run it as root (creating a device needs CAP_NET_ADMIN):
//! `sudo -E $(which cargo) run --example read`, then in another shell
//! `sudo ip a add 10.0.0.1/24 dev <tun-name>` and `ping 10.0.0.2`, or watch the device with
//! `ip tuntap` and `tshark -i <tun-name>`.
//!
//! With `TUN_EXAMPLE_PACKETS=N` it exits after reading N packets.
//!
//! Linux and Android only (a TAP device with packet information); elsewhere it says so and exits.

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {
    use std::sync::Arc;
    use std::time::Duration;

    use tun_tokio::Tun;

    #[tokio::main]
    pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
        let tun = Arc::new(
            Tun::builder()
                .name("") // empty: the kernel picks the name
                .tap() // TAP instead of TUN (the default)
                .packet_info() // keep the packet information header (clears IFF_NO_PI)
                .up() // bring the link up
                .close_on_exec(true) // tokio-tun: .close_on_exec() (or .no_close_on_exec())
                .build()? // Result<Vec<Tun>>: one Tun per queue
                .pop()
                .ok_or("the build returned no queue")?,
        );
        println!(
            "tun created, name: {}, index: {}, fd: {}",
            tun.name(),
            tun.index()?,
            tun.as_raw_fd()
        );

        // The writer shares the device through the Arc (the original moved the Arc into
        // `tokio::io::split` and then used it: that does not compile). Every write is one packet.
        let writer = Arc::clone(&tun);
        tokio::spawn(async move {
            loop {
                if let Err(err) = writer.send_all(b"data to be written").await {
                    eprintln!("write failed: {err}");
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });

        let limit = packet_limit();
        let mut buf = [0u8; 1024];
        for _ in 0..limit {
            let n = tun.recv(&mut buf).await?;
            println!("reading {} bytes: {:?}", n, &buf[..n]);
        }
        Ok(())
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
    Err("this example needs Linux or Android (a TAP device with packet information)".into())
}
