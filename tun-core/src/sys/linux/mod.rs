//! Linux and Android: `/dev/net/tun`, interface ioctls on a control socket, rtnetlink for listing.
//!
//! - `queue.rs`: one open queue fd: packet I/O and the `TUN*` ioctls that act on the fd.
//! - `interface.rs`: the `SIOC*IF*` ioctls on control sockets made in the device's namespace.
//! - `errors.rs`: what errno values mean here (error kinds and hints).
//! - `netlink.rs`: address listing and tun driver details (`RTM_GETADDR`, `RTM_GETLINK`), which
//!   no ioctl reports.

mod errors;
mod interface;
mod netlink;
mod queue;

use std::io;
use std::os::fd::OwnedFd;
use std::sync::Arc;

pub(crate) use self::errors::{error_kind, hint};
pub(crate) use self::interface::Interface;
pub(crate) use self::netlink::TunInfo;
pub(crate) use self::queue::Queue;
// The rtnetlink parser reads bytes the kernel (or anyone) sends: `crate::fuzz_entry` feeds it.
#[cfg(fuzzing)]
pub(crate) use self::netlink::{attributes, parse_address, parse_datagram, parse_tun_info};

use crate::builder::Config;
use crate::device::{Device, Layer};
use crate::error::{op, Error, Result};

/// Turns the C convention (-1 and `errno`) into `io::Result`, once for every call site.
pub(crate) fn cvt<T: IsMinusOne>(result: T) -> io::Result<T> {
    if result.is_minus_one() {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

pub(crate) trait IsMinusOne {
    fn is_minus_one(&self) -> bool;
}

impl IsMinusOne for libc::c_int {
    fn is_minus_one(&self) -> bool {
        *self == -1
    }
}

impl IsMinusOne for isize {
    fn is_minus_one(&self) -> bool {
        *self == -1
    }
}

/// The `TUNSETIFF` flags for a layer and packet-information mode.
fn tun_flags(layer: Layer, packet_info: bool, multi_queue: bool) -> libc::c_short {
    let mut flags = match layer {
        Layer::Tun => libc::IFF_TUN,
        Layer::Tap => libc::IFF_TAP,
    };
    if !packet_info {
        flags |= libc::IFF_NO_PI;
    }
    if multi_queue {
        flags |= libc::IFF_MULTI_QUEUE;
    }
    // All flags above fit in 16 bits (the width of `ifr_flags`).
    flags as libc::c_short
}

pub(crate) fn create(config: &Config) -> Result<Vec<Device>> {
    let multi_queue = config.multi_queue || config.queues > 1;
    let flags = tun_flags(config.layer, config.packet_info, multi_queue);
    let options = queue::OpenOptions {
        flags,
        close_on_exec: config.close_on_exec,
        nonblocking: config.nonblocking,
    };
    let (first, name) = Queue::open(&config.name, options)
        .map_err(|(operation, err)| Error::new(operation, &config.name, err))?;
    // From here on, an early return drops `first` (and any later queue): the fds close and the
    // kernel removes the device if this build created it, since it is not persistent yet.
    let interface = Arc::new(
        Interface::new(name).map_err(|err| Error::new("open control socket", &config.name, err))?,
    );
    let mut devices = Vec::with_capacity(config.queues);
    devices.push(Device::from_parts(
        first,
        Arc::clone(&interface),
        config.layer,
        config.packet_info,
    ));
    for _ in 1..config.queues {
        let (queue, _) = Queue::open(interface.name(), options)
            .map_err(|(operation, err)| Error::new(operation, interface.name(), err))?;
        devices.push(Device::from_parts(
            queue,
            Arc::clone(&interface),
            config.layer,
            config.packet_info,
        ));
    }
    Ok(devices)
}

/// Adopts an fd opened elsewhere: the kernel tells its name and mode.
pub(crate) fn adopt(fd: OwnedFd) -> Result<Device> {
    let queue = Queue::from(fd);
    let (name, flags) = queue
        .get_iff()
        .map_err(|err| Error::new(op::FROM_FD, "", err))?;
    let layer = if i32::from(flags) & libc::IFF_TAP != 0 {
        Layer::Tap
    } else {
        Layer::Tun
    };
    let interface =
        Interface::new(name).map_err(|err| Error::new("open control socket", "", err))?;
    // TUNGETIFF cannot tell: it reports IFF_NOFILTER in the bit that IFF_NO_PI uses.
    let packet_info = interface
        .tun_info()
        .map_err(|err| Error::new(op::FROM_FD, interface.name(), err))?
        .packet_info;
    Ok(Device::from_parts(
        queue,
        Arc::new(interface),
        layer,
        packet_info,
    ))
}

impl Interface {
    /// Opens one more queue of this (multi-queue) device.
    pub(crate) fn open_queue(&self, layer: Layer, packet_info: bool) -> Result<Queue> {
        let options = queue::OpenOptions {
            flags: tun_flags(layer, packet_info, true),
            close_on_exec: true,
            nonblocking: false,
        };
        Queue::open(self.name(), options)
            .map(|(queue, _)| queue)
            .map_err(|(operation, err)| Error::new(operation, self.name(), err))
    }
}
