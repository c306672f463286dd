//! FreeBSD: the if_tuntap driver (`sys/net/if_tuntap.c`), on the BSD layer (`sys/bsd/`).
//!
//! - `abi.rs`: FreeBSD's structs and ioctl numbers, checked against the headers (pure).
//! - `name.rs`: the name rules and the plan from a requested name to system calls (pure).
//! - `queue.rs`: the open device, its framing, and the interface's lifetime.
//! - `errors.rs`: what errno values mean here.
//!
//! Creating is race-free: `SIOCIFCREATE2` with the driver's name (`tun`, `tap`) on a control
//! socket makes the interface and answers its name (`tun3`), and only then is `/dev/tun3`
//! opened; an exact or `%d` name is given by renaming it (`SIOCSIFNAME`). A TUN device always
//! gets `TUNSIFHEAD` (without it the driver refuses to send anything but IPv4) and broadcast
//! mode (`TUNSIFMODE`: in its default point-to-point mode, `SIOCAIFADDR` would install only a
//! host route to a peer, and a `/24` would not be reachable through the device, which is what
//! Linux and the other platforms give).
//!
//! Persistence: the driver never destroys an interface on close, so this crate does it
//! (`queue::Lifetime`) unless the device is persistent; a later build with the exact name
//! attaches to a persistent device by opening its node.

pub(crate) mod abi;
#[cfg(tun_freebsd)]
mod errors;
pub(crate) mod name;
#[cfg(tun_freebsd)]
mod queue;

#[cfg(tun_freebsd)]
pub(crate) use self::platform::*;

