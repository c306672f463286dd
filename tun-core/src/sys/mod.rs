//! The platform layer: every system call of the crate, and all of its `unsafe`.
//!
//! # The contract
//! Each platform module provides the same small set of items, with the same names, so that a
//! reader finds the Linux and the (future) macOS version of a call in the same place, and a new
//! platform is "implement this list":
//!
//! - `create(&Config) -> Result<Vec<Device>>`: open (or attach to) the device with the requested
//!   name, layer, packet-information mode and queue count; make the interface handle in the
//!   device's own network namespace. No interface settings: the builder applies those through
//!   the `Interface` methods below, the same ones users call at run time. On error, everything
//!   opened so far is closed.
//! - `Queue`: one open queue. `recv`, `send`, `recv_vectored`, `send_vectored`,
//!   `set_nonblocking`; on Unix also `AsFd` and `Into<OwnedFd>`.
//! - `Interface`: the interface settings, shared by all queues of a build. `name`, `index`,
//!   `mtu`/`set_mtu`, `is_up`/`set_up`, `mac`/`set_mac`, `ipv4(Ipv4Field)`/`set_ipv4`,
//!   `add_ipv6`/`remove_ipv6`, `addresses`.
//! - `error_kind(operation, &io::Error)` and `hint(operation, &io::Error)`: what the platform's
//!   error codes mean, for [`Error`](crate::Error).
//!
//! Platform-only features are items that exist only under their `cfg` (on Linux: `adopt` for
//! [`Device::from_fd`](crate::Device::from_fd), queue attach/detach, persistence, owner and
//! group, `txqueuelen`, `TunInfo`), never run-time "unsupported" stubs.
//!
//! Every other target compiles against `unsupported`, whose `create` reports
//! [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported), so that platform work only adds
//! files.

/// Which IPv4 setting an ioctl-style getter or setter addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ipv4Field {
    Address,
    Netmask,
    Destination,
    Broadcast,
}

cfg_if::cfg_if! {
    if #[cfg(any(target_os = "linux", target_os = "android"))] {
        mod linux;
        pub(crate) use self::linux::*;
    } else {
        mod unsupported;
        pub(crate) use self::unsupported::*;
    }
}
