//! macOS and iOS: Darwin's utun (`bsd/net/if_utun.c`), on the BSD layer (`sys/bsd/`).
//!
//! - `abi.rs`: Darwin's structs and ioctl numbers, checked against xnu's headers (pure).
//! - `name.rs`: the name rules (pure): empty or `utunN`.
//! - `route.rs`: the `PF_ROUTE` message that gives an address's network its route (pure).
//! - `queue.rs`: the open utun and its framing (the 4-byte address-family header, or the
//!   simulated Ethernet of a TAP device, `sys/ethernet_sim.rs`).
//! - `interface.rs`: the settings, on the BSD layer's, with routes and the simulated MAC.
//! - `errors.rs`: what errno values mean here.
//!
//! Creating (macOS): a `PF_SYSTEM` socket of the kernel control protocol, `CTLIOCGINFO` for the
//! utun control's id, `connect` to unit `N + 1` for `utunN` (0: the first free one), and the
//! name read back with `UTUN_OPT_IFNAME`. The socket is the interface: it has one queue, no
//! persistence and no owner or group, and it goes away, with its addresses and routes, when the
//! socket's last fd is closed.
//!
//! iOS: an app cannot create a utun; the Network Extension gives a packet tunnel provider one.
//! `find_tunnel_fd` finds it among the process's fds (a socket whose peer is the utun control,
//! as wireguard-apple does since the `packetFlow` key path stopped working in iOS 15), and
//! `adopt` takes it; its settings belong to `NEPacketTunnelNetworkSettings`, so the setters
//! answer `Unsupported` with that advice.

pub(crate) mod abi;
// Pure (errno names): its tests run on every Unix test build.
#[cfg(any(tun_apple, all(test, tun_fd)))]
mod errors;
#[cfg(tun_apple)]
mod interface;
pub(crate) mod name;
// Only fd I/O and pure framing: also compiled into every Unix test build, whose tests run it
// over a socket pair in place of a utun.
#[cfg(any(tun_apple, all(test, tun_fd)))]
mod queue;
pub(crate) mod route;

#[cfg(tun_apple)]
pub(crate) use self::platform::*;

#[cfg(tun_apple)]
mod platform {
    use std::ffi::CStr;
    use std::io;
    use std::mem::size_of;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
    #[cfg(not(tun_ios))]
    use std::sync::Arc;

    use super::abi::{
        self, CtlInfo, SockaddrCtl, AF_SYSTEM, AF_SYS_CONTROL, IFNAMSIZ, MAX_KCTL_NAME,
        SYSPROTO_CONTROL, UTUN_CONTROL_NAME, UTUN_OPT_IFNAME,
    };
    pub(crate) use super::errors::{error_kind, hint};
    pub(crate) use super::interface::Interface;
    use super::interface::Owner;
    pub(crate) use super::name::check_name;
    pub(crate) use super::queue::Queue;
    use crate::config::Config;
    use crate::error::{Error, Operation, Result};
    use crate::sys::bsd::control;
    use crate::sys::bsd::framing::HEADER_LEN;
    use crate::sys::unix::{cvt, Fd};
    use crate::sys::Created;

    /// The length of the packet information of a TUN device: the address-family header.
    pub(crate) const PACKET_INFO_LEN: usize = HEADER_LEN;

    /// Who configures an adopted utun: the system on iOS, this process on macOS (a utun handed
    /// over by a privileged helper, say).
    #[cfg(tun_ios)]
    const ADOPTED_OWNER: Owner = Owner::System;
    #[cfg(not(tun_ios))]
    const ADOPTED_OWNER: Owner = Owner::Us;

    /// The highest fd `find_tunnel_fd` looks at (as wireguard-apple: the extension's fds are
    /// few and low).
    const MAX_SCANNED_FD: RawFd = 1024;

    /// iOS: apps cannot create a utun.
    #[cfg(tun_ios)]
    pub(crate) fn create(_config: &Config) -> Result<Created> {
        Err(Error::unsupported(
            Operation::Create,
            "iOS apps cannot create TUN devices: in a packet tunnel provider, adopt the \
             system's tunnel with `Device::from_system_tunnel()` (after \
             setTunnelNetworkSettings has completed)"
                .into(),
        ))
    }

