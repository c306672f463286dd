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

/// The queue over a datagram socket pair, which keeps packet boundaries as a utun socket does:
/// the test holds the kernel's end. Everything above the fd is the macOS code itself.
#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixDatagram;

    use super::*;
    use crate::sys::ethernet_sim::{ethernet_header, ETHERTYPE_ARP, ETHERTYPE_IPV4, PEER_MAC};

    const USER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x42];
    const IPV4: &[u8] = &[
        0x45, 0, 0, 20, 1, 2, 3, 4, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];

    fn pair(packet_info: bool, ethernet: Option<Arc<EthernetSim>>) -> (Queue, UnixDatagram) {
        let (ours, kernel) = UnixDatagram::pair().unwrap();
        let fd = Fd::from(OwnedFd::from(ours));
        (Queue::new(fd, packet_info, ethernet), kernel)
    }

    fn ipv6(len: usize) -> Vec<u8> {
        let mut packet = vec![0u8; len];
        packet[0] = 0x60;
        packet
    }

    fn with_header(family: u32, packet: &[u8]) -> Vec<u8> {
        let mut bytes = family.to_be_bytes().to_vec();
        bytes.extend_from_slice(packet);
        bytes
    }

    fn from_kernel(kernel: &UnixDatagram) -> Vec<u8> {
        let mut buf = vec![0u8; 4096];
        let n = kernel.recv(&mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    #[test]
    #[cfg_attr(miri, ignore)] // socket pairs and readv/writev are system calls Miri does not run
    fn utun_queue_strips_and_adds_the_darwin_header() {
        let (queue, kernel) = pair(false, None);
        assert_eq!((queue.layer(), queue.frame_overhead()), (Layer::Tun, 0));
        kernel.send(&with_header(2, IPV4)).unwrap();
        let mut buf = [0u8; 100];
        assert_eq!(queue.recv(&mut buf).unwrap(), IPV4.len());
        assert_eq!(&buf[..IPV4.len()], IPV4);
        kernel.send(&with_header(30, &ipv6(48))).unwrap();
        assert_eq!(queue.recv(&mut buf).unwrap(), 48);
        // FreeBSD's AF_INET6 (28) is no Darwin family: an error, and the next packet is fine.
        kernel.send(&with_header(28, &ipv6(48))).unwrap();
        let err = queue.recv(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        kernel.send(&with_header(2, IPV4)).unwrap();
        assert_eq!(queue.recv(&mut buf).unwrap(), IPV4.len());

        assert_eq!(queue.send(IPV4).unwrap(), IPV4.len());
        assert_eq!(from_kernel(&kernel), with_header(2, IPV4));
        assert_eq!(queue.send(&ipv6(40)).unwrap(), 40);
        assert_eq!(from_kernel(&kernel), with_header(30, &ipv6(40)));
        let err = queue.send(&[0x55, 0, 0]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    #[cfg_attr(miri, ignore)] // socket pairs and readv/writev are system calls Miri does not run
    fn utun_queue_vectored_io_keeps_one_packet() {
        let (queue, kernel) = pair(false, None);
        let packet = ipv6(100);
        let parts = [
            IoSlice::new(&[]),
            IoSlice::new(&packet[..1]),
            IoSlice::new(&packet[1..60]),
            IoSlice::new(&packet[60..]),
        ];
        assert_eq!(queue.send_vectored(&parts).unwrap(), 100);
        assert_eq!(from_kernel(&kernel), with_header(30, &packet));
        kernel.send(&with_header(2, IPV4)).unwrap();
        let (mut a, mut b) = ([0u8; 7], [0u8; 50]);
        let n = queue
            .recv_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)])
            .unwrap();
        assert_eq!(n, IPV4.len());
        assert_eq!(a[..], IPV4[..7]);
        assert_eq!(b[..13], IPV4[7..]);
    }

    #[test]
    #[cfg_attr(miri, ignore)] // socket pairs and readv/writev are system calls Miri does not run
    fn utun_queue_with_packet_info_passes_the_header() {
        let (queue, kernel) = pair(true, None);
        assert!(queue.has_packet_info());
        assert_eq!(queue.frame_overhead(), HEADER_LEN);
        let raw = with_header(30, &ipv6(40));
        assert_eq!(queue.send(&raw).unwrap(), raw.len());
        assert_eq!(from_kernel(&kernel), raw);
        kernel.send(&with_header(2, IPV4)).unwrap();
        let mut buf = [0u8; 100];
        let n = queue.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], &with_header(2, IPV4)[..]);
    }

    #[test]
    #[cfg_attr(miri, ignore)] // socket pairs and readv/writev are system calls Miri does not run
    fn macos_simulated_tap_queue_frames_strips_and_answers() {
        let sim = Arc::new(EthernetSim::new(USER));
        let (queue, kernel) = pair(false, Some(Arc::clone(&sim)));
        assert_eq!((queue.layer(), queue.frame_overhead()), (Layer::Tap, 14));
        // Kernel → user: a frame from the peer, the header written in front of the packet.
        kernel.send(&with_header(2, IPV4)).unwrap();
        let mut buf = [0u8; 100];
        let n = queue.recv(&mut buf).unwrap();
        assert_eq!(n, 14 + IPV4.len());
        assert_eq!(buf[..14], ethernet_header(USER, PEER_MAC, ETHERTYPE_IPV4));
        assert_eq!(&buf[14..n], IPV4);
        assert!(
            queue.recv(&mut [0u8; 13]).is_err(),
            "no room for the header"
        );
        // User → kernel: the frame stripped, the family from the EtherType's packet.
        let mut frame = ethernet_header(PEER_MAC, USER, 0x86dd).to_vec();
        frame.extend_from_slice(&ipv6(40));
        assert_eq!(queue.send(&frame).unwrap(), frame.len());
        assert_eq!(from_kernel(&kernel), with_header(30, &ipv6(40)));
        // An ARP request: answered by the next receive, nothing reaches the kernel.
        let mut arp = ethernet_header([0xff; 6], USER, ETHERTYPE_ARP).to_vec();
        arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        arp.extend_from_slice(&USER);
        arp.extend_from_slice(&[10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
        assert_eq!(queue.send(&arp).unwrap(), arp.len());
        assert!(queue.has_pending());
        let n = queue.recv(&mut buf).unwrap();
        assert_eq!((n, &buf[20..22]), (42, &[0, 2][..]));
        assert!(!queue.has_pending());
        // Not IP: taken, dropped, counted.
        let lldp = ethernet_header([0x01, 0x80, 0xc2, 0, 0, 0x0e], USER, 0x88cc);
        assert_eq!(queue.send(&lldp).unwrap(), 14);
        assert_eq!(sim.dropped(), 1);
        kernel.set_nonblocking(true).unwrap();
        assert!(
            kernel.recv(&mut buf).is_err(),
            "a dropped frame reached the kernel"
        );
    }

    #[test]
    #[cfg_attr(miri, ignore)] // socket pairs and readv/writev are system calls Miri does not run
    fn macos_simulated_tap_queue_vectored_frames() {
        let sim = Arc::new(EthernetSim::new(USER));
        let (queue, kernel) = pair(false, Some(sim));
        // A long frame whose header is split across buffers: gathered without a copy.
        let mut frame = ethernet_header(PEER_MAC, USER, 0x86dd).to_vec();
        frame.extend_from_slice(&ipv6(400));
        let parts = [
            IoSlice::new(&frame[..5]),
            IoSlice::new(&frame[5..14]),
            IoSlice::new(&frame[14..15]),
            IoSlice::new(&frame[15..]),
        ];
        assert_eq!(queue.send_vectored(&parts).unwrap(), frame.len());
        assert_eq!(from_kernel(&kernel), with_header(30, &ipv6(400)));
        // A short one, header split too: examined whole.
        let mut short = ethernet_header(PEER_MAC, USER, ETHERTYPE_IPV4).to_vec();
        short.extend_from_slice(IPV4);
        let parts = [IoSlice::new(&short[..3]), IoSlice::new(&short[3..])];
        assert_eq!(queue.send_vectored(&parts).unwrap(), short.len());
        assert_eq!(from_kernel(&kernel), with_header(2, IPV4));
        // Receiving into several buffers: the header in the first one.
        kernel.send(&with_header(2, IPV4)).unwrap();
        let (mut a, mut b) = ([0u8; 16], [0u8; 64]);
        let n = queue
            .recv_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)])
            .unwrap();
        assert_eq!(n, 14 + IPV4.len());
        assert_eq!(a[..14], ethernet_header(USER, PEER_MAC, ETHERTYPE_IPV4));
        assert_eq!(a[14..], IPV4[..2]);
        assert_eq!(b[..IPV4.len() - 2], IPV4[2..]);
    }
}
