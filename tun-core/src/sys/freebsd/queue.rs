//! One open device: the fd of `/dev/tunN` or `/dev/tapN`, its framing, and the interface's
//! lifetime.
//!
//! FreeBSD allows one open per device, so a device has exactly one queue (its duplicates from
//! `try_clone` share the open file). Closing the fd does not destroy the interface here
//! (`tundtor` only brings it down and purges its addresses); [`Lifetime`] destroys it after the
//! last fd is closed, unless it is persistent.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::abi;
use crate::batch::{self, PacketBatch};
use crate::config::Layer;
use crate::sys::bsd::control::{self, ifreq_with_name};
use crate::sys::bsd::framing::{sent_len, AddressFamilies, HEADER_LEN};
use crate::sys::bsd::tun_io;
use crate::sys::unix::Fd;

/// FreeBSD's address family numbers, for the `TUNSIFHEAD` header.
const FAMILIES: AddressFamilies = AddressFamilies::FREEBSD;

/// How packets are framed between the user and the fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// TUN: the driver's address-family header is added and stripped here.
    AddressFamily,
    /// TUN with packet information, and TAP: the bytes pass as they are (for TUN, the
    /// address-family header is the packet information).
    Raw,
}

/// Destroys the interface (`SIOCIFDESTROY`) when dropped, unless it is to be kept.
///
/// Every queue holds it in an `Arc` after its fd (fields drop in order), so it acts only once
/// the last fd is closed: the driver's destroy waits for open fds to close, so destroying
/// earlier would block forever. A build holds it from the moment the interface exists, so a
/// failed build destroys what it created.
#[derive(Debug)]
pub(crate) struct Lifetime {
    index: u32,
    control: OwnedFd,
    keep: AtomicBool,
}

impl Lifetime {
    /// For an interface this build created (destroyed on drop) or attached to (kept: it was
    /// persistent already).
    pub(crate) fn new(index: u32, control: OwnedFd, created: bool) -> Lifetime {
        Lifetime {
            index,
            control,
            keep: AtomicBool::new(!created),
        }
    }

    fn destroy(&self) -> io::Result<()> {
        // By index: the interface may have been renamed since.
        let mut ifr = ifreq_with_name(&control::index_to_name(self.index)?)?;
        // SAFETY: SIOCIFDESTROY reads the name of one `struct ifreq`.
        unsafe { control::ioctl(self.control.as_fd(), abi::SIOCIFDESTROY, &mut ifr) }
    }
}

impl Drop for Lifetime {
    fn drop(&mut self) {
        if !self.keep.load(Ordering::Acquire) {
            // Nothing to report to in a drop: an interface already destroyed by someone else
            // (ENXIO) is the only expected failure.
            let _ = self.destroy();
        }
    }
}

/// An open TUN/TAP device.
#[derive(Debug)]
pub(crate) struct Queue {
    // Declared first, so it closes before `lifetime` may destroy the interface.
    fd: Fd,
    layer: Layer,
    framing: Framing,
    lifetime: Arc<Lifetime>,
}

impl Queue {
    pub(crate) fn new(fd: Fd, layer: Layer, packet_info: bool, lifetime: Arc<Lifetime>) -> Queue {
        let framing = match (layer, packet_info) {
            (Layer::Tun, false) => Framing::AddressFamily,
            _ => Framing::Raw,
        };
        Queue {
            fd,
            layer,
            framing,
            lifetime,
        }
    }

    pub(crate) fn fd(&self) -> &Fd {
        &self.fd
    }

    pub(crate) fn layer(&self) -> Layer {
        self.layer
    }

    /// Whether the user sees the address-family header (packet information on FreeBSD TUN).
    pub(crate) fn has_packet_info(&self) -> bool {
        self.layer == Layer::Tun && self.framing == Framing::Raw
    }

    /// The bytes a received frame carries beyond the MTU: the Ethernet header and a VLAN tag
    /// for TAP, the address-family header for TUN with packet information.
    pub(crate) fn frame_overhead(&self) -> usize {
        match self.layer {
            Layer::Tap => self.layer.header_len() + 4,
            Layer::Tun if self.has_packet_info() => HEADER_LEN,
            Layer::Tun => 0,
        }
    }

    #[inline]
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self.framing {
            Framing::AddressFamily => tun_io::recv(&self.fd, buf),
            Framing::Raw => self.fd.read(buf),
        }
    }

    #[inline]
    pub(crate) fn send(&self, buf: &[u8]) -> io::Result<usize> {
        match self.framing {
            Framing::AddressFamily => tun_io::send(&self.fd, FAMILIES, buf),
            Framing::Raw => sent_len(self.fd.write(buf)?, 0),
        }
    }

    #[inline]
    pub(crate) fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        match self.framing {
            Framing::AddressFamily => tun_io::recv_vectored(&self.fd, bufs),
            Framing::Raw => self.fd.readv(bufs),
        }
    }

    #[inline]
    pub(crate) fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self.framing {
            Framing::AddressFamily => tun_io::send_vectored(&self.fd, FAMILIES, bufs),
            Framing::Raw => sent_len(self.fd.writev(bufs)?, 0),
        }
    }

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.fd.set_nonblocking(nonblocking)
    }

    /// One read per packet (the driver has no offload); reads on while there are packets in
    /// non-blocking mode, which is asked of the fd (one `fcntl` per batch).
    pub(crate) fn recv_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        let nonblocking = self.fd.is_nonblocking()?;
        batch::recv_each(batch, nonblocking, |tail, spill| {
            self.recv_vectored(&mut [IoSliceMut::new(tail), IoSliceMut::new(spill)])
        })
    }

    /// One write per packet.
    pub(crate) fn send_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        batch::send_each(batch, |packet| self.send(packet))
    }

    /// A second fd for this device (the same open file), with the same framing and lifetime.
    pub(crate) fn try_clone(&self) -> io::Result<Queue> {
        Ok(Queue {
            fd: self.fd.try_clone()?,
            layer: self.layer,
            framing: self.framing,
            lifetime: Arc::clone(&self.lifetime),
        })
    }

    /// Whether the interface stays after the last fd is closed.
    pub(crate) fn is_persistent(&self) -> io::Result<bool> {
        Ok(self.lifetime.keep.load(Ordering::Acquire))
    }

    /// Keeps the interface after the last fd is closed, or not. FreeBSD's driver keeps every
    /// interface; "not persistent" is this crate destroying it.
    pub(crate) fn set_persist(&self, persist: bool) -> io::Result<()> {
        self.lifetime.keep.store(persist, Ordering::Release);
        Ok(())
    }
}

/// Gives up the fd: the caller owns the device from here on, and it is no longer destroyed
/// (destroying it while the caller's fd is open would block until that fd is closed).
impl From<Queue> for OwnedFd {
    fn from(queue: Queue) -> OwnedFd {
        let Queue { fd, lifetime, .. } = queue;
        lifetime.keep.store(true, Ordering::Release);
        fd.into()
    }
}

impl AsFd for Queue {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