    /// macOS: a new utun, `utunN` or the first free one.
    #[cfg(not(tun_ios))]
    pub(crate) fn create(config: &Config) -> Result<Created> {
        use crate::config::Layer;
        use crate::sys::ethernet_sim::EthernetSim;

        let fail = |operation| move |err| Error::new(operation, &config.name, err);
        if config.layer == Layer::Tap && config.packet_info {
            // The simulated TAP device has no kernel header to show.
            return Err(Error::unsupported(
                Operation::CheckSettings,
                "macOS TAP devices (simulated over utun) have no packet information header: \
                 build without `packet_info`"
                    .into(),
            ));
        }
        let unit = super::name::unit(&config.name).ok_or_else(|| {
            Error::invalid(
                Operation::CheckSettings,
                &config.name,
                "not a utun name".into(),
            )
        })?;
        let socket = control_socket().map_err(fail(Operation::Open))?;
        if !config.close_on_exec {
            control::set_cloexec(socket.as_fd(), false).map_err(fail(Operation::Open))?;
        }
        let id = utun_control_id(socket.as_fd()).map_err(fail(Operation::Open))?;
        connect(socket.as_fd(), id, unit).map_err(fail(Operation::Create))?;
        // From here on, an early return closes the socket: the utun goes with it.
        let name = utun_name(socket.as_fd()).map_err(fail(Operation::Create))?;
        let fd = Fd::from(socket);
        if config.nonblocking {
            fd.set_nonblocking(true)
                .map_err(|err| Error::new(Operation::SetNonblocking, &name, err))?;
        }
        let ethernet = (config.layer == Layer::Tap).then(|| Arc::new(EthernetSim::default()));
        let queue = Queue::new(fd, config.packet_info, ethernet.clone());
        let interface = Interface::new(name.clone(), ethernet, Owner::Us)
            .map_err(|err| Error::new(Operation::OpenControlSocket, &name, err))?;
        Ok(Created {
            queues: vec![queue],
            interface,
        })
    }

