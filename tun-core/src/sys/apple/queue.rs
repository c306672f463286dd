//! One open utun: its control socket, and how packets are framed between the user and it.
//!
//! The utun socket is the interface: closing its last fd destroys the utun (with its addresses
//! and routes), so there is nothing to clean up here, and a utun has exactly one queue (its
//! duplicates from `try_clone` share the socket).

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use crate::batch::{self, PacketBatch};
use crate::config::Layer;
use crate::sys::bsd::framing::{first_byte, sent_len, AddressFamilies, HEADER_LEN};
use crate::sys::bsd::tun_io;
use crate::sys::ethernet_sim::{EthernetSim, Outbound, ETHERNET_HEADER_LEN};
use crate::sys::unix::Fd;

/// Darwin's address family numbers, for the utun header.
const FAMILIES: AddressFamilies = AddressFamilies::DARWIN;

/// The longest frame that a vectored send gathers into one buffer to examine, when it is not
/// an IP packet (ARP or a neighbour solicitation; anything longer is no question we answer).
const MAX_EXAMINED_FRAME: usize = 128;

/// How packets are framed between the user and the socket.
#[derive(Debug)]
enum Framing {
    /// TUN: the address-family header is added and stripped here.
    AddressFamily,
    /// TUN with packet information: the header passes as it is.
    Raw,
    /// TAP, simulated: an Ethernet header in place of the address-family header.
    Ethernet(Arc<EthernetSim>),
}

/// An open utun.
#[derive(Debug)]
pub(crate) struct Queue {
    fd: Fd,
    framing: Framing,
}

impl Queue {
    /// A queue of `layer`; `ethernet` is the simulation state shared with the interface handle
    /// (TAP only).
    pub(crate) fn new(fd: Fd, packet_info: bool, ethernet: Option<Arc<EthernetSim>>) -> Queue {
        let framing = match (ethernet, packet_info) {
            (Some(ethernet), _) => Framing::Ethernet(ethernet),
            (None, true) => Framing::Raw,
            (None, false) => Framing::AddressFamily,
        };
        Queue { fd, framing }
    }

    pub(crate) fn layer(&self) -> Layer {
        match self.framing {
            Framing::Ethernet(_) => Layer::Tap,
            Framing::AddressFamily | Framing::Raw => Layer::Tun,
        }
    }

    /// Whether the user sees the address-family header (packet information).
    pub(crate) fn has_packet_info(&self) -> bool {
        matches!(self.framing, Framing::Raw)
    }

    /// The bytes a received packet carries beyond the MTU: the Ethernet header of the
    /// simulated TAP (never a VLAN tag), or the address-family header with packet information.
    pub(crate) fn frame_overhead(&self) -> usize {
        match self.framing {
            Framing::Ethernet(_) => ETHERNET_HEADER_LEN,
            Framing::Raw => HEADER_LEN,
            Framing::AddressFamily => 0,
        }
    }

    /// Whether a frame made in userspace (a simulated TAP device's answer) waits for `recv`,
    /// which the fd's readiness does not show.
    pub(crate) fn has_pending(&self) -> bool {
        match &self.framing {
            Framing::Ethernet(sim) => sim.has_reply(),
            Framing::AddressFamily | Framing::Raw => false,
        }
    }

