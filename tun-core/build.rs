//! Which capability exists on which target, declared once.
//!
//! Each row below becomes a `cfg` the crate's code names instead of a list of `target_os`
//! values (the idea of mio's `cfg_os_poll!`), so adding a platform means changing this table and
//! adding its `sys/` module, not editing `cfg`s across the crate. Outside `sys/` and this file,
//! no code names a `target_os`.

use std::env;

fn main() {
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let family = env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    let linux = os == "linux" || os == "android";
    let unix = family.split(',').any(|f| f == "unix");
    let freebsd = os == "freebsd";
    // The BSD layer (address ioctls, flags, MTU, getifaddrs, the address-family header) is
    // shared by FreeBSD and, later, macOS.
    let bsd = freebsd;

    let capabilities: &[(&str, bool, &str)] = &[
        (
            "tun_linux",
            linux,
            "the Linux TUN/TAP driver (/dev/net/tun): Linux and Android",
        ),
        (
            "tun_freebsd",
            freebsd,
            "FreeBSD's if_tuntap driver (SIOCIFCREATE2, /dev/tunN and /dev/tapN)",
        ),
        (
            "tun_bsd",
            bsd,
            "the BSD layer shared by the BSD-derived platforms (sys/bsd/)",
        ),
        (
            "tun_fd",
            unix,
            "a device is a pollable fd (AsFd, mio); elsewhere it offers poll_*_ready",
        ),
        (
            "tun_multi_queue",
            linux,
            "several queues per device, added, attached and detached at run time",
        ),
        (
            "tun_persist",
            linux || freebsd,
            "devices that outlive their last queue",
        ),
        (
            "tun_owner_group",
            linux,
            "a user or group allowed to attach without privileges",
        ),
        (
            "tun_packet_info",
            linux || freebsd,
            "a 4-byte header in front of every packet, on request (Linux: flags and EtherType; \
             FreeBSD: the address family of a TUN packet)",
        ),
        ("tun_txqueuelen", linux, "the transmit queue length setting"),
        (
            "tun_offload",
            linux,
            "segmentation and checksum offload: super-packets split on receive, coalesced on send",
        ),
        ("tun_from_fd", linux, "adopting a queue fd opened elsewhere"),
        (
            "tun_destination_broadcast",
            linux,
            "a primary IPv4 address with peer and broadcast addresses (SIOC*IF* ioctls)",
        ),
    ];
    for (name, enabled, _meaning) in capabilities {
        println!("cargo::rustc-check-cfg=cfg({name})");
        if *enabled {
            println!("cargo::rustc-cfg={name}");
        }
    }
    println!("cargo::rerun-if-changed=build.rs");
}
