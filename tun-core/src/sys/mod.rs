//! The platform layer: every system call of the crate, and all of its `unsafe`.
//!
//! It depends on nothing above it: it receives a [`Config`](crate::config::Config), works in
//! the crate's address and error types (`net.rs`, `error.rs`), and hands back its own queues and
//! interface handle, from which `device.rs` makes [`Device`](crate::Device)s.
//!
//! # The contract
//! Each platform module provides the same items, with the same names, so that a reader finds the
//! Linux, the FreeBSD and the macOS version of a call in the same place, and a new platform is
//! "implement this list":
//!
//! - `create(&Config) -> Result<Created>`: open (or attach to) the device with the requested
//!   name, layer, framing and queue count; make the interface handle in the device's own network
//!   namespace. No interface settings: the builder applies those through the `Interface` methods
//!   below, the same ones users call at run time. On error, everything opened so far is closed.
//! - `check_name(&str) -> Checked`: the platform's interface name rules, checked before any
//!   system call.
//! - `Queue`: one open queue, which owns its framing: `recv`, `send`, `recv_vectored`,
//!   `send_vectored` move exactly the user's packet (a platform whose kernel adds a header that
//!   the user did not ask for strips and adds it itself, with `readv`/`writev`, not a copy);
//!   `layer`, `has_packet_info`, `frame_overhead` (bytes beyond the MTU a receive buffer needs),
//!   `set_nonblocking`, `try_clone`; and `recv_batch`/`send_batch` over a
//!   [`PacketBatch`](crate::PacketBatch) (the caller prepared it for receiving): one packet per
//!   system call through `batch::recv_each`/`send_each` where the kernel has nothing better,
//!   super-packets split and coalesced where it has (Linux offload). Where a queue is an fd (`cfg(tun_fd)`): `AsFd` and
//!   `Into<OwnedFd>`; elsewhere `poll_recv_ready`/`poll_send_ready`, which wake the task when the
//!   queue may be ready, with no thread of the crate's own.
//! - `Interface`: the interface settings, shared by all queues of a build, in network terms:
//!   `name`, `index`, `mtu`/`set_mtu`, `is_up`/`set_up`, `mac`/`set_mac`,
//!   `add_ipv4`/`remove_ipv4` and `add_ipv6`/`remove_ipv6` (networks: address and prefix,
//!   several per device), `addresses`.
//! - Where a queue is an fd, `sys/unix/` (shared, not per platform) provides `Interrupt` (a
//!   pipe-backed latch) and `wait_readable(fd, Option<&Interrupt>, Option<Duration>)`
//!   (`poll(2)`), on which `Device::recv_timeout` and the `Interrupter` are built; Windows
//!   provides the same with an event and `wait_readable(&Queue, ...)` (`cfg(tun_interrupt)`).
//! - `error_kind(Operation, &io::Error)` and `hint(Operation, &io::Error)`: what the platform's
//!   error codes mean, for [`Error`](crate::Error).
//!
//! Platform-only features are items that exist only under their capability `cfg` (declared once,
//! in `build.rs`), never run-time "unsupported" stubs: on Linux `adopt`, `Interface::open_queue`,
//! `Queue::set_attached`, persistence, owner and group, `txqueuelen`, `TunInfo`, the primary
//! IPv4 address's fields (`ipv4`/`set_ipv4` with [`Ipv4Field`]), and the constants
//! `MAX_NAME_LEN`, `MAX_QUEUES`, `PACKET_INFO_LEN`; on FreeBSD persistence
//! (`Queue::is_persistent`/`set_persist`) and `PACKET_INFO_LEN`; on macOS and iOS `adopt`,
//! `PACKET_INFO_LEN`, `find_tunnel_fd` and `adopt_system_tunnel` (the utun iOS hands a packet
//! tunnel), `Interface::dropped_frames` (the simulated TAP); on Windows the Wintun settings of
//! [`Config`](crate::config::Config) (DLL path, ring capacity, GUID, tunnel type) and their
//! checks `check_ring_capacity` and `check_tunnel_type`. Offload (Linux): `Queue::offload`,
//! `coalescing`/`set_coalescing`; and where a packet can wait in userspace rather than in the fd
//! (Linux offload's pending segments, macOS's simulated TAP answers), `Queue::has_pending`.
//!
//! Every other target compiles against `unsupported`, whose `create` reports
//! [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) and whose types are uninhabited, so
//! that platform work only adds files.

