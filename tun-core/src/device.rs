//! [`Device`]: one queue of a TUN/TAP device, with packet I/O and the run-time settings.
//!
//! Packet I/O returns [`io::Result`] and runs on `&self`, so one device can be shared by a reader
//! and a writer (`Arc<Device>`, or scoped threads). The settings (MTU, addresses, link state, ...)
//! go through the interface handle that the build made in the device's network namespace; it is
//! shared by all queues of one build, so no call opens a new socket.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::builder::Builder;
use crate::check::{self, MIN_IPV6_MTU};
use crate::error::{op, Error, Result};
use crate::sys;

/// Whether a device carries IP packets (TUN) or Ethernet frames (TAP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Layer {
    /// Layer 3: every packet is an IPv4 or IPv6 packet.
    #[default]
    Tun,
    /// Layer 2: every packet is an Ethernet frame.
    Tap,
}

impl Layer {
    /// The bytes in front of the IP packet in what `recv` returns, without packet information:
    /// 0 for TUN, 14 (the Ethernet header) for TAP. Add 4 for a VLAN tag on TAP.
    pub fn header_len(self) -> usize {
        match self {
            Layer::Tun => 0,
            Layer::Tap => 14,
        }
    }
}

/// The length of the packet information header ([`Builder::packet_info`]).
pub const PACKET_INFO_LEN: usize = 4;

/// An address assigned to an interface, with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InterfaceAddress {
    /// The address (IPv4 or IPv6).
    pub ip: IpAddr,
    /// The prefix length: 24 for a `/24` (`255.255.255.0`).
    pub prefix_len: u8,
}

impl fmt::Display for InterfaceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.ip, self.prefix_len)
    }
}

/// One queue of a TUN or TAP device: packet I/O, and the device's run-time settings.
///
/// Made by [`Device::builder`] (one `Device` per queue) or adopted from an fd with
/// [`Device::from_fd`]. Closing the last queue of a non-persistent device removes the device.
///
/// A `Device` is bound to the interface it created or adopted (its index), not to a name: if the
/// interface is renamed, [`name`](Self::name) and the settings follow it; if it is deleted, every
/// getter and setter fails with [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) and never
/// acts on another interface that has taken the name.
///
/// I/O is blocking unless [`set_nonblocking`](Self::set_nonblocking) (or
/// [`Builder::nonblocking`]) says otherwise. `Read` and `Write` are implemented for `Device` and
/// `&Device` with packet semantics: one `read` returns one packet, one `write` sends one packet.
pub struct Device {
    queue: sys::Queue,
    interface: Arc<sys::Interface>,
    layer: Layer,
    packet_info: bool,
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("name", &self.name())
            .field("queue", &self.queue)
            .field("layer", &self.layer)
            .field("packet_info", &self.packet_info)
            .finish()
    }
}

impl Device {
    /// A [`Builder`] for devices used directly (blocking or with `mio`).
    pub fn builder() -> Builder<Device> {
        Builder::new()
    }

    pub(crate) fn from_parts(
        queue: sys::Queue,
        interface: Arc<sys::Interface>,
        layer: Layer,
        packet_info: bool,
    ) -> Device {
        Device {
            queue,
            interface,
            layer,
            packet_info,
        }
    }

    /// The interface name, as the kernel named it (a `%d` pattern is filled in), and as it is
    /// now if it was renamed since (the last name it had, once deleted). Asks the kernel each
    /// time (one `ioctl`).
    pub fn name(&self) -> &str {
        self.interface.name()
    }

    /// TUN or TAP.
    pub fn layer(&self) -> Layer {
        self.layer
    }

    /// Whether every packet carries the 4-byte packet information header.
    pub fn has_packet_info(&self) -> bool {
        self.packet_info
    }

