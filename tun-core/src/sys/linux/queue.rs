//! One queue: an fd of `/dev/net/tun` attached to a device with `TUNSETIFF`, and its framing
//! (TUN or TAP, with or without the packet information header).

use std::ffi::CString;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use super::vnet::{self, Granted, Vnet};
use crate::batch::{self, PacketBatch};

use crate::config::Layer;
use crate::error::Operation;
use crate::sys::unix::{cvt, ifreq_name, ifreq_with_name, Fd};

/// The length of the packet information header (`struct tun_pi`: flags and EtherType).
pub(crate) const PACKET_INFO_LEN: usize = 4;

/// How to open a queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenOptions {
    pub(crate) layer: Layer,
    pub(crate) packet_info: bool,
    pub(crate) multi_queue: bool,
    pub(crate) close_on_exec: bool,
    pub(crate) nonblocking: bool,
    /// `IFF_VNET_HDR` with checksum and segmentation offloads (TUN only).
    pub(crate) offload: bool,
}

impl OpenOptions {
    /// The `TUNSETIFF` flags.
    fn flags(&self) -> libc::c_short {
        let mut flags = match self.layer {
            Layer::Tun => libc::IFF_TUN,
            Layer::Tap => libc::IFF_TAP,
        };
        if !self.packet_info {
            flags |= libc::IFF_NO_PI;
        }
        if self.multi_queue {
            flags |= libc::IFF_MULTI_QUEUE;
        }
        if self.offload {
            flags |= libc::IFF_VNET_HDR;
        }
        // All flags above fit in 16 bits (the width of `ifr_flags`).
        flags as libc::c_short
    }
}

/// An fd attached to a TUN/TAP device.
#[derive(Debug)]
pub(crate) struct Queue {
    fd: Fd,
    layer: Layer,
    packet_info: bool,
    /// Mirrors the fd's `O_NONBLOCK` (set through this queue): `recv_batch` reads on only in
    /// non-blocking mode.
    nonblocking: AtomicBool,
    /// Present on an offload queue (`IFF_VNET_HDR`).
    vnet: Option<Box<Vnet>>,
}

/// Whether a device of this name exists in the calling thread's namespace (where `/dev/net/tun`
/// looks names up too).
fn interface_exists(name: &str) -> bool {
    let Ok(name) = CString::new(name) else {
        return false;
    };
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    unsafe { libc::if_nametoindex(name.as_ptr()) != 0 }
}

/// The error behind [`io::ErrorKind::NotFound`] from packet I/O on a deleted device.
#[derive(Debug)]
struct DeviceGone(io::Error);

impl fmt::Display for DeviceGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the TUN/TAP device no longer exists (it was deleted, for example with \
             `ip link del`): {}",
            self.0
        )
    }
}

impl std::error::Error for DeviceGone {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl Queue {
    /// Opens `/dev/net/tun` and attaches it to the device `name` (empty or a `%d` pattern: the
    /// kernel picks). Returns the queue and the device's actual name; on error, which step failed.
    pub(crate) fn open(
        name: &str,
        options: OpenOptions,
    ) -> Result<(Queue, String), (Operation, io::Error)> {
        let mut open_flags = libc::O_RDWR;
        if options.close_on_exec {
            open_flags |= libc::O_CLOEXEC;
        }
        if options.nonblocking {
            open_flags |= libc::O_NONBLOCK;
        }
        // SAFETY: the path is a NUL-terminated string literal and `open` takes no other pointer.
        let raw = cvt(unsafe { libc::open(c"/dev/net/tun".as_ptr(), open_flags) })
            .map_err(|err| (Operation::Open, err))?;
        // SAFETY: `open` just returned this fd; nothing else owns it.
        let fd = Fd::from(unsafe { OwnedFd::from_raw_fd(raw) });
        let mut queue = Queue {
            fd,
            layer: options.layer,
            packet_info: options.packet_info,
            nonblocking: AtomicBool::new(options.nonblocking),
            vnet: None,
        };
        let mut ifr = ifreq_with_name(name).map_err(|err| (Operation::Create, err))?;
        ifr.ifr_ifru.ifru_flags = options.flags();
        // SAFETY: TUNSETIFF reads and writes one `struct ifreq`, which `ifr` is.
        cvt(unsafe { libc::ioctl(queue.fd.raw(), libc::TUNSETIFF as _, &mut ifr) }).map_err(
            |err| {
                // The same errno means different things for a new and an existing device
                // (EINVAL: a refused name, or a device of another kind), so say which it was.
                let operation = if interface_exists(name) {
                    Operation::Attach
                } else {
                    Operation::Create
                };
                (operation, err)
            },
        )?;
        let name = ifreq_name(&ifr);
        // Joining a multi-queue device that has other queues keeps the device's mode, whatever
        // this queue asked for: a queue whose reads would carry headers it does not expect (or
        // lack them) is refused.
        let (_, flags) = queue.get_iff().map_err(|err| (Operation::Attach, err))?;
        let has_vnet_header = i32::from(flags) & libc::IFF_VNET_HDR != 0;
        if has_vnet_header != options.offload {
            return Err((Operation::SetOffload, offload_mismatch(has_vnet_header)));
        }
        if options.offload {
            let granted =
                vnet::set_offloads(&queue.fd).map_err(|err| (Operation::SetOffload, err))?;
            queue.vnet = Some(Box::new(Vnet::new(granted)));
        } else if options.layer == Layer::Tun {
            // The offload mask is device-wide and outlives its queues: a persistent device that
            // had offload would still hand this queue super-packets, which it cannot parse.
            vnet::set_offload_mask(&queue.fd, 0).map_err(|err| (Operation::SetOffload, err))?;
        }
        Ok((queue, name))
    }

