//! What the BSD-derived platforms share: FreeBSD, and macOS and iOS (utun). One layer, thin
//! platform modules on top.
//!
//! - `ioctl.rs`: the `_IOW`/`_IOWR` number encoding (pure).
//! - `framing.rs`: the 4-byte address-family header of tun packets (pure).
//! - `sockaddr.rs`: `sockaddr_in`/`sockaddr_in6` and netmasks as the address ioctls want them
//!   (pure).
//! - `tun_io.rs`: packet I/O through that header: `readv`/`writev` with the header on the
//!   stack, so the user's packet is never copied and no call allocates.
//! - `control.rs`: control sockets, `struct ifreq` by name, and `getifaddrs`.
//! - `interface.rs`: the interface settings: `SIOCAIFADDR`/`SIOCDIFADDR` and their IPv6 forms,
//!   flags, MTU, link-level address, index, and the address listing.
//!
//! The structs and numbers themselves differ between the BSDs (FreeBSD's `in6_aliasreq` has a
//! `vhid` and is 136 bytes, Darwin's 128): each platform module defines them in its `abi.rs`,
//! under the same names; `abi` below is the current platform's. The pure files are also
//! compiled into the Linux test build (with FreeBSD's `abi`), so their tests run in the normal
//! `cargo test`.

#[cfg(tun_apple)]
pub(crate) use crate::sys::apple::abi;
#[cfg(not(tun_apple))]
pub(crate) use crate::sys::freebsd::abi;

pub(crate) mod framing;
pub(crate) mod ioctl;
pub(crate) mod sockaddr;

#[cfg(tun_bsd)]
pub(crate) mod control;
#[cfg(tun_bsd)]
mod interface;
// Plain fd I/O: also compiled into every Unix test build, where the macOS queue's tests run it
// over socket pairs.
#[cfg(any(tun_bsd, all(test, tun_fd)))]
pub(crate) mod tun_io;

#[cfg(tun_bsd)]
pub(crate) use self::interface::Interface;
