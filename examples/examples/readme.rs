//! The README's programs, unchanged, in one example: the README's code blocks are doctests of
//! `examples`, which CI runs on Linux only, while the examples are also linted for every cross
//! target (`cargo clippy -p examples --examples --target ...`). This file is how CI knows that
//! the README's programs compile on FreeBSD, macOS, iOS, Android and Windows too.
//!
//! `cargo run --example readme` runs the tokio program (root, or Administrator with
//! `wintun.dll` on Windows); `readme sync` and `readme async-std` run the others.

/// The tokio program (README "Using it from tokio"), with `main` made public.
mod tokio_program {
    use std::sync::Arc;
    use tun_tokio::Tun;

    #[tokio::main]
    pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
        let tun = Arc::new(
            Tun::builder()
                .name("") // empty: the platform picks the name (tun0, tun1, ...)
                .up() // bring the link up
                .build()? // Result<Vec<Tun>>: one Tun per queue
                .pop()
                .unwrap(),
        );
        println!("tun created, name: {}", tun.name());
        let writer = tun.clone();
        // A bare IPv4 header (10.0.0.1 -> 10.0.0.2): a TUN device carries IP packets.
        let packet = [
            0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 0xfd, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        tokio::spawn(async move { writer.send_all(&packet).await });
        let mut buf = [0u8; 1500];
        let n = tun.recv(&mut buf).await?;
        println!("read a {n}-byte packet");
        Ok(())
    }
}

/// The same program on async-std, as the README says: `tun_async_std::Tun` in place of
/// `tun_tokio::Tun` (and async-std's runtime in place of tokio's).
mod async_std_program {
    use std::sync::Arc;
    use tun_async_std::Tun;

    pub fn main() -> Result<(), Box<dyn std::error::Error>> {
        async_std::task::block_on(async {
            let tun = Arc::new(
                Tun::builder()
                    .name("") // empty: the platform picks the name (tun0, tun1, ...)
                    .up() // bring the link up
                    .build()? // Result<Vec<Tun>>: one Tun per queue
                    .pop()
                    .unwrap(),
            );
            println!("tun created, name: {}", tun.name());
            let writer = tun.clone();
            // A bare IPv4 header (10.0.0.1 -> 10.0.0.2): a TUN device carries IP packets.
            let packet = [
                0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 0xfd, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
            ];
            async_std::task::spawn(async move { writer.send_all(&packet).await });
            let mut buf = [0u8; 1500];
            let n = tun.recv(&mut buf).await?;
            println!("read a {n}-byte packet");
            Ok(())
        })
    }
}

/// The sync program (README, `tun_core::Device`).
mod sync_program {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use tun_core::Device;

    pub fn main() -> Result<(), Box<dyn std::error::Error>> {
        let device = Device::builder()
            .name("tun%d")
            .ipv4(Ipv4Addr::new(10, 0, 0, 1), 24)
            .ipv6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1), 64)
            .mtu(1400)
            .up()
            .build()?
            .remove(0);
        let mut packet = vec![0; device.max_packet_len()?];
        let n = device.recv(&mut packet)?; // blocking; one call = one packet
        device.send(&packet[..n])?;
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    match std::env::args().nth(1).as_deref() {
        Some("sync") => sync_program::main(),
        Some("async-std") => async_std_program::main(),
        _ => tokio_program::main(),
    }
}