    #[inline]
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.framing {
            Framing::AddressFamily => tun_io::recv(&self.fd, FAMILIES, buf),
            Framing::Raw => self.fd.read(buf),
            Framing::Ethernet(sim) => {
                if let Some(len) = sim.take_reply(buf) {
                    return Ok(len);
                }
                let (header, packet) = split_frame_buffer(buf)?;
                let (len, version) = tun_io::recv_with_version(&self.fd, FAMILIES, packet)?;
                header.copy_from_slice(&sim.header(version));
                Ok(ETHERNET_HEADER_LEN + len)
            }
        }
    }

    #[inline]
    pub(crate) fn send(&self, buf: &[u8]) -> io::Result<usize> {
        match &self.framing {
            Framing::AddressFamily => tun_io::send(&self.fd, FAMILIES, buf),
            Framing::Raw => sent_len(self.fd.write(buf)?, 0),
            Framing::Ethernet(sim) => match sim.outbound(buf) {
                Outbound::Ip { packet, .. } => {
                    tun_io::send(&self.fd, FAMILIES, packet).map(|len| len + ETHERNET_HEADER_LEN)
                }
                // Taken, as a link takes a frame it then drops or answers.
                Outbound::Answered | Outbound::Dropped(_) => Ok(buf.len()),
            },
        }
    }

    #[inline]
    pub(crate) fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        match &self.framing {
            Framing::AddressFamily => tun_io::recv_vectored(&self.fd, FAMILIES, bufs),
            Framing::Raw => self.fd.readv(bufs),
            Framing::Ethernet(sim) => {
                if let Some(len) = sim.take_reply_vectored(bufs) {
                    return Ok(len);
                }
                let count = bufs.len();
                let Some((first, rest)) = bufs.split_first_mut() else {
                    return Err(short_buffer());
                };
                let (header, packet) = split_frame_buffer(first)?;
                let scattered = std::iter::once(packet).chain(rest.iter_mut().map(|b| &mut **b));
                let (len, version) = tun_io::recv_scattered(&self.fd, FAMILIES, scattered, count)?;
                header.copy_from_slice(&sim.header(version));
                Ok(ETHERNET_HEADER_LEN + len)
            }
        }
    }

    #[inline]
    pub(crate) fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match &self.framing {
            Framing::AddressFamily => tun_io::send_vectored(&self.fd, FAMILIES, bufs),
            Framing::Raw => sent_len(self.fd.writev(bufs)?, 0),
            Framing::Ethernet(sim) => self.send_frame_vectored(sim, bufs),
        }
    }

    /// A frame gathered from `bufs`. A short one (ARP, a solicitation, a small packet) is
    /// gathered on the stack and handled as by `send`; in a longer one only the beginning is
    /// examined, and an IP packet goes to the kernel from where the Ethernet header ends,
    /// without a copy.
    fn send_frame_vectored(&self, sim: &EthernetSim, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let total: usize = bufs.iter().map(|buf| buf.len()).sum();
        let mut head = [0u8; MAX_EXAMINED_FRAME];
        let head_len = gather(bufs, &mut head);
        let examined = head.get(..head_len).unwrap_or_default();
        match sim.outbound(examined) {
            Outbound::Ip { packet, .. } if total <= MAX_EXAMINED_FRAME => {
                tun_io::send(&self.fd, FAMILIES, packet).map(|len| len + ETHERNET_HEADER_LEN)
            }
            Outbound::Ip { .. } => {
                let packet = skip(bufs, ETHERNET_HEADER_LEN);
                let header = FAMILIES.header_for(first_byte(packet.clone()))?;
                let count = packet.clone().count();
                tun_io::send_gathered(&self.fd, header, packet, count)
                    .map(|len| len + ETHERNET_HEADER_LEN)
            }
            Outbound::Answered | Outbound::Dropped(_) => Ok(total),
        }
    }

    /// One read per packet (utun has no offload); reads on while there are packets in
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

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.fd.set_nonblocking(nonblocking)
    }
}

/// A receive buffer split into the Ethernet header's place and the packet's.
fn split_frame_buffer(buf: &mut [u8]) -> io::Result<(&mut [u8], &mut [u8])> {
    if buf.len() < ETHERNET_HEADER_LEN {
        return Err(short_buffer());
    }
    Ok(buf.split_at_mut(ETHERNET_HEADER_LEN))
}

#[cold]
fn short_buffer() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "a TAP receive buffer (the first one, for vectored reads) needs room for the 14-byte \
         Ethernet header",
    )
}

/// Copies the first bytes of the buffers into `head`; how many.
fn gather(bufs: &[IoSlice<'_>], head: &mut [u8]) -> usize {
    let mut filled = 0;
    for buf in bufs {
        let Some(room) = head.get_mut(filled..) else {
            break;
        };
        let len = room.len().min(buf.len());
        if let (Some(dst), Some(src)) = (room.get_mut(..len), buf.get(..len)) {
            dst.copy_from_slice(src);
        }
        filled += len;
    }
    filled
}

/// The buffers without their first `n` bytes, empty ones left out.
fn skip<'a>(bufs: &'a [IoSlice<'a>], n: usize) -> impl Iterator<Item = &'a [u8]> + Clone {
    bufs.iter()
        .scan(n, |left, buf| {
            let start = (*left).min(buf.len());
            *left -= start;
            Some(buf.get(start..).unwrap_or_default())
        })
        .filter(|rest| !rest.is_empty())
}

/// Gives up the socket: the caller owns the utun from here on.
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