    /// Adopts an open utun socket (the fd is owned from here on): its name comes from the
    /// kernel, its framing is the address-family header (stripped and added here).
    pub(crate) fn adopt(fd: OwnedFd) -> Result<(Queue, Interface)> {
        let fail = |err| Error::new(Operation::AdoptFd, "", err);
        let peer = peer_control(fd.as_raw_fd()).map_err(fail)?;
        let id = utun_control_id(fd.as_fd()).map_err(fail)?;
        if peer.family != AF_SYSTEM || peer.sysaddr != AF_SYS_CONTROL || peer.id != id {
            return Err(fail(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the fd is a socket, but not one connected to the utun control",
            )));
        }
        let name = utun_name(fd.as_fd()).map_err(fail)?;
        let interface = Interface::new(name.clone(), None, ADOPTED_OWNER)
            .map_err(|err| Error::new(Operation::OpenControlSocket, &name, err))?;
        Ok((Queue::new(Fd::from(fd), false, None), interface))
    }

    /// The fd of the utun this process was given (iOS's packet tunnel), if there is one: the
    /// first socket among fds 0 to 1024 whose peer is the utun control.
    pub(crate) fn find_tunnel_fd() -> Option<RawFd> {
        let mut id = None;
        for raw in 0..=MAX_SCANNED_FD {
            // Any number: one that is not an open socket fails (EBADF, ENOTSOCK) harmlessly.
            let Ok(peer) = peer_control(raw) else {
                continue;
            };
            if peer.family != AF_SYSTEM || peer.sysaddr != AF_SYS_CONTROL {
                continue;
            }
            // SAFETY: `getpeername` just succeeded on `raw`, so it is an open socket, and the
            // borrow ends within this iteration; nothing here closes it.
            let fd = unsafe { BorrowedFd::borrow_raw(raw) };
            // The control's id, asked once, on the first kernel control socket found.
            let utun_id = match id {
                Some(id) => id,
                None => match utun_control_id(fd) {
                    Ok(found) => *id.insert(found),
                    Err(_) => continue,
                },
            };
            if peer.id == utun_id {
                return Some(raw);
            }
        }
        None
    }

    /// Adopts the system's utun (iOS's packet tunnel) without taking it: a duplicate of it.
    pub(crate) fn adopt_system_tunnel() -> Result<(Queue, Interface)> {
        let raw = find_tunnel_fd().ok_or_else(|| {
            Error::new(
                Operation::AdoptFd,
                "",
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "no utun socket among this process's fds 0 to 1024: call this in a packet \
                     tunnel provider, after setTunnelNetworkSettings has completed",
                ),
            )
        })?;
        // SAFETY: F_DUPFD_CLOEXEC takes an integer; on an fd closed since it was found it fails
        // (EBADF), and a number reused in between is checked by `adopt` like any fd.
        let dup = cvt(unsafe { libc::fcntl(raw, libc::F_DUPFD_CLOEXEC, 0) })
            .map_err(|err| Error::new(Operation::AdoptFd, "", err))?;
        // SAFETY: `fcntl` just made this fd; nothing else owns it.
        adopt(unsafe { OwnedFd::from_raw_fd(dup) })
    }

    /// A kernel control socket (`PF_SYSTEM`, `SYSPROTO_CONTROL`), close-on-exec.
    #[cfg(not(tun_ios))]
    fn control_socket() -> io::Result<OwnedFd> {
        control::cloexec_socket(libc::PF_SYSTEM, libc::SOCK_DGRAM, SYSPROTO_CONTROL)
    }

    /// The utun control's id (`CTLIOCGINFO`), asked on a kernel control socket.
    fn utun_control_id(socket: BorrowedFd<'_>) -> io::Result<u32> {
        let mut info = CtlInfo {
            id: 0,
            name: [0; MAX_KCTL_NAME],
        };
        for (dst, src) in info.name.iter_mut().zip(UTUN_CONTROL_NAME.bytes()) {
            *dst = src;
        }
        // SAFETY: CTLIOCGINFO reads and writes one `struct ctl_info`, which `info` is (its name
        // NUL-terminated: the name is shorter than MAX_KCTL_NAME).
        unsafe { control::ioctl(socket, abi::CTLIOCGINFO, &mut info)? };
        Ok(info.id)
    }

    /// Connects a kernel control socket to the utun control's `unit`, which creates the utun.
    #[cfg(not(tun_ios))]
    fn connect(socket: BorrowedFd<'_>, id: u32, unit: u32) -> io::Result<()> {
        let address = SockaddrCtl {
            len: size_of::<SockaddrCtl>() as u8,
            family: AF_SYSTEM,
            sysaddr: AF_SYS_CONTROL,
            id,
            unit,
            reserved: [0; 5],
        };
        // SAFETY: `address` is a `struct sockaddr_ctl` of the length passed, alive for the call.
        cvt(unsafe {
            libc::connect(
                socket.as_raw_fd(),
                (&address as *const SockaddrCtl).cast(),
                size_of::<SockaddrCtl>() as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    /// The peer address of the socket `fd` (any number: one that is not an open socket is an
    /// error), as a `sockaddr_ctl` (another family's bytes are read as they come; the caller
    /// checks the family).
    fn peer_control(fd: RawFd) -> io::Result<SockaddrCtl> {
        let mut address = SockaddrCtl::default();
        let mut len = size_of::<SockaddrCtl>() as libc::socklen_t;
        // SAFETY: `getpeername` only reads the number `fd`, writes at most `len` bytes into
        // `address` (all of whose bit patterns are valid) and the length into `len`.
        cvt(unsafe { libc::getpeername(fd, (&mut address as *mut SockaddrCtl).cast(), &mut len) })?;
        Ok(address)
    }

    /// The name of the utun of a connected socket (`UTUN_OPT_IFNAME`).
    fn utun_name(socket: BorrowedFd<'_>) -> io::Result<String> {
        let mut name = [0u8; IFNAMSIZ];
        let mut len = IFNAMSIZ as libc::socklen_t;
        // SAFETY: the option writes at most `len` bytes (a NUL-terminated name) into `name`.
        cvt(unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                SYSPROTO_CONTROL,
                UTUN_OPT_IFNAME,
                name.as_mut_ptr().cast(),
                &mut len,
            )
        })?;
        let name = CStr::from_bytes_until_nul(&name)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "utun name without a NUL"))?;
        Ok(name.to_string_lossy().into_owned())
    }
}