    /// An fd opened elsewhere, whose layer and packet-information mode the caller found out.
    /// One with a virtio header (`IFF_VNET_HDR`) becomes an offload queue, asking the kernel for
    /// the offloads this crate handles.
    pub(crate) fn adopt(
        fd: OwnedFd,
        layer: Layer,
        packet_info: bool,
        vnet_header: bool,
    ) -> io::Result<Queue> {
        let fd = Fd::from(fd);
        let vnet = if vnet_header {
            Some(Box::new(Vnet::new(vnet::set_offloads(&fd)?)))
        } else {
            None
        };
        Ok(Queue {
            nonblocking: AtomicBool::new(fd.is_nonblocking()?),
            fd,
            layer,
            packet_info,
            vnet,
        })
    }

    pub(crate) fn layer(&self) -> Layer {
        self.layer
    }

    pub(crate) fn has_packet_info(&self) -> bool {
        self.packet_info
    }

    /// The bytes a received frame carries beyond the MTU: the link header (14 for TAP, plus 4
    /// for a VLAN tag) and the packet information header.
    pub(crate) fn frame_overhead(&self) -> usize {
        let link = match self.layer {
            Layer::Tun => 0,
            Layer::Tap => self.layer.header_len() + 4,
        };
        link + if self.packet_info { PACKET_INFO_LEN } else { 0 }
    }

    #[inline]
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.vnet {
            None => self.fd.read(buf),
            Some(vnet) => vnet.recv(&self.fd, buf),
        }
        .map_err(|err| self.packet_error(err))
    }

    #[inline]
    pub(crate) fn send(&self, buf: &[u8]) -> io::Result<usize> {
        match &self.vnet {
            None => self.fd.write(buf),
            Some(_) => Vnet::send(&self.fd, buf),
        }
        .map_err(|err| self.packet_error(err))
    }

