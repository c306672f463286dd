//! The README's programs, unchanged, in one example: the README's code blocks are doctests of
//! `tun-tokio`, which CI runs on Linux only, while the examples are also linted for every cross
//! target (`cargo clippy -p examples --examples --target ...`). This file is how CI knows that
//! the README's programs compile on FreeBSD too.
//!
//! `cargo run --example readme` runs the tokio program (root needed): a TAP device with packet
//! information, which FreeBSD refuses at run time (its TAP driver has no such header).
//! `readme sync` and `readme async-std` run the others.
//!
//! Linux, Android and FreeBSD only (packet information, `Builder::packet_info`, exists there);
//! elsewhere it says so and exits.

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
/// The tokio program (README "Using it from tokio"), with `main` made public.
mod tokio_program {
    use std::sync::Arc;
    use tun_tokio::Tun;

    #[tokio::main]
    pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
        let tun = Arc::new(
            Tun::builder()
                .name("") // empty: the kernel picks the name
                .tap() // TAP instead of TUN (the default)
                .packet_info() // keep the packet information header (clears IFF_NO_PI)
                .up() // bring the link up
                .build()? // Result<Vec<Tun>>: one Tun per queue
                .pop()
                .unwrap(),
        );
        println!("tun created, name: {}, fd: {}", tun.name(), tun.as_raw_fd());
        let writer = tun.clone();
        tokio::spawn(async move { writer.send_all(b"data to be written").await });
        let mut buf = [0u8; 1024];
        let n = tun.recv(&mut buf).await?;
        println!("read a {n}-byte frame");
        Ok(())
    }
}

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
/// The same program on async-std, as the README says: `tun_async_std::Tun` in place of
/// `tun_tokio::Tun` (and async-std's runtime in place of tokio's).
mod async_std_program {
    use std::sync::Arc;
    use tun_async_std::Tun;

    pub fn main() -> Result<(), Box<dyn std::error::Error>> {
        async_std::task::block_on(async {
            let tun = Arc::new(
                Tun::builder()
                    .name("") // empty: the kernel picks the name
                    .tap() // TAP instead of TUN (the default)
                    .packet_info() // keep the packet information header (clears IFF_NO_PI)
                    .up() // bring the link up
                    .build()? // Result<Vec<Tun>>: one Tun per queue
                    .pop()
                    .unwrap(),
            );
            println!("tun created, name: {}, fd: {}", tun.name(), tun.as_raw_fd());
            let writer = tun.clone();
            async_std::task::spawn(async move { writer.send_all(b"data to be written").await });
            let mut buf = [0u8; 1024];
            let n = tun.recv(&mut buf).await?;
            println!("read a {n}-byte frame");
            Ok(())
        })
    }
}

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
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

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    match std::env::args().nth(1).as_deref() {
        Some("sync") => sync_program::main(),
        Some("async-std") => async_std_program::main(),
        _ => tokio_program::main(),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn main() {
    eprintln!("the README's programs use packet information: Linux, Android and FreeBSD only");
}
