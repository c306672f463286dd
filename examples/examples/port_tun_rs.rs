//! The README program of tun-rs 2.x, ported to `tun-core` (docs/migration.md): a TUN device
//! with an IPv4 and an IPv6 address and an MTU of 1400, and a blocking loop printing every
//! packet.
//!
//! The one change that is not a rename: tun-rs brings the link up unless told otherwise, and
//! `tun-core` (like tokio-tun and the kernel) leaves it down until `.up()`. Forgetting it
//! compiles, runs, and receives nothing.
//!
//! Run it as root: `sudo -E $(which cargo) run --example port_tun_rs`, then `ping 10.0.0.2`
//! (in a network namespace of your own: see the README). With `TUN_EXAMPLE_PACKETS=N` it exits
//! after N packets.

use std::net::{Ipv4Addr, Ipv6Addr};

use tun_core::Device;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // tun-rs: DeviceBuilder::new().ipv4("10.0.0.1", 24, None).ipv6("CDCD:...", 64).mtu(1400)
    //         .build_sync()?
    let dev = Device::builder()
        .ipv4(Ipv4Addr::new(10, 0, 0, 1), 24)
        .ipv6(
            "CDCD:910A:2222:5498:8475:1111:3900:2021".parse::<Ipv6Addr>()?,
            64,
        )
        .mtu(1400)
        .up() // tun-rs's default; here it is asked for
        .build()? // Vec<Device>, one per queue
        .remove(0);

    println!("TUN device created: {:?}", dev.name());

    let limit = std::env::var("TUN_EXAMPLE_PACKETS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    // tun-rs: [0; 1400]; a buffer of max_packet_len() never truncates.
    let mut buf = vec![0; dev.max_packet_len()?];
    for _ in 0..limit {
        let amount = dev.recv(&mut buf)?;
        println!("Received {} bytes: {:?}", amount, &buf[0..amount]);
    }
    Ok(())
}