#[cfg(tun_freebsd)]
mod platform {
    use std::ffi::CString;
    use std::io;
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};
    use std::sync::Arc;

    use super::abi;
    pub(crate) use super::errors::{error_kind, hint};
    pub(crate) use super::name::check_name;
    use super::name::{self, Plan, Rename};
    use super::queue::Lifetime;
    pub(crate) use super::queue::Queue;
    use crate::config::{Config, Layer};
    use crate::error::{Error, Operation, Result};
    use crate::sys::bsd::control::{self, ifreq_with_name, name_bytes, name_from_bytes};
    use crate::sys::bsd::framing::HEADER_LEN;
    pub(crate) use crate::sys::bsd::Interface;
    use crate::sys::unix::{cvt, Fd};
    use crate::sys::Created;

    /// The length of the packet information of a TUN device: the address-family header.
    pub(crate) const PACKET_INFO_LEN: usize = HEADER_LEN;

    /// `IFT_ETHER` and `IFT_PPP` (`net/if_types.h`): the link types `tuncreate` gives tap and
    /// tun interfaces.
    const IFT_ETHER: u8 = 0x06;
    const IFT_PPP: u8 = 0x17;

    pub(crate) fn create(config: &Config) -> Result<Created> {
        let fail = |operation| move |err| Error::new(operation, &config.name, err);
        if config.layer == Layer::Tap && config.packet_info {
            // The tap driver has no header to keep, and inventing Linux's would be data the
            // kernel never sent: refused before any system call.
            return Err(Error::unsupported(
                Operation::CheckSettings,
                "FreeBSD TAP devices have no packet information header (frames are plain \
                 Ethernet): build without `packet_info`"
                    .into(),
            ));
        }
        let control = control::socket(libc::AF_INET).map_err(fail(Operation::OpenControlSocket))?;
        let exists = control::name_to_index(&config.name) != 0;
        let (name, lifetime, attached) = match name::plan(&config.name, config.layer, exists) {
            Plan::Attach { name } => {
                let index = control::name_to_index(&name);
                let control = control
                    .try_clone()
                    .map_err(fail(Operation::OpenControlSocket))?;
                (name, Lifetime::new(index, control, false), true)
            }
            Plan::Create { request, rename } => {
                let created =
                    create_interface(control.as_fd(), &request).map_err(fail(Operation::Create))?;
                let index = control::name_to_index(&created);
                let lifetime = Lifetime::new(
                    index,
                    control
                        .try_clone()
                        .map_err(fail(Operation::OpenControlSocket))?,
                    true,
                );
                // From here on, an early return drops `lifetime`: the interface is destroyed.
                let name = rename_interface(control.as_fd(), &created, &rename)
                    .map_err(fail(Operation::Create))?;
                (name, lifetime, false)
            }
        };
        let lifetime = Arc::new(lifetime);
        let operation = if attached {
            Operation::Attach
        } else {
            Operation::Open
        };
        let fd = open_device(&name, config).map_err(|err| Error::new(operation, &name, err))?;
        let queue = Queue::new(fd, config.layer, config.packet_info, Arc::clone(&lifetime));
        drop(lifetime);
        // From here on, an early return drops `queue`: its fd closes, then the interface goes.
        let interface = Interface::new(name.clone()).map_err(fail(Operation::OpenControlSocket))?;
        if attached {
            // Before any request on the fd, so that the other kind is reported as such.
            check_layer(&interface, config.layer)?;
        }
        if config.layer == Layer::Tun {
            set_int(&queue, abi::TUNSIFHEAD, 1).map_err(|err| Error::new(operation, &name, err))?;
            if !attached {
                // Only while down (EBUSY if up): a new interface is down.
                set_int(
                    &queue,
                    abi::TUNSIFMODE,
                    abi::IFF_BROADCAST | abi::IFF_MULTICAST,
                )
                .map_err(|err| Error::new(Operation::Create, &name, err))?;
            }
        }
        Ok(Created {
            queues: vec![queue],
            interface,
        })
    }

    /// `SIOCIFCREATE2`: creates an interface of the driver (or the exact unit) `request` names;
    /// returns the kernel's name for it.
    fn create_interface(control: std::os::fd::BorrowedFd<'_>, request: &str) -> io::Result<String> {
        let mut ifr = ifreq_with_name(request)?;
        // SAFETY: SIOCIFCREATE2 reads the name (and an unused `ifr_data`, NULL here) of one
        // `struct ifreq` and writes the new interface's name into it.
        unsafe { control::ioctl(control, abi::SIOCIFCREATE2, &mut ifr)? };
        Ok(name_from_bytes(&ifr.name))
    }

    /// `SIOCSIFNAME`: renames `from` to `to`.
    fn rename_to(control: std::os::fd::BorrowedFd<'_>, from: &str, to: &str) -> io::Result<()> {
        let mut new_name = name_bytes(to)?;
        let mut ifr = ifreq_with_name(from)?;
        ifr.ifru.data = new_name.as_mut_ptr();
        // SAFETY: SIOCSIFNAME reads the name of one `struct ifreq` and, through `ifr_data`, a
        // NUL-terminated name of at most IFNAMSIZ bytes: `new_name`, alive for the call.
        unsafe { control::ioctl(control, abi::SIOCSIFNAME, &mut ifr) }
    }

    /// Gives the new interface its requested name; returns the name it has then.
    fn rename_interface(
        control: std::os::fd::BorrowedFd<'_>,
        created: &str,
        rename: &Rename,
    ) -> io::Result<String> {
        match rename {
            Rename::Keep => Ok(created.to_owned()),
            Rename::To(name) => rename_to(control, created, name).map(|()| name.clone()),
            Rename::Pattern { prefix, suffix } => {
                for candidate in name::pattern_names(prefix, suffix) {
                    if control::name_to_index(&candidate) != 0 {
                        continue;
                    }
                    match rename_to(control, created, &candidate) {
                        Ok(()) => return Ok(candidate),
                        // Taken in between: the next one.
                        Err(err) if err.raw_os_error() == Some(libc::EEXIST) => continue,
                        Err(err) => return Err(err),
                    }
                }
                Err(io::Error::from_raw_os_error(libc::EEXIST))
            }
        }
    }

    /// Opens `/dev/<name>` (the tun driver made an alias for a renamed interface).
    fn open_device(name: &str, config: &Config) -> io::Result<Fd> {
        let path = CString::new(format!("/dev/{name}"))
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let mut flags = libc::O_RDWR;
        if config.close_on_exec {
            flags |= libc::O_CLOEXEC;
        }
        if config.nonblocking {
            flags |= libc::O_NONBLOCK;
        }
        // SAFETY: `path` is a NUL-terminated string that outlives the call.
        let raw = cvt(unsafe { libc::open(path.as_ptr(), flags) })?;
        // SAFETY: `open` just returned this fd; nothing else owns it.
        Ok(Fd::from(unsafe { OwnedFd::from_raw_fd(raw) }))
    }

    /// A `TUN*` request on the device fd that reads one `int`.
    fn set_int(queue: &Queue, request: u32, value: i32) -> io::Result<()> {
        let mut value = value;
        // SAFETY: TUNSIFHEAD and TUNSIFMODE (the only requests passed here) read one `int`.
        unsafe { control::ioctl(queue.fd().as_fd(), request, &mut value) }
    }

    /// An attached interface must be of the requested kind.
    fn check_layer(interface: &Interface, layer: Layer) -> Result<()> {
        let link_type = interface
            .link_type()
            .map_err(|err| Error::new(Operation::Attach, interface.name(), err))?;
        let actual = match link_type {
            IFT_ETHER => Layer::Tap,
            IFT_PPP => Layer::Tun,
            other => {
                return Err(Error::incompatible(
                    Operation::Attach,
                    interface.name(),
                    format!("the existing interface is not a TUN or TAP device (type {other:#x})"),
                ))
            }
        };
        if actual == layer {
            return Ok(());
        }
        Err(Error::incompatible(
            Operation::Attach,
            interface.name(),
            format!("the existing interface is {actual:?}, and this build asked for {layer:?}"),
        ))
    }
}
