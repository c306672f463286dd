//! One program for every platform the workspace supports: it uses only settings that exist
//! everywhere (no multi-queue, persistence or owner, which are Linux-only), so it compiles
//! unchanged for every target CI checks and runs wherever TUN devices are supported.
//!
//! `sudo -E $(which cargo) run --example cross_platform`, then ping 10.0.0.2 from another
//! shell. With `TUN_EXAMPLE_PACKETS=N` it exits after N packets.

use std::net::Ipv4Addr;

use tun_tokio::Tun;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tun = Tun::builder()
        .ipv4(Ipv4Addr::new(10, 0, 0, 1), 24)
        .mtu(1400)
        .up()
        .build()?
        .pop()
        .ok_or("the build returned no queue")?;
    let device = tun.device();
    println!("{} is up with MTU {}", tun.name(), device.mtu()?);
    for address in device.addresses()? {
        println!("  address {address}");
    }

    let limit: usize = std::env::var("TUN_EXAMPLE_PACKETS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    let mut buf = vec![0u8; device.max_packet_len()?];
    for _ in 0..limit {
        let n = tun.recv(&mut buf).await?;
        let version = buf.first().map_or(0, |byte| byte >> 4);
        println!("IPv{version} packet, {n} bytes");
    }
    Ok(())
}