    fn fail(&self, operation: &'static str) -> impl FnOnce(io::Error) -> Error + '_ {
        move |err| Error::new(operation, self.name(), err)
    }

    /// For a setting refused by its check (`check.rs`).
    fn invalid(&self, operation: &'static str) -> impl FnOnce(String) -> Error + '_ {
        move |detail| Error::invalid(operation, self.name(), detail)
    }

    // --- packet I/O -------------------------------------------------------------------------

    /// Receives one packet into `buf` and returns its length.
    ///
    /// A packet longer than `buf` is truncated: `recv` returns the first `buf.len()` bytes and the
    /// kernel discards the rest (the next `recv` returns the next packet). A buffer of
    /// [`max_packet_len`](Self::max_packet_len) bytes (MTU + link header + packet information)
    /// never truncates; 65536 + 22 bytes is enough for any MTU.
    ///
    /// Once the device is deleted (`ip link del`), this and every other packet I/O call fail with
    /// [`io::ErrorKind::NotFound`], so a read loop can end cleanly on it.
    #[inline]
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.queue.recv(buf)
    }

    /// Sends one packet, returning its length. An empty packet is refused (`InvalidInput`), as
    /// by every send method.
    #[inline]
    pub fn send(&self, packet: &[u8]) -> io::Result<usize> {
        if packet.is_empty() {
            return Err(empty_packet());
        }
        self.queue.send(packet)
    }

    /// Sends one packet and fails with `WriteZero` if the kernel took less than all of it. (It
    /// never splits a packet, so this is [`send`](Self::send) with that check made explicit.)
    #[inline]
    pub fn send_all(&self, packet: &[u8]) -> io::Result<()> {
        let written = self.send(packet)?;
        check_whole(written, packet.len())
    }

    /// Sends one packet gathered from `bufs`, failing with `WriteZero` unless it was taken whole.
    #[inline]
    pub fn send_vectored_all(&self, bufs: &[IoSlice<'_>]) -> io::Result<()> {
        let written = self.send_vectored(bufs)?;
        check_whole(written, bufs.iter().map(|buf| buf.len()).sum())
    }

    /// Receives one packet scattered over `bufs` (at most 1024 of them: more are refused with
    /// `InvalidInput` before any system call, since the kernel would fill only the first 1024).
    #[inline]
    pub fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.queue.recv_vectored(bufs)
    }

    /// Sends one packet gathered from `bufs` (for example a header and a payload). At most 1024
    /// buffers: more are refused with `InvalidInput` before any system call, since the kernel
    /// would take only the first 1024 and send a truncated packet.
    #[inline]
    pub fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if bufs.iter().all(|buf| buf.is_empty()) {
            return Err(empty_packet());
        }
        self.queue.send_vectored(bufs)
    }

    /// Switches this queue between blocking and non-blocking I/O (`WouldBlock` when no packet is
    /// waiting).
    pub fn set_nonblocking(&self, nonblocking: bool) -> Result<()> {
        self.queue
            .set_nonblocking(nonblocking)
            .map_err(self.fail("set non-blocking mode"))
    }

    /// The buffer size with which [`recv`](Self::recv) never truncates a packet at the current
    /// MTU: MTU + link header (14 for TAP, plus 4 for a VLAN tag) + packet information (4).
    pub fn max_packet_len(&self) -> Result<usize> {
        let vlan = if self.layer == Layer::Tap { 4 } else { 0 };
        let info = if self.packet_info { PACKET_INFO_LEN } else { 0 };
        Ok(self.mtu()? as usize + self.layer.header_len() + vlan + info)
    }

    // --- link settings ----------------------------------------------------------------------

    /// The interface index.
    pub fn index(&self) -> Result<u32> {
        self.interface
            .index()
            .map_err(self.fail("get interface index"))
    }

    /// The MTU.
    pub fn mtu(&self) -> Result<u32> {
        self.interface.mtu().map_err(self.fail("get MTU"))
    }

    /// Sets the MTU, from [`MIN_MTU`](crate::MIN_MTU) to [`MAX_MTU`](crate::MAX_MTU), and not
    /// below [`MIN_IPV6_MTU`](crate::MIN_IPV6_MTU) while the device has IPv6 addresses other
    /// than link-local ones (the kernel would remove them all): the same rule as the builder's.
    pub fn set_mtu(&self, mtu: u32) -> Result<()> {
        let has_ipv6 = mtu < MIN_IPV6_MTU && self.has_configured_ipv6()?;
        check::mtu(mtu, has_ipv6).map_err(self.invalid("set MTU"))?;
        self.interface.set_mtu(mtu).map_err(self.fail("set MTU"))
    }