    #[inline]
    pub(crate) fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        match &self.vnet {
            None => self.fd.readv(bufs),
            Some(vnet) => vnet.recv_vectored(&self.fd, bufs),
        }
        .map_err(|err| self.packet_error(err))
    }

    #[inline]
    pub(crate) fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match &self.vnet {
            None => self.fd.writev(bufs),
            Some(_) => Vnet::send_vectored(&self.fd, bufs),
        }
        .map_err(|err| self.packet_error(err))
    }

    /// Fills a batch prepared by the caller: super-packets split on an offload queue, one read
    /// per packet otherwise.
    pub(crate) fn recv_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        let nonblocking = self.nonblocking.load(Ordering::Relaxed);
        match &self.vnet {
            None => {
                // In blocking mode too, every read after the first takes only what is queued
                // (`RWF_NOWAIT`), so a blocking relay gets whole batches.
                let mut first = true;
                batch::recv_each(batch, true, |tail, spill| {
                    let bufs = &mut [IoSliceMut::new(tail), IoSliceMut::new(spill)];
                    if std::mem::take(&mut first) || nonblocking {
                        self.fd.readv(bufs)
                    } else {
                        self.fd.readv_nowait(bufs)
                    }
                })
            }
            Some(vnet) => vnet.recv_batch(&self.fd, batch, nonblocking),
        }
        .map_err(|err| self.packet_error(err))
    }

    /// Sends a batch: coalesced on an offload queue, one write per packet otherwise.
    pub(crate) fn send_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        match &self.vnet {
            None => batch::send_each(batch, |packet| self.fd.write(packet)),
            Some(vnet) => vnet.send_batch(&self.fd, batch),
        }
        .map_err(|err| self.packet_error(err))
    }

    /// Whether a receive has a packet without reading (pending segments of a super-packet).
    pub(crate) fn has_pending(&self) -> bool {
        self.vnet.as_ref().is_some_and(|vnet| vnet.has_pending())
    }

    /// The offloads the kernel granted, on an offload queue.
    pub(crate) fn offload(&self) -> Option<Granted> {
        self.vnet.as_ref().map(|vnet| vnet.granted())
    }

    /// Whether `send_batch` coalesces TCP and UDP (never without offload).
    pub(crate) fn coalescing(&self) -> (bool, bool) {
        self.vnet
            .as_ref()
            .map_or((false, false), |vnet| vnet.coalescing())
    }

    /// Test support: the next coalesced write is refused by the kernel (`false` without offload).
    pub(crate) fn refuse_next_coalesced_write(&self) -> bool {
        self.vnet
            .as_ref()
            .map(|vnet| vnet.refuse_next_coalesced_write())
            .is_some()
    }

    /// Turns coalescing on or off per protocol, as far as the kernel granted it; `false` where
    /// the queue has no offload.
    pub(crate) fn set_coalescing(&self, tcp: bool, udp: bool) -> bool {
        match &self.vnet {
            Some(vnet) => {
                vnet.set_coalescing(tcp, udp);
                true
            }
            None => false,
        }
    }

    /// Packet I/O on a queue whose device was deleted fails with `EBADFD` (a read that was
    /// already waiting: `EFAULT`; rarely `EIO`): all of them become one matchable
    /// [`io::ErrorKind::NotFound`], keeping the OS error as the source.
    #[cold]
    fn packet_error(&self, err: io::Error) -> io::Error {
        let gone = match err.raw_os_error() {
            Some(libc::EBADFD | libc::EFAULT) => true,
            // EIO has other causes too: ask the fd whether it still has a device.
            Some(libc::EIO) => {
                self.get_iff().err().and_then(|e| e.raw_os_error()) == Some(libc::EBADFD)
            }
            _ => false,
        };
        if gone {
            io::Error::new(io::ErrorKind::NotFound, DeviceGone(err))
        } else {
            err
        }
    }

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.fd.set_nonblocking(nonblocking)?;
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    /// A second fd for this queue (the same open file), with the same framing (and, on an
    /// offload queue, the same offloads, with no pending segments).
    pub(crate) fn try_clone(&self) -> io::Result<Queue> {
        Ok(Queue {
            fd: self.fd.try_clone()?,
            layer: self.layer,
            packet_info: self.packet_info,
            nonblocking: AtomicBool::new(self.nonblocking.load(Ordering::Relaxed)),
            vnet: self
                .vnet
                .as_ref()
                .map(|vnet| Box::new(Vnet::new(vnet.granted()))),
        })
    }

    /// `TUNGETIFF`: the device's name and its `IFF_*` flags.
    pub(crate) fn get_iff(&self) -> io::Result<(String, libc::c_short)> {
        get_iff(self.fd.as_fd())
    }

    pub(crate) fn is_persistent(&self) -> io::Result<bool> {
        let (_, flags) = self.get_iff()?;
        Ok(i32::from(flags) & libc::IFF_PERSIST != 0)
    }

    pub(crate) fn is_multi_queue(&self) -> io::Result<bool> {
        let (_, flags) = self.get_iff()?;
        Ok(i32::from(flags) & libc::IFF_MULTI_QUEUE != 0)
    }

    /// The `TUN*` ioctls that take their argument by value.
    fn set_value(&self, request: libc::Ioctl, value: libc::c_ulong) -> io::Result<()> {
        // SAFETY: TUNSETPERSIST, TUNSETOWNER and TUNSETGROUP (the only requests passed here) read
        // their argument as an integer, not as a pointer.
        cvt(unsafe { libc::ioctl(self.fd.raw(), request, value) })?;
        Ok(())
    }

    pub(crate) fn set_persist(&self, persist: bool) -> io::Result<()> {
        self.set_value(libc::TUNSETPERSIST, libc::c_ulong::from(persist))
    }

    pub(crate) fn set_owner(&self, uid: u32) -> io::Result<()> {
        self.set_value(libc::TUNSETOWNER, libc::c_ulong::from(uid))
    }

    pub(crate) fn set_group(&self, gid: u32) -> io::Result<()> {
        self.set_value(libc::TUNSETGROUP, libc::c_ulong::from(gid))
    }

    /// `TUNSETQUEUE`: puts this queue back into (or takes it out of) the device's distribution.
    pub(crate) fn set_attached(&self, attached: bool) -> io::Result<()> {
        let mut ifr = ifreq_with_name("")?;
        let flags = if attached {
            libc::IFF_ATTACH_QUEUE
        } else {
            libc::IFF_DETACH_QUEUE
        };
        ifr.ifr_ifru.ifru_flags = flags as libc::c_short;
        // SAFETY: TUNSETQUEUE reads one `struct ifreq`, which `ifr` is.
        cvt(unsafe { libc::ioctl(self.fd.raw(), libc::TUNSETQUEUE as _, &mut ifr) })?;
        Ok(())
    }
}

