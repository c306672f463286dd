//! Linux and Android: `/dev/net/tun`, interface ioctls on control sockets, rtnetlink for what no
//! ioctl does.
//!
//! - `queue.rs`: one open queue fd: its framing, packet I/O and the `TUN*` ioctls on the fd.
//! - `interface.rs`: the `SIOC*IF*` ioctls on control sockets made in the device's namespace.
//! - `netlink.rs`: address listing, IPv4 networks and tun driver details (`RTM_GETADDR`,
//!   `RTM_NEWADDR`/`RTM_DELADDR`, `RTM_GETLINK`).
//! - `name.rs`: the kernel's interface name rules.
//! - `errors.rs`: what errno values mean here (error kinds and hints).

mod errors;
mod interface;
mod name;
mod netlink;
mod queue;
mod vnet;

use std::io;
use std::os::fd::{AsFd, OwnedFd};

pub(crate) use self::errors::{error_kind, hint};
pub(crate) use self::interface::Interface;
pub(crate) use self::name::{check_name, MAX_NAME_LEN};
pub(crate) use self::netlink::TunInfo;
pub(crate) use self::queue::{Queue, PACKET_INFO_LEN};
// The rtnetlink parser reads bytes the kernel (or anyone) sends: `crate::fuzz_entry` feeds it.
#[cfg(fuzzing)]
pub(crate) use self::netlink::{attributes, parse_address, parse_datagram, parse_tun_info};

use super::Created;
use crate::config::{Config, Layer};
use crate::error::{Error, Operation, Result};

/// The most queues one multi-queue device may have (`MAX_TAP_QUEUES` in the kernel).
pub(crate) const MAX_QUEUES: usize = 256;

pub(crate) fn create(config: &Config) -> Result<Created> {
    let options = queue::OpenOptions {
        layer: config.layer,
        packet_info: config.packet_info,
        multi_queue: config.multi_queue || config.queues > 1,
        close_on_exec: config.close_on_exec,
        nonblocking: config.nonblocking,
        offload: config.offload,
    };
    let (first, name) = Queue::open(&config.name, options)
        .map_err(|(operation, err)| Error::new(operation, &config.name, err))?;
    // From here on, an early return drops `first` (and any later queue): the fds close and the
    // kernel removes the device if this build created it, since it is not persistent yet.
    let interface = Interface::new(name)
        .map_err(|err| Error::new(Operation::OpenControlSocket, &config.name, err))?;
    // Only an exact name can reach an existing device, whose mode may differ from the request.
    if !config.name.is_empty() && !config.name.contains('%') {
        interface.check_packet_info(config.packet_info)?;
    }
    let mut queues = Vec::with_capacity(config.queues);
    queues.push(first);
    for _ in 1..config.queues {
        let (queue, _) = Queue::open(interface.name(), options)
            .map_err(|(operation, err)| Error::new(operation, interface.name(), err))?;
        queues.push(queue);
    }
    Ok(Created { queues, interface })
}

/// Adopts an fd opened elsewhere: the kernel tells its name and mode.
pub(crate) fn adopt(fd: OwnedFd) -> Result<(Queue, Interface)> {
    let (name, flags) =
        queue::get_iff(fd.as_fd()).map_err(|err| Error::new(Operation::AdoptFd, "", err))?;
    let layer = if i32::from(flags) & libc::IFF_TAP != 0 {
        Layer::Tap
    } else {
        Layer::Tun
    };
    let interface =
        Interface::new(name).map_err(|err| Error::new(Operation::OpenControlSocket, "", err))?;
    // Where rtnetlink is refused (Android apps, API 30+), the fd is a VpnService one, which
    // never carries packet information.
    let packet_info = interface
        .packet_info()
        .map_err(|err| Error::new(Operation::AdoptFd, interface.name(), err))?
        .unwrap_or(false);
    let vnet_header = i32::from(flags) & libc::IFF_VNET_HDR != 0;
    let queue = Queue::adopt(fd, layer, packet_info, vnet_header)
        .map_err(|err| Error::new(Operation::AdoptFd, interface.name(), err))?;
    Ok((queue, interface))
}

impl Interface {
    /// Opens one more queue of this (multi-queue) device, framed like `like`.
    pub(crate) fn open_queue(&self, like: &Queue) -> Result<Queue> {
        let options = queue::OpenOptions {
            layer: like.layer(),
            packet_info: like.has_packet_info(),
            multi_queue: true,
            close_on_exec: true,
            nonblocking: false,
            offload: like.offload().is_some(),
        };
        let fail = |operation, err| Error::new(operation, self.name(), err);
        // TUNSETIFF goes by name and creates a device where none has it: make sure the name is
        // still this device's, and afterwards that the queue joined this device (not one made
        // under the name in between; dropping the queue then removes that one again).
        let name = self
            .current_name()
            .map_err(|err| fail(Operation::AddQueue, err))?;
        let (queue, attached) =
            Queue::open(&name, options).map_err(|(operation, err)| fail(operation, err))?;
        if !self.is_named(&attached) {
            return Err(fail(
                Operation::AddQueue,
                io::Error::from_raw_os_error(libc::ENODEV),
            ));
        }
        Ok(queue)
    }

    /// Fails with [`ErrorKind::Incompatible`](crate::ErrorKind::Incompatible) unless the device
    /// carries packet information exactly when `requested`. A queue that attaches to a
    /// multi-queue device with other queues gets the device's mode whatever it asked for, so
    /// the mode is read back from the tun driver.
    fn check_packet_info(&self, requested: bool) -> Result<()> {
        let actual = self
            .packet_info()
            .map_err(|err| Error::new(Operation::Attach, self.name(), err))?;
        // `None`: no rtnetlink for this process (Android apps), nothing to compare with.
        let Some(actual) = actual else {
            return Ok(());
        };
        if actual == requested {
            return Ok(());
        }
        let on_off = |on: bool| if on { "on" } else { "off" };
        Err(Error::incompatible(
            Operation::Attach,
            self.name(),
            format!(
                "the existing device has packet information {}, and this build asked for {}: \
                 match it (`Builder::packet_info`) or choose another name",
                on_off(actual),
                on_off(requested)
            ),
        ))
    }
}
