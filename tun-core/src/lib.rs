//! # tun-core
//!
//! Create, configure and use TUN (layer 3, IP packets) and TAP (layer 2, Ethernet frames)
//! virtual network devices: the device layer under `tun-tokio` and `tun-async-std`, usable on its
//! own from synchronous code (blocking, non-blocking, or with [`mio`](https://docs.rs/mio) behind
//! the `mio` feature).
//!
//! ```no_run
//! use std::net::Ipv4Addr;
//! use tun_core::Device;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let device = Device::builder()
//!     .ipv4(Ipv4Addr::new(10, 0, 0, 1), 24)
//!     .up()
//!     .build()?
//!     .remove(0);
//! let mut buf = vec![0; device.max_packet_len()?];
//! let n = device.recv(&mut buf)?; // one IP packet routed to 10.0.0.0/24
//! println!("{}: {n} bytes", device.name());
//! # Ok(()) }
//! ```
//!
//! ## Map of the crate
//! - [`Builder`]: every setting, checked before the first system call; all or nothing (a failed
//!   build closes what it opened and removes the device it made). Generic over what it builds
//!   ([`FromDevice`]), so the async adapters share it.
//! - [`Device`]: one queue. Packet I/O on `&self` (blocking, non-blocking, with a timeout or
//!   interruptible: `Interrupter`, Unix), the run-time getters and setters, `AsFd`/`AsRawFd`/
//!   `IntoRawFd`, `Read`/`Write` with packet semantics, `mio::event::Source` (feature `mio`).
//! - [`PacketBatch`]: many packets per call with [`Device::recv_batch`] and
//!   [`Device::send_batch`], on every platform; on Linux with `Builder::offload`, the kernel's
//!   64 KiB super-packets split on receive and same-flow packets coalesced on send.
//! - [`Error`], [`ErrorKind`], [`Operation`]: what failed, on which device, the OS error, and a
//!   hint; packet I/O returns [`std::io::Error`].
//! - [`Layer`], [`InterfaceAddress`] and the limits ([`MIN_MTU`], [`MAX_MTU`], ...).
//!
//! All system calls and all `unsafe` are in a private platform layer: Linux (and Android) and
//! FreeBSD, on a Unix layer the other Unix platforms will share; every other target compiles and
//! reports [`ErrorKind::Unsupported`]. Items that exist only on some platforms say which in their
//! docs (and carry a badge on docs.rs).
//!
//! ## Common tasks
//! Every example creates a real device, so each needs `CAP_NET_ADMIN` to run. Runnable programs
//! are in the workspace's `examples/` directory (`cargo run --example NAME`): `sync_udp`
//! (this crate alone), `demo` (a device answering ping), `tunnel` (a small VPN), and the async
//! ones.
//!
//! ### A TUN device with an address: read packets and write them
//! ```no_run
//! use std::net::{Ipv4Addr, Ipv6Addr};
//! use tun_core::Device;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let device = Device::builder()
//!     .name("tun%d") // the kernel fills in the number
//!     .ipv4(Ipv4Addr::new(10, 0, 0, 1), 24)
//!     .ipv6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1), 64)
//!     .mtu(1400)
//!     .up() // the link stays down without it
//!     .build()?
//!     .remove(0);
//! let mut buf = vec![0; device.max_packet_len()?]; // never truncates
//! loop {
//!     let n = device.recv(&mut buf)?; // one packet: IPv4 or IPv6, no header before it
//!     let packet = &buf[..n];
//!     match packet.first().map(|byte| byte >> 4) {
//!         Some(4) => println!("IPv4, {n} bytes"),
//!         Some(6) => println!("IPv6, {n} bytes"),
//!         _ => continue,
//!     }
//!     device.send(packet)?; // one packet into the kernel's stack (here: the same one back)
//! }
//! # }
//! ```
//!
//! ### A TAP device: Ethernet frames
//! ```no_run
//! use tun_core::{Device, Layer};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let device = Device::builder()
//!     .tap()
//!     .mac([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]) // locally administered, unicast
//!     .up()
//!     .build()?
//!     .remove(0);
//! assert_eq!(device.layer(), Layer::Tap);
//! let mut frame = vec![0; device.max_packet_len()?]; // MTU + 14 (+ 4 for a VLAN tag)
//! let n = device.recv(&mut frame)?;
//! if n >= 14 {
//!     let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
//!     println!("to {:02x?} from {:02x?}, type {ethertype:#06x}", &frame[0..6], &frame[6..12]);
//! }
//! // A frame sent into the device: destination, source (ours), EtherType, payload.
//! let mut reply = Vec::from([0xff; 6]); // broadcast
//! reply.extend_from_slice(&device.mac()?);
//! reply.extend_from_slice(&[0x88, 0xb5]); // the EtherType for local experiments
//! reply.extend_from_slice(b"hello");
//! device.send(&reply)?;
//! # Ok(()) }
//! ```
//!
//! ### Multi-queue: one thread per queue (Linux, Android)
//! ```no_run
//! use std::net::Ipv4Addr;
//! use tun_core::Device;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let queues = Device::builder()
//!     .ipv4(Ipv4Addr::new(10, 0, 0, 1), 24)
//!     .queues(4) // the kernel spreads flows over the queues
//!     .up()
//!     .build()?; // four Devices, one per queue
//! std::thread::scope(|scope| {
//!     for queue in &queues {
//!         scope.spawn(move || -> std::io::Result<()> {
//!             let mut buf = vec![0; 65536 + 22];
//!             loop {
//!                 let n = queue.recv(&mut buf)?;
//!                 queue.send(&buf[..n])?;
//!             }
//!         });
//!     }
//! });
//! # Ok(()) }
//! ```
//! With tokio, the same with one task per queue: `tun_tokio::Tun::builder().queues(4).build()?`
//! and a `tokio::spawn` per `Tun`.
//!
//! ### A fast relay: batches and offload (Linux, Android)
//! ```no_run
//! use tun_core::{Device, PacketBatch};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // With offload, one read may bring a 64 KiB TCP super-packet: recv_batch splits it.
//! let open = |name: &str| -> Result<Device, tun_core::Error> {
//!     Ok(Device::builder().name(name).offload(true).up().build()?.remove(0))
//! };
//! let (a, b) = (open("relay-a")?, open("relay-b")?);
//! let mut batch = PacketBatch::new(); // up to 128 packets, reused: no allocation per packet
//! loop {
//!     a.recv_batch(&mut batch)?; // at least one packet, each a whole MTU-sized IP packet
//!     batch.retain(|packet| packet.first().is_some_and(|v| v >> 4 == 4)); // IPv4 only
//!     b.send_batch(&mut batch)?; // same-flow packets coalesced into super-packets again
//! }
//! # }
//! ```
//!
//! ### A `mio` event loop (feature `mio`)
//! ```no_run
//! # #[cfg(feature = "mio")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use mio::{Events, Interest, Poll, Token};
//! use tun_core::Device;
//!
//! let mut device = Device::builder().nonblocking(true).up().build()?.remove(0);
//! let mut poll = Poll::new()?;
//! poll.registry().register(&mut device, Token(0), Interest::READABLE)?;
//! let mut events = Events::with_capacity(16);
//! let mut buf = vec![0; device.max_packet_len()?];
//! loop {
//!     poll.poll(&mut events, None)?;
//!     // Edge-triggered: read until the queue is empty.
//!     loop {
//!         match device.recv(&mut buf) {
//!             Ok(n) => println!("{n} bytes"),
//!             Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => break,
//!             Err(err) => return Err(err.into()),
//!         }
//!     }
//! }
//! # }
//! # #[cfg(not(feature = "mio"))]
//! # fn main() {}
//! ```
//!
//! ### Adopting an fd opened elsewhere (Linux, Android)
//! For example the fd of Android's `VpnService.Builder.establish()`, or one handed over by a
//! privileged helper process:
//! ```no_run
//! use std::os::fd::{BorrowedFd, OwnedFd};
//! use tun_core::Device;
//!
//! fn adopt(fd: OwnedFd) -> tun_core::Result<Device> {
//!     Device::from_fd(fd) // name, layer and framing are read from the kernel; closed on drop
//! }
//!
//! fn share(fd: BorrowedFd<'_>) -> tun_core::Result<Device> {
//!     Device::from_borrowed_fd(fd) // works on a duplicate: the caller's fd stays open
//! }
//! ```
//!
//! ### Matching on errors
//! ```no_run
//! use tun_core::{Device, ErrorKind};
//!
//! match Device::builder().name("vpn0").up().build() {
//!     Ok(devices) => println!("{} is up", devices[0].name()),
//!     Err(err) => match err.kind() {
//!         ErrorKind::PermissionDenied => eprintln!("needs CAP_NET_ADMIN: run as root or setcap"),
//!         ErrorKind::NameInUse => eprintln!("vpn0 is taken by a device we cannot attach to"),
//!         ErrorKind::Unsupported => eprintln!("no TUN/TAP support on this platform"),
//!         // Every error says what failed, on which device, why, and how to fix it if known.
//!         _ => eprintln!("{err} (hint: {:?})", err.hint()),
//!     },
//! }
//! ```
//! Packet I/O returns [`std::io::Error`]: [`WouldBlock`](std::io::ErrorKind::WouldBlock) in
//! non-blocking mode, [`NotFound`](std::io::ErrorKind::NotFound) once the device is deleted,
//! [`TimedOut`](std::io::ErrorKind::TimedOut) and
//! [`Interrupted`](std::io::ErrorKind::Interrupted) from `Device::recv_timeout` (Unix).
//!
//! ### A non-blocking sync loop
//! ```no_run
//! use std::io::ErrorKind;
//! use std::time::Duration;
//! use tun_core::Device;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let device = Device::builder().nonblocking(true).up().build()?.remove(0);
//! let mut buf = vec![0; device.max_packet_len()?];
//! loop {
//!     match device.recv(&mut buf) {
//!         Ok(n) => println!("{n} bytes"),
//!         Err(err) if err.kind() == ErrorKind::WouldBlock => {
//!             // Nothing waiting: do other work, then wait at most 10 ms for the next packet
//!             // (recv_timeout works in non-blocking mode too, and sleeps in poll(2)).
//!             match device.recv_timeout(&mut buf, Duration::from_millis(10)) {
//!                 Ok(n) => println!("{n} bytes"),
//!                 Err(err) if err.kind() == ErrorKind::TimedOut => {}
//!                 Err(err) => return Err(err.into()),
//!             }
//!         }
//!         Err(err) if err.kind() == ErrorKind::NotFound => break, // the device was deleted
//!         Err(err) => return Err(err.into()),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! ## Privileges
//! On Linux, creating a device needs `CAP_NET_ADMIN` (root, or `setcap cap_net_admin+ep`),
//! except attaching to a persistent device whose owner or group (`Builder::owner`,
//! `Builder::group`) is the caller's. On FreeBSD, creating an interface needs root.

