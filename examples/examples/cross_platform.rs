//! One program for every platform the workspace supports: it uses only settings that exist
//! everywhere (no multi-queue, persistence or owner, which are Linux-only), so it compiles
//! unchanged for every target CI checks and runs wherever TUN devices are supported.
//!
//! `sudo -E $(which cargo) run --example cross_platform`, then ping 10.0.0.2 from another
//! shell. With `TUN_EXAMPLE_PACKETS=N` it exits after N packets.
//!
//! The empty name lets every kernel choose (`tun0` on Linux and FreeBSD, `utun4` on macOS,
//! whose only names are `utunN`). On macOS the device is a utun, a point-to-point interface:
//! an address alone would give it a route to that address only, and the ping to 10.0.0.2
//! would go to the default route instead. The crate therefore adds the route of the whole
//! network (10.0.0.0/24 through the utun) with a `PF_ROUTE` message when it adds the address,
//! without running `route` or `ifconfig`, and the kernel removes it with the device; so the
//! ping arrives here on macOS as on Linux. (On iOS a packet tunnel provider does not build a
//! device: it adopts the system's with `Device::from_system_tunnel`.)

use std::net::Ipv4Addr;

use tun_tokio::Tun;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tun = Tun::builder()
        .name("")
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