    /// Whether the device has an IPv6 address that is not link-local (`fe80::/10`), that is,
    /// one that somebody configured.
    fn has_configured_ipv6(&self) -> Result<bool> {
        Ok(self.addresses()?.iter().any(|address| match address.ip {
            IpAddr::V6(ip) => ip.segments()[0] & 0xffc0 != 0xfe80,
            IpAddr::V4(_) => false,
        }))
    }

    /// Whether the link is up (`IFF_UP`).
    pub fn is_up(&self) -> Result<bool> {
        self.interface.is_up().map_err(self.fail("get link state"))
    }

    /// Brings the link up or down.
    ///
    /// Taking a link down makes Linux drop its IPv6 addresses (unless the sysctl
    /// `net.ipv6.conf.<name>.keep_addr_on_down` is set); add them again after bringing it up.
    pub fn set_up(&self, up: bool) -> Result<()> {
        let op = if up {
            "bring link up"
        } else {
            "bring link down"
        };
        self.interface.set_up(up).map_err(self.fail(op))
    }

    /// The MAC address of a TAP device.
    pub fn mac(&self) -> Result<[u8; 6]> {
        self.require_tap("get MAC address")?;
        self.interface.mac().map_err(self.fail("get MAC address"))
    }

    /// Sets the MAC address of a TAP device (unicast, not all zeros).
    pub fn set_mac(&self, mac: [u8; 6]) -> Result<()> {
        self.require_tap("set MAC address")?;
        check::mac(mac).map_err(self.invalid("set MAC address"))?;
        self.interface
            .set_mac(mac)
            .map_err(self.fail("set MAC address"))
    }

    fn require_tap(&self, operation: &'static str) -> Result<()> {
        match self.layer {
            Layer::Tap => Ok(()),
            Layer::Tun => Err(Error::invalid(
                operation,
                self.name(),
                "a TUN device has no MAC address; only TAP devices do".into(),
            )),
        }
    }

    // --- IPv4 -------------------------------------------------------------------------------

    /// The (primary) IPv4 address, if the device has one.
    pub fn address(&self) -> Result<Option<Ipv4Addr>> {
        self.interface
            .ipv4(sys::Ipv4Field::Address)
            .map_err(self.fail("get IPv4 address"))
    }

    /// Sets the (primary) IPv4 address. The kernel resets the netmask to the address's class
    /// default, so set the netmask after it (or use [`set_ipv4`](Self::set_ipv4)).
    pub fn set_address(&self, address: Ipv4Addr) -> Result<()> {
        self.interface
            .set_ipv4(sys::Ipv4Field::Address, address)
            .map_err(self.fail("set IPv4 address"))
    }

    /// Sets the IPv4 address and its prefix length in one call.
    pub fn set_ipv4(&self, address: Ipv4Addr, prefix_len: u8) -> Result<()> {
        let netmask = check::ipv4_prefix(prefix_len).map_err(self.invalid("set IPv4 address"))?;
        self.set_address(address)?;
        self.set_netmask(netmask)
    }

    /// The IPv4 netmask, if the device has an IPv4 address.
    pub fn netmask(&self) -> Result<Option<Ipv4Addr>> {
        self.interface
            .ipv4(sys::Ipv4Field::Netmask)
            .map_err(self.fail("get IPv4 netmask"))
    }

    /// Sets the IPv4 netmask (contiguous).
    pub fn set_netmask(&self, netmask: Ipv4Addr) -> Result<()> {
        check::netmask(netmask).map_err(self.invalid("set IPv4 netmask"))?;
        self.interface
            .set_ipv4(sys::Ipv4Field::Netmask, netmask)
            .map_err(self.fail("set IPv4 netmask"))
    }

    /// The IPv4 address of the point-to-point peer, if one is set.
    pub fn destination(&self) -> Result<Option<Ipv4Addr>> {
        self.interface
            .ipv4(sys::Ipv4Field::Destination)
            .map_err(self.fail("get IPv4 destination"))
    }

    /// Sets the IPv4 address of the point-to-point peer.
    pub fn set_destination(&self, destination: Ipv4Addr) -> Result<()> {
        self.interface
            .set_ipv4(sys::Ipv4Field::Destination, destination)
            .map_err(self.fail("set IPv4 destination"))
    }

