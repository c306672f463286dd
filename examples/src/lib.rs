//! Runnable examples of the workspace live in `examples/examples/`; run one with
//! `cargo run --example NAME` (most need root: creating a device needs `CAP_NET_ADMIN`).
//!
//! | example | what it shows |
//! | --- | --- |
//! | `demo` | a TUN device answering ping in userspace, proven by pinging through it |
//! | `sync_udp` | `tun-core` alone: blocking I/O, IPv4 and IPv6 packets exchanged with UDP sockets |
//! | `read` | the classic tokio-tun program, ported: a TAP device, a writer task, a read loop |
//! | `read-mq` | several queues of one device read with `tokio::select!` |
//! | `cross_platform` | one program for every supported platform |
//! | `async_std_read`, `async_std_read_mq`, `smol_read` | the same on async-std and smol |
//! | `both_runtimes` | `tun-tokio` and `tun-async-std` in one program |
//! | `port_tun_rs`, `port_rust_tun` | the README programs of tun-rs and tun 0.8, ported (`docs/migration.md`) |
//! | `tunnel` | a point-to-point VPN: TUN + UDP, XChaCha20-Poly1305 with a pre-shared key, replay window; `scripts/tunnel-test` runs two endpoints between two namespaces |
//! | `tcp_verify` | the tunnel test's traffic: a TCP stream verified byte for byte |

/// The workspace README's code blocks, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
