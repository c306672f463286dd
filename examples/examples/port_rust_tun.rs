//! The README program of tun 0.8 (rust-tun), ported to `tun-core` (docs/migration.md): a TUN
//! device with a point-to-point IPv4 address, read with `std::io::Read` (one `read`, one
//! packet).
//!
//! Run it as root: `sudo -E $(which cargo) run --example port_rust_tun`, then `ping 10.0.0.1`
//! (in a network namespace of your own: see the README). With `TUN_EXAMPLE_PACKETS=N` it exits
//! after N packets.
//!
//! Linux and Android only (the peer address is a Linux/BSD ioctl); elsewhere it says so.

#[cfg(any(target_os = "linux", target_os = "android"))]
fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
    use std::io::Read;
    use std::net::Ipv4Addr;

    // rust-tun: config.address((10, 0, 0, 9)).netmask((255, 255, 255, 0))
    //           .destination((10, 0, 0, 1)).up(); tun::create(&config)?
    let mut dev = tun_core::Device::builder()
        .address(Ipv4Addr::new(10, 0, 0, 9))
        .netmask(Ipv4Addr::new(255, 255, 255, 0)) // or .ipv4(address, 24) in one call
        .destination(Ipv4Addr::new(10, 0, 0, 1))
        .up()
        .build()?
        .remove(0);
    println!("TUN device created: {}", dev.name());

    let limit = std::env::var("TUN_EXAMPLE_PACKETS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    let mut buf = [0; 4096];
    for _ in 0..limit {
        let amount = dev.read(&mut buf)?;
        println!("{:?}", &buf[0..amount]);
    }
    Ok(())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    Err("this example needs Linux or Android (a point-to-point IPv4 address)".into())
}