/// Items that exist only where their capability does (the `cfg`s that `build.rs` declares),
/// with the docs.rs badge naming the platforms that have it: besides `build.rs`, the one place
/// outside the platform modules that lists them. A capability without an arm of its own here is
/// Linux and Android's alone.
///
/// ```ignore
/// capability! { tun_multi_queue; impl Device { ... } }
/// ```
macro_rules! capability {
    // Every Unix target.
    (tun_fd; $($item:item)*) => {$(
        #[cfg(tun_fd)]
        #[cfg_attr(docsrs, doc(cfg(unix)))]
        $item
    )*};
    (@badge $cap:ident, $platforms:meta; $($item:item)*) => {$(
        #[cfg($cap)]
        #[cfg_attr(docsrs, doc(cfg($platforms)))]
        $item
    )*};
    (tun_apple; $($item:item)*) => {
        capability! { @badge tun_apple, any(target_os = "macos", target_os = "ios"); $($item)* }
    };
    (tun_from_fd; $($item:item)*) => {
        capability! { @badge tun_from_fd,
            any(target_os = "linux", target_os = "android", target_os = "macos",
                target_os = "ios"); $($item)* }
    };
    (tun_persist; $($item:item)*) => {
        capability! { @badge tun_persist,
            any(target_os = "linux", target_os = "android", target_os = "freebsd"); $($item)* }
    };
    // Every Unix target, and Windows.
    (tun_interrupt; $($item:item)*) => {
        capability! { @badge tun_interrupt, any(unix, windows); $($item)* }
    };
    (tun_windows; $($item:item)*) => {
        capability! { @badge tun_windows, windows; $($item)* }
    };
    (tun_packet_info; $($item:item)*) => {
        capability! { @badge tun_packet_info,
            any(target_os = "linux", target_os = "android", target_os = "freebsd",
                target_os = "macos", target_os = "ios"); $($item)* }
    };
    ($cap:ident; $($item:item)*) => {
        capability! { @badge $cap, any(target_os = "linux", target_os = "android"); $($item)* }
    };
}

/// What `create` hands back: the queues, in order, and the interface they share.
#[derive(Debug)]
pub(crate) struct Created {
    pub(crate) queues: Vec<Queue>,
    pub(crate) interface: Interface,
}

/// Which field of the primary IPv4 address an ioctl-style getter or setter addresses.
#[cfg(tun_destination_broadcast)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ipv4Field {
    Address,
    Netmask,
    Destination,
    Broadcast,
}

// The pure parts of the BSD platforms (framing, names, structs and ioctl numbers, the creation
// plan) are also compiled into every test build, so that Linux CI runs their unit tests.
#[cfg(all(test, tun_fd, not(tun_bsd)))]
#[allow(dead_code)]
mod bsd;
#[cfg(all(test, tun_fd, not(tun_freebsd)))]
#[allow(dead_code)]
mod freebsd;
// The same for macOS and iOS: structs and ioctl numbers, names, route messages.
#[cfg(all(test, tun_fd, not(tun_apple)))]
#[allow(dead_code)]
mod apple;

// The simulated TAP device of the platforms without one (macOS): pure, platform-neutral, and
// reachable from the integration tests through `tun_core::__ethernet_sim`, which layer it over a
// Linux TUN device.
#[cfg_attr(not(tun_apple), allow(dead_code))]
pub(crate) mod ethernet_sim;
// Likewise Windows' pure parts (names, GUIDs, error codes), on every other platform.
#[cfg(all(test, not(tun_windows)))]
#[allow(dead_code)]
mod windows;

// Every Unix target, whatever its platform module: the interruptible wait works on any fd.
#[cfg(tun_fd)]
mod unix;
#[cfg(tun_fd)]
pub(crate) use self::unix::{wait_readable, Interrupt, Wait};

cfg_if::cfg_if! {
    if #[cfg(tun_linux)] {
        mod linux;
        pub(crate) use self::linux::*;
    } else if #[cfg(tun_freebsd)] {
        mod bsd;
        mod freebsd;
        pub(crate) use self::freebsd::*;
    } else if #[cfg(tun_apple)] {
        mod bsd;
        mod apple;
        pub(crate) use self::apple::*;
    } else if #[cfg(tun_windows)] {
        mod windows;
        pub(crate) use self::windows::*;
    } else {
        mod unsupported;
        pub(crate) use self::unsupported::*;
    }
}
