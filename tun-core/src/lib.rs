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
//! - [`Builder`] (`builder.rs`): every setting, checked before the first system call; all or
//!   nothing. Generic over what it builds ([`FromDevice`]), so the async adapters share it.
//! - [`Device`] (`device.rs`): one queue. Packet I/O on `&self`, the run-time getters and
//!   setters, `AsFd`/`AsRawFd`/`IntoRawFd`, `Read`/`Write` with packet semantics.
//! - [`Error`] (`error.rs`): what failed, on which device, the OS error, and a hint.
//! - `sys/`: the platform layer and all the `unsafe`: Linux (and Android) today; every other
//!   target compiles and reports [`ErrorKind::Unsupported`].
//!
//! ## Privileges
//! Creating a device needs `CAP_NET_ADMIN` (root, or `setcap cap_net_admin+ep`), except
//! attaching to a persistent device whose [owner](Builder::owner) or [group](Builder::group) is
//! the caller's.

// Library code never panics on input or kernel answers (tests may).
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
// Until every platform has its module, some shared code is used only by the implemented ones.
#![cfg_attr(
    not(any(target_os = "linux", target_os = "android")),
    allow(dead_code, unused_imports)
)]

mod builder;
mod device;
mod error;
mod sys;

// The fuzz targets' way in (`fuzz/`): only `cargo fuzz` builds it (`--cfg fuzzing`); not API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz_entry;

pub use crate::builder::{
    Builder, FromDevice, MAX_MTU, MAX_NAME_LEN, MAX_QUEUES, MIN_IPV6_MTU, MIN_MTU,
};
pub use crate::device::{Device, InterfaceAddress, Layer, PACKET_INFO_LEN};
pub use crate::error::{Error, ErrorKind, Result};