    /// The IPv4 broadcast address, if one is set.
    pub fn broadcast(&self) -> Result<Option<Ipv4Addr>> {
        self.interface
            .ipv4(sys::Ipv4Field::Broadcast)
            .map_err(self.fail("get IPv4 broadcast address"))
    }

    /// Sets the IPv4 broadcast address.
    pub fn set_broadcast(&self, broadcast: Ipv4Addr) -> Result<()> {
        self.interface
            .set_ipv4(sys::Ipv4Field::Broadcast, broadcast)
            .map_err(self.fail("set IPv4 broadcast address"))
    }

    // --- IPv6 and listing -------------------------------------------------------------------

    /// Adds an IPv6 address with its prefix length (0 to 128); neither unspecified (`::`) nor
    /// multicast.
    pub fn add_ipv6(&self, address: Ipv6Addr, prefix_len: u8) -> Result<()> {
        check::ipv6_address(address, prefix_len).map_err(self.invalid(op::ADD_IPV6))?;
        self.interface
            .add_ipv6(address, prefix_len)
            .map_err(self.fail(op::ADD_IPV6))
    }

    /// Removes an IPv6 address.
    pub fn remove_ipv6(&self, address: Ipv6Addr, prefix_len: u8) -> Result<()> {
        check::ipv6_prefix(prefix_len).map_err(self.invalid(op::REMOVE_IPV6))?;
        self.interface
            .remove_ipv6(address, prefix_len)
            .map_err(self.fail(op::REMOVE_IPV6))
    }

    /// Every address of the device, IPv4 and IPv6 (link-local ones included), as the kernel
    /// lists them.
    pub fn addresses(&self) -> Result<Vec<InterfaceAddress>> {
        self.interface
            .addresses()
            .map_err(self.fail("list addresses"))
    }
}

#[cold]
fn empty_packet() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "an empty packet cannot be sent: a packet has at least one byte",
    )
}

fn check_whole(written: usize, len: usize) -> io::Result<()> {
    if written == len {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("the device took {written} of {len} bytes of the packet"),
        ))
    }
}

/// Settings that only Linux (and Android) TUN/TAP devices have.
#[cfg(any(target_os = "linux", target_os = "android"))]
impl Device {
    /// Adopts an open, attached TUN/TAP queue, for example one handed over by Android's
    /// `VpnService` or by another process. The fd is owned from here on (closed on drop); the name,
    /// layer and packet-information mode are read from the kernel (`TUNGETIFF`).
    ///
    /// The interface settings go through a control socket made now, in the calling thread's
    /// network namespace: call this from the namespace the device lives in.
    pub fn from_fd(fd: std::os::fd::OwnedFd) -> Result<Device> {
        sys::adopt(fd)
    }

    /// Like [`from_fd`](Self::from_fd), for a raw fd.
    ///
    /// # Safety
    /// `fd` must be an open fd that nothing else owns or closes: the `Device` closes it.
    pub unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> Result<Device> {
        // SAFETY: the caller promises that `fd` is open and owned by nobody else.
        let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        sys::adopt(fd)
    }

    /// Opens one more queue of this multi-queue device ([`Builder::multi_queue`]), sharing this
    /// device's control socket. Call it from the device's network namespace.
    pub fn add_queue(&self) -> Result<Device> {
        let queue = self.interface.open_queue(self.layer, self.packet_info)?;
        Ok(Device::from_parts(
            queue,
            Arc::clone(&self.interface),
            self.layer,
            self.packet_info,
        ))
    }

    /// Re-enables this queue after [`detach_queue`](Self::detach_queue) (`TUNSETQUEUE` with
    /// `IFF_ATTACH_QUEUE`).
    pub fn attach_queue(&self) -> Result<()> {
        self.set_attached(true, "attach queue")
    }

    /// Takes this queue out of the device's packet distribution without closing it: the kernel
    /// stops queueing packets to it until it is attached again.
    pub fn detach_queue(&self) -> Result<()> {
        self.set_attached(false, "detach queue")
    }

    fn set_attached(&self, attached: bool, operation: &'static str) -> Result<()> {
        self.queue.set_attached(attached).map_err(|err| {
            // TUNSETQUEUE answers EINVAL for a deleted device too: say that it is gone.
            let err = match self.interface.ensure_exists() {
                Err(gone) => gone,
                Ok(()) => err,
            };
            Error::new(operation, self.name(), err)
        })
    }