// Library code never panics on input or kernel answers (tests may).
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// First: its `capability!` macro is used by the modules below.
#[macro_use]
mod sys;

mod batch;
mod builder;
mod check;
mod config;
mod device;
mod error;
mod net;
// Linux TUN offload's pure part (virtio header, checksums, split, merge planning).
mod offload;

// The fuzz targets' way in (`fuzz/`): only `cargo fuzz` builds it (`--cfg fuzzing`); not API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz_entry;

pub use crate::batch::{PacketBatch, PushError, DEFAULT_BATCH_PACKETS, MAX_BATCH_PACKET_LEN};
pub use crate::builder::{Builder, FromDevice};
pub use crate::check::{MAX_MTU, MIN_IPV6_MTU, MIN_MTU};
pub use crate::config::Layer;
pub use crate::device::Device;
pub use crate::error::{Error, ErrorKind, Operation, Result};
pub use crate::net::InterfaceAddress;

capability! { tun_fd;
    pub use crate::device::Interrupter;
}

capability! { tun_linux;
    /// The longest interface name the platform accepts, in bytes (Linux: `IFNAMSIZ` less the
    /// NUL).
    pub const MAX_NAME_LEN: usize = sys::MAX_NAME_LEN;
}

capability! { tun_offload;
    pub use crate::device::Offload;
}

capability! { tun_multi_queue;
    /// The most queues one multi-queue device may have (Linux: `MAX_TAP_QUEUES`).
    pub const MAX_QUEUES: usize = sys::MAX_QUEUES;
}

capability! { tun_packet_info;
    /// The length of the packet information header ([`Builder::packet_info`]): 4 on Linux
    /// (flags and EtherType) and on FreeBSD (the address family).
    pub const PACKET_INFO_LEN: usize = sys::PACKET_INFO_LEN;
}

/// The README's code blocks (this crate's, which ships in the package), compiled as doctests so
/// they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
