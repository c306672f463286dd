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
//! - `check.rs`: one check per setting, used by the build and by every run-time setter.
//! - `config.rs` ([`Layer`]) and `net.rs` ([`InterfaceAddress`]): the plain types the platform
//!   layer works in.
//! - `sys/`: the platform layer and all the `unsafe`, depending on nothing above it: Linux (and
//!   Android) today, on a Unix layer (`sys/unix/`) the other Unix platforms will share; every
//!   other target compiles and reports [`ErrorKind::Unsupported`].
//! - `build.rs`: which capability (multi-queue, persistence, packet information, ...) exists on
//!   which target, declared once; items that exist only somewhere say so in their docs.
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
#![cfg_attr(docsrs, feature(doc_cfg))]

// First: its `capability!` macro is used by the modules below.
#[macro_use]
mod sys;

mod builder;
mod check;
mod config;
mod device;
mod error;
mod net;

// The fuzz targets' way in (`fuzz/`): only `cargo fuzz` builds it (`--cfg fuzzing`); not API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz_entry;

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

capability! { tun_multi_queue;
    /// The most queues one multi-queue device may have (Linux: `MAX_TAP_QUEUES`).
    pub const MAX_QUEUES: usize = sys::MAX_QUEUES;
}

capability! { tun_packet_info;
    /// The length of the packet information header ([`Builder::packet_info`]).
    pub const PACKET_INFO_LEN: usize = sys::PACKET_INFO_LEN;
}

/// The README's code blocks (this crate's, which ships in the package), compiled as doctests so
/// they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