    /// Whether the device is persistent (outlives its last fd).
    pub fn is_persistent(&self) -> Result<bool> {
        self.queue
            .is_persistent()
            .map_err(self.fail("get persistence"))
    }

    /// Makes the device persistent, or not: a device that is no longer persistent disappears
    /// when its last fd is closed.
    pub fn set_persist(&self, persist: bool) -> Result<()> {
        self.queue
            .set_persist(persist)
            .map_err(self.fail("set persistence"))
    }

    /// The user allowed to attach without `CAP_NET_ADMIN`, if one is set.
    pub fn owner(&self) -> Result<Option<u32>> {
        Ok(self.tun_info("get owner")?.owner)
    }

    /// Sets the user allowed to attach without `CAP_NET_ADMIN`.
    pub fn set_owner(&self, uid: u32) -> Result<()> {
        self.queue.set_owner(uid).map_err(self.fail("set owner"))
    }

    /// The group allowed to attach without `CAP_NET_ADMIN`, if one is set.
    pub fn group(&self) -> Result<Option<u32>> {
        Ok(self.tun_info("get group")?.group)
    }

    /// Sets the group allowed to attach without `CAP_NET_ADMIN`.
    pub fn set_group(&self, gid: u32) -> Result<()> {
        self.queue.set_group(gid).map_err(self.fail("set group"))
    }

    /// Whether the device is multi-queue.
    pub fn is_multi_queue(&self) -> Result<bool> {
        self.queue
            .is_multi_queue()
            .map_err(self.fail("get queue mode"))
    }

    /// How many queues are open on the device, and how many of them are detached.
    pub fn queue_counts(&self) -> Result<(u32, u32)> {
        let info = self.tun_info("count queues")?;
        Ok((info.queues, info.detached_queues))
    }

    fn tun_info(&self, operation: &'static str) -> Result<sys::TunInfo> {
        self.interface.tun_info().map_err(self.fail(operation))
    }

    /// The length of the transmit queue, in packets.
    pub fn txqueuelen(&self) -> Result<u32> {
        self.interface
            .txqueuelen()
            .map_err(self.fail("get txqueuelen"))
    }

    /// Sets the length of the transmit queue, in packets.
    pub fn set_txqueuelen(&self, txqueuelen: u32) -> Result<()> {
        self.interface
            .set_txqueuelen(txqueuelen)
            .map_err(self.fail("set txqueuelen"))
    }
}

impl Read for Device {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.recv_vectored(bufs)
    }
}

impl Read for &Device {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.recv_vectored(bufs)
    }
}

impl Write for Device {
    fn write(&mut self, packet: &[u8]) -> io::Result<usize> {
        self.send(packet)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &Device {
    fn write(&mut self, packet: &[u8]) -> io::Result<usize> {
        self.send(packet)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(unix)]
mod fd {
    use super::Device;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};

    impl AsFd for Device {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.queue.as_fd()
        }
    }

    impl AsRawFd for Device {
        fn as_raw_fd(&self) -> RawFd {
            self.queue.as_fd().as_raw_fd()
        }
    }

    /// Gives up the queue's fd without closing it (the interface settings handle is dropped).
    impl From<Device> for OwnedFd {
        fn from(device: Device) -> OwnedFd {
            device.queue.into()
        }
    }

    impl IntoRawFd for Device {
        fn into_raw_fd(self) -> RawFd {
            OwnedFd::from(self).into_raw_fd()
        }
    }

    #[cfg(feature = "mio")]
    impl mio::event::Source for Device {
        fn register(
            &mut self,
            registry: &mio::Registry,
            token: mio::Token,
            interests: mio::Interest,
        ) -> std::io::Result<()> {
            mio::unix::SourceFd(&self.as_raw_fd()).register(registry, token, interests)
        }

        fn reregister(
            &mut self,
            registry: &mio::Registry,
            token: mio::Token,
            interests: mio::Interest,
        ) -> std::io::Result<()> {
            mio::unix::SourceFd(&self.as_raw_fd()).reregister(registry, token, interests)
        }

        fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
            mio::unix::SourceFd(&self.as_raw_fd()).deregister(registry)
        }
    }
}