/// Why a queue's offload mode cannot be what it asked for.
fn offload_mismatch(device_has_it: bool) -> io::Error {
    let detail = if device_has_it {
        "the multi-queue device's other queues use offload (IFF_VNET_HDR): build this queue \
         with `Builder::offload(true)` too"
    } else {
        "the multi-queue device's other queues do not use offload (IFF_VNET_HDR): build this \
         queue without `Builder::offload`"
    };
    io::Error::new(io::ErrorKind::InvalidInput, detail)
}

/// `TUNGETIFF` on any fd: the device's name and `IFF_*` flags, or an error if it is not an
/// attached TUN/TAP queue.
pub(crate) fn get_iff(fd: BorrowedFd<'_>) -> io::Result<(String, libc::c_short)> {
    let mut ifr = ifreq_with_name("")?;
    // SAFETY: TUNGETIFF writes one `struct ifreq`, which `ifr` is; the fd is borrowed, valid.
    cvt(unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            libc::TUNGETIFF as _,
            &mut ifr,
        )
    })?;
    // SAFETY: TUNGETIFF filled `ifru_flags`; every bit pattern is a valid `c_short`.
    let flags = unsafe { ifr.ifr_ifru.ifru_flags };
    Ok((ifreq_name(&ifr), flags))
}

impl From<Queue> for OwnedFd {
    fn from(queue: Queue) -> OwnedFd {
        queue.fd.into()
    }
}

impl AsFd for Queue {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    /// The ioctl numbers this module relies on, pinned against `linux/if_tun.h`.
    #[test]
    #[allow(clippy::unnecessary_cast)] // `libc::Ioctl` is `c_ulong` or `c_int` by target
    fn ioctl_numbers() {
        assert_eq!(libc::TUNSETIFF as u64, 0x4004_54ca);
        assert_eq!(libc::TUNGETIFF as u64, 0x8004_54d2);
        assert_eq!(libc::TUNSETPERSIST as u64, 0x4004_54cb);
        assert_eq!(libc::TUNSETQUEUE as u64, 0x4004_54d9);
        assert_eq!(libc::IFF_NO_PI, 0x1000);
        assert_eq!(libc::IFF_MULTI_QUEUE, 0x100);
        assert_eq!(libc::TUNSETOFFLOAD as u64, 0x4004_54d0);
        assert_eq!(libc::IFF_VNET_HDR, 0x4000);
        assert_eq!(
            (libc::TUN_F_CSUM, libc::TUN_F_TSO4, libc::TUN_F_TSO6),
            (0x01, 0x02, 0x04)
        );
        assert_eq!((libc::TUN_F_USO4, libc::TUN_F_USO6), (0x20, 0x40));
    }
}
