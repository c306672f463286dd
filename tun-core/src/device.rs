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

use crate::batch::PacketBatch;
use crate::check::{self, MIN_IPV6_MTU};
use crate::config::Layer;
use crate::error::{Error, Operation, Result};
use crate::net::InterfaceAddress;
use crate::sys;

/// One queue of a TUN or TAP device: packet I/O, and the device's run-time settings.
///
/// Made by [`Device::builder`] (one `Device` per queue) or adopted from an fd with
/// `Device::from_fd` (Linux, Android, macOS, iOS). Closing the last queue of a non-persistent device removes the device.
///
/// A `Device` is bound to the interface it created or adopted (its index), not to a name: if the
/// interface is renamed, [`name`](Self::name) and the settings follow it; if it is deleted, every
/// getter and setter fails with [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) and never
/// acts on another interface that has taken the name.
///
/// I/O is blocking unless [`set_nonblocking`](Self::set_nonblocking) (or
/// [`Builder::nonblocking`](crate::Builder::nonblocking)) says otherwise. `Read` and `Write`
/// are implemented for `Device` and `&Device` with packet semantics: one `read` returns one
/// packet, one `write` sends one packet.
pub struct Device {
    queue: sys::Queue,
    interface: Arc<sys::Interface>,
    /// Made by the first [`interrupter`](Self::interrupter) call; watched by
    /// [`recv_timeout`](Self::recv_timeout) and [`recv_interruptible`](Self::recv_interruptible)
    /// only, never by `recv`.
    #[cfg(tun_interrupt)]
    interrupt: std::sync::OnceLock<Arc<sys::Interrupt>>,
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("name", &self.name())
            .field("queue", &self.queue)
            .finish()
    }
}

impl Device {
    /// One `Device` per queue of what the platform created, sharing its interface handle.
    pub(crate) fn from_created(created: sys::Created) -> Vec<Device> {
        let interface = Arc::new(created.interface);
        created
            .queues
            .into_iter()
            .map(|queue| Device::new(queue, Arc::clone(&interface)))
            .collect()
    }

    fn new(queue: sys::Queue, interface: Arc<sys::Interface>) -> Device {
        Device {
            queue,
            interface,
            #[cfg(tun_interrupt)]
            interrupt: std::sync::OnceLock::new(),
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
        self.queue.layer()
    }

    /// Whether every packet carries the kernel's packet information header (only where the
    /// platform has one and the build asked for it).
    pub fn has_packet_info(&self) -> bool {
        self.queue.has_packet_info()
    }

    fn fail(&self, operation: Operation) -> impl FnOnce(io::Error) -> Error + '_ {
        move |err| Error::new(operation, self.name(), err)
    }

    /// For a setting refused by its check (`check.rs`).
    fn invalid(&self, operation: Operation) -> impl FnOnce(String) -> Error + '_ {
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
    /// by every send method. On FreeBSD, whose driver silently drops a packet written while the
    /// link is down, every send method fails with `io::ErrorKind::NetworkDown` then.
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

    /// Receives packets into `batch`, which it clears first, and returns how many it holds (at
    /// least one).
    ///
    /// In non-blocking mode it reads until the batch is full or no packet is waiting
    /// (`WouldBlock` only when none was). In blocking mode it waits for the first packet and
    /// then takes what is already queued without waiting again (Linux: `RWF_NOWAIT` reads;
    /// Windows: the rest of the ring; FreeBSD and macOS: that one read). On an offload device
    /// (`Builder::offload`, Linux) one read may bring a 64 KiB super-packet, which is split into MTU-sized packets, each a
    /// whole packet with its own headers and checksums; segments that do not fit stay pending for
    /// the next call (or the next [`recv`](Self::recv)): nothing is dropped. Elsewhere it is one
    /// read per packet, with the same meaning, so code written against it is portable.
    ///
    /// A batch makes room for packets of 1500 bytes (plus the link and packet information
    /// headers) and grows, once, when a longer packet arrives: no packet is truncated. An error after the first packet ends
    /// the call with what it has; a lasting one comes again on the next call. An offload read
    /// that cannot be split (a malformed super-packet) is dropped, with
    /// [`io::ErrorKind::InvalidData`] if it was the only thing read: keep reading after it.
    pub fn recv_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        // No MTU query (a system call, and impossible for a device moved to another
        // namespace): the room starts at the common MTU and grows with the first longer packet.
        let room = crate::batch::COMMON_MTU + self.queue.frame_overhead();
        batch.prepare_recv(room);
        self.queue.recv_batch(batch)
    }

    /// Sends every packet of `batch` and returns how many this call wrote; on `Ok` the batch is
    /// empty.
    ///
    /// On an offload device, same-flow TCP (and, with UDP segmentation, UDP) packets that the
    /// kernel's own GRO would merge are coalesced into super-packets, written with one `writev`
    /// each straight from the batch (no payload copy); everything else is written one packet
    /// per call, as on every other device.
    ///
    /// Progress is kept in the batch: after an error (or a cancelled async call) the packets
    /// already written are remembered, and calling again sends only the rest, never a packet
    /// twice. A packet the kernel refused (not `WouldBlock` or `Interrupted`) counts as done,
    /// since it would be refused again.
    pub fn send_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        self.queue.send_batch(batch)
    }

    /// Switches this queue between blocking and non-blocking I/O (`WouldBlock` when no packet is
    /// waiting).
    pub fn set_nonblocking(&self, nonblocking: bool) -> Result<()> {
        self.queue
            .set_nonblocking(nonblocking)
            .map_err(self.fail(Operation::SetNonblocking))
    }

    /// The buffer size with which [`recv`](Self::recv) never truncates a packet at the current
    /// MTU: MTU + link header (14 for TAP, plus 4 for a VLAN tag) + packet information (4).
    pub fn max_packet_len(&self) -> Result<usize> {
        Ok(self.mtu()? as usize + self.queue.frame_overhead())
    }

    // --- link settings ----------------------------------------------------------------------

    /// The interface index.
    pub fn index(&self) -> Result<u32> {
        self.interface
            .index()
            .map_err(self.fail(Operation::GetIndex))
    }

    /// The MTU.
    pub fn mtu(&self) -> Result<u32> {
        self.interface.mtu().map_err(self.fail(Operation::GetMtu))
    }

    /// Sets the MTU, from [`MIN_MTU`](crate::MIN_MTU) to [`MAX_MTU`](crate::MAX_MTU), and not
    /// below [`MIN_IPV6_MTU`](crate::MIN_IPV6_MTU) while the device has IPv6 addresses other
    /// than link-local ones (the kernel would remove them all): the same rule as the builder's.
    pub fn set_mtu(&self, mtu: u32) -> Result<()> {
        let has_ipv6 = mtu < MIN_IPV6_MTU && self.has_configured_ipv6()?;
        check::mtu(mtu, has_ipv6).map_err(self.invalid(Operation::SetMtu))?;
        self.interface
            .set_mtu(mtu)
            .map_err(self.fail(Operation::SetMtu))
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
        self.interface
            .is_up()
            .map_err(self.fail(Operation::GetLinkState))
    }

    /// Brings the link up or down.
    ///
    /// Taking a link down makes Linux drop its IPv6 addresses (unless the sysctl
    /// `net.ipv6.conf.<name>.keep_addr_on_down` is set); add them again after bringing it up.
    pub fn set_up(&self, up: bool) -> Result<()> {
        let operation = if up {
            Operation::SetLinkUp
        } else {
            Operation::SetLinkDown
        };
        self.interface.set_up(up).map_err(self.fail(operation))
    }

    /// The MAC address of a TAP device.
    pub fn mac(&self) -> Result<[u8; 6]> {
        self.require_tap(Operation::GetMac)?;
        self.interface.mac().map_err(self.fail(Operation::GetMac))
    }

    /// Sets the MAC address of a TAP device (unicast, not all zeros).
    pub fn set_mac(&self, mac: [u8; 6]) -> Result<()> {
        self.require_tap(Operation::SetMac)?;
        check::mac(mac).map_err(self.invalid(Operation::SetMac))?;
        self.interface
            .set_mac(mac)
            .map_err(self.fail(Operation::SetMac))
    }

    fn require_tap(&self, operation: Operation) -> Result<()> {
        match self.layer() {
            Layer::Tap => Ok(()),
            Layer::Tun => Err(Error::invalid(
                operation,
                self.name(),
                "a TUN device has no MAC address; only TAP devices do".into(),
            )),
        }
    }

    // --- IPv4 networks ----------------------------------------------------------------------

    /// Adds an IPv4 network: the address with its prefix length (0 to 32); neither unspecified,
    /// multicast nor the broadcast address. A device may have several (the first is the primary
    /// one that `address()` reports on Linux).
    pub fn add_ipv4(&self, address: Ipv4Addr, prefix_len: u8) -> Result<()> {
        check::ipv4_address(address, prefix_len).map_err(self.invalid(Operation::AddIpv4))?;
        self.interface
            .add_ipv4(address, prefix_len)
            .map_err(self.fail(Operation::AddIpv4))
    }

    /// Removes an IPv4 network added with [`add_ipv4`](Self::add_ipv4) (or by anyone else).
    pub fn remove_ipv4(&self, address: Ipv4Addr, prefix_len: u8) -> Result<()> {
        check::ipv4_prefix(prefix_len).map_err(self.invalid(Operation::RemoveIpv4))?;
        self.interface
            .remove_ipv4(address, prefix_len)
            .map_err(self.fail(Operation::RemoveIpv4))
    }

    // --- IPv6 and listing -------------------------------------------------------------------

    /// Adds an IPv6 address with its prefix length (0 to 128); neither unspecified (`::`) nor
    /// multicast.
    pub fn add_ipv6(&self, address: Ipv6Addr, prefix_len: u8) -> Result<()> {
        check::ipv6_address(address, prefix_len).map_err(self.invalid(Operation::AddIpv6))?;
        self.interface
            .add_ipv6(address, prefix_len)
            .map_err(self.fail(Operation::AddIpv6))
    }

    /// Removes an IPv6 address.
    pub fn remove_ipv6(&self, address: Ipv6Addr, prefix_len: u8) -> Result<()> {
        check::ipv6_prefix(prefix_len).map_err(self.invalid(Operation::RemoveIpv6))?;
        self.interface
            .remove_ipv6(address, prefix_len)
            .map_err(self.fail(Operation::RemoveIpv6))
    }

    /// Every address of the device, IPv4 and IPv6 (link-local ones included), as the kernel
    /// lists them.
    pub fn addresses(&self) -> Result<Vec<InterfaceAddress>> {
        self.interface
            .addresses()
            .map_err(self.fail(Operation::ListAddresses))
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

capability! { tun_destination_broadcast;
/// The primary IPv4 address and its fields, one ioctl each (Linux and Android; the BSDs have the
/// same). Portable code uses [`Device::add_ipv4`] and [`Device::addresses`].
impl Device {
    /// The (primary) IPv4 address, if the device has one.
    pub fn address(&self) -> Result<Option<Ipv4Addr>> {
        self.interface
            .ipv4(sys::Ipv4Field::Address)
            .map_err(self.fail(Operation::GetIpv4Address))
    }

    /// Sets the (primary) IPv4 address. The kernel resets the netmask to the address's class
    /// default, so set the netmask after it (or use [`set_ipv4`](Self::set_ipv4)).
    pub fn set_address(&self, address: Ipv4Addr) -> Result<()> {
        self.interface
            .set_ipv4(sys::Ipv4Field::Address, address)
            .map_err(self.fail(Operation::SetIpv4Address))
    }

    /// Sets the IPv4 address and its prefix length in one call.
    pub fn set_ipv4(&self, address: Ipv4Addr, prefix_len: u8) -> Result<()> {
        let netmask =
            check::ipv4_prefix(prefix_len).map_err(self.invalid(Operation::SetIpv4Address))?;
        self.set_address(address)?;
        self.set_netmask(netmask)
    }

    /// The IPv4 netmask, if the device has an IPv4 address.
    pub fn netmask(&self) -> Result<Option<Ipv4Addr>> {
        self.interface
            .ipv4(sys::Ipv4Field::Netmask)
            .map_err(self.fail(Operation::GetNetmask))
    }

    /// Sets the IPv4 netmask (contiguous).
    pub fn set_netmask(&self, netmask: Ipv4Addr) -> Result<()> {
        check::netmask(netmask).map_err(self.invalid(Operation::SetNetmask))?;
        self.interface
            .set_ipv4(sys::Ipv4Field::Netmask, netmask)
            .map_err(self.fail(Operation::SetNetmask))
    }

    /// The IPv4 address of the point-to-point peer, if one is set.
    pub fn destination(&self) -> Result<Option<Ipv4Addr>> {
        self.interface
            .ipv4(sys::Ipv4Field::Destination)
            .map_err(self.fail(Operation::GetDestination))
    }

    /// Sets the IPv4 address of the point-to-point peer.
    pub fn set_destination(&self, destination: Ipv4Addr) -> Result<()> {
        self.interface
            .set_ipv4(sys::Ipv4Field::Destination, destination)
            .map_err(self.fail(Operation::SetDestination))
    }

    /// The IPv4 broadcast address, if one is set.
    pub fn broadcast(&self) -> Result<Option<Ipv4Addr>> {
        self.interface
            .ipv4(sys::Ipv4Field::Broadcast)
            .map_err(self.fail(Operation::GetBroadcast))
    }

    /// Sets the IPv4 broadcast address.
    pub fn set_broadcast(&self, broadcast: Ipv4Addr) -> Result<()> {
        self.interface
            .set_ipv4(sys::Ipv4Field::Broadcast, broadcast)
            .map_err(self.fail(Operation::SetBroadcast))
    }
}
}

capability! { tun_from_fd;
/// Adopting queues opened elsewhere (Linux, Android, macOS and iOS).
impl Device {
    /// Adopts an open, attached TUN/TAP queue, for example one handed over by Android's
    /// `VpnService` or by another process. The fd is owned from here on (closed on drop); the name,
    /// layer and packet-information mode are read from the kernel (`TUNGETIFF`).
    ///
    /// The interface settings go through a control socket made now, in the calling thread's
    /// network namespace: call this from the namespace the device lives in.
    ///
    /// macOS and iOS: the fd must be a utun socket (connected to the utun control); the device
    /// is TUN, with the address-family header handled here as for a built one. On iOS the
    /// system configures the interface: the setters fail with
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported), pointing to
    /// `NEPacketTunnelNetworkSettings`. Closing a utun's last fd destroys it, so adopt the
    /// system's tunnel with `Device::from_system_tunnel` or
    /// [`from_borrowed_fd`](Self::from_borrowed_fd), never by taking it.
    pub fn from_fd(fd: std::os::fd::OwnedFd) -> Result<Device> {
        let (queue, interface) = sys::adopt(fd)?;
        Ok(Device::new(queue, Arc::new(interface)))
    }

    /// Like [`from_fd`](Self::from_fd), for an fd the caller keeps (for example the tunnel fd
    /// that iOS's or Android's VPN framework owns): the device works on a duplicate of it
    /// (`F_DUPFD_CLOEXEC`), which it closes on drop, and the caller's fd stays open.
    pub fn from_borrowed_fd(fd: std::os::fd::BorrowedFd<'_>) -> Result<Device> {
        let owned = fd
            .try_clone_to_owned()
            .map_err(|err| Error::new(Operation::AdoptFd, "", err))?;
        Device::from_fd(owned)
    }

    /// Like [`from_fd`](Self::from_fd), for a raw fd.
    ///
    /// # Safety
    /// `fd` must be an open fd that nothing else owns or closes: the `Device` closes it.
    pub unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> Result<Device> {
        // SAFETY: the caller promises that `fd` is open and owned by nobody else.
        let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        Device::from_fd(fd)
    }
}
}

capability! { tun_apple;
/// The packet tunnel of iOS (and macOS) Network Extensions, and the simulated TAP device.
impl Device {
    /// The fd of the utun the system gave this process, if it has one: in an iOS (or macOS)
    /// packet tunnel provider, once `setTunnelNetworkSettings` has completed. Found as
    /// wireguard-apple finds it, among fds 0 to 1024: the socket whose peer is the utun
    /// control (the `packetFlow` key path that older code reads stopped working in iOS 15).
    /// The system owns the fd: do not close it.
    pub fn find_tunnel_fd() -> Option<std::os::fd::RawFd> {
        sys::find_tunnel_fd()
    }

    /// Adopts the system's utun ([`find_tunnel_fd`](Self::find_tunnel_fd)) without taking it:
    /// the device works on a duplicate, and the system's fd stays open. The framing is the
    /// crate's (plain IP packets, the address-family header added and stripped here); on iOS
    /// the interface settings belong to `NEPacketTunnelNetworkSettings`, and the setters fail
    /// with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported). Switching the device to
    /// non-blocking mode switches the system's fd too (they share the open socket).
    pub fn from_system_tunnel() -> Result<Device> {
        let (queue, interface) = sys::adopt_system_tunnel()?;
        Ok(Device::new(queue, Arc::new(interface)))
    }

    /// For a TAP device (simulated over utun on macOS): the frames [`send`](Self::send) took
    /// but did not pass to the kernel, since the last build: not IPv4 or IPv6, addressed to
    /// another station, or ARP and neighbour discovery messages that get no answer.
    pub fn dropped_frames(&self) -> Result<u64> {
        self.require_tap(Operation::CountDroppedFrames)?;
        self.interface
            .dropped_frames()
            .map_err(self.fail(Operation::CountDroppedFrames))
    }
}
}

capability! { tun_multi_queue;
/// Multi-queue devices (Linux and Android).
impl Device {
    /// Opens one more queue of this multi-queue device
    /// ([`Builder::multi_queue`](crate::Builder::multi_queue)), sharing this
    /// device's control socket. Call it from the device's network namespace.
    pub fn add_queue(&self) -> Result<Device> {
        let queue = self.interface.open_queue(&self.queue)?;
        Ok(Device::new(queue, Arc::clone(&self.interface)))
    }

    /// Re-enables this queue after [`detach_queue`](Self::detach_queue) (`TUNSETQUEUE` with
    /// `IFF_ATTACH_QUEUE`).
    pub fn attach_queue(&self) -> Result<()> {
        self.set_attached(true, Operation::AttachQueue)
    }

    /// Takes this queue out of the device's packet distribution without closing it: the kernel
    /// stops queueing packets to it until it is attached again.
    pub fn detach_queue(&self) -> Result<()> {
        self.set_attached(false, Operation::DetachQueue)
    }

    fn set_attached(&self, attached: bool, operation: Operation) -> Result<()> {
        self.queue.set_attached(attached).map_err(|err| {
            // TUNSETQUEUE answers EINVAL for a deleted device too: say that it is gone.
            let err = match self.interface.ensure_exists() {
                Err(gone) => gone,
                Ok(()) => err,
            };
            Error::new(operation, self.name(), err)
        })
    }
}
}

capability! { tun_persist;
/// Persistent devices (Linux, Android and FreeBSD).
impl Device {
    /// Whether the device is persistent (outlives its last fd). On FreeBSD a device this
    /// process attached to, or whose fd it gave away (`into_raw_fd`), is persistent.
    pub fn is_persistent(&self) -> Result<bool> {
        self.queue
            .is_persistent()
            .map_err(self.fail(Operation::GetPersist))
    }

    /// Makes the device persistent, or not: a device that is no longer persistent disappears
    /// when its last fd is closed (FreeBSD: this crate destroys it, `SIOCIFDESTROY`, after
    /// closing the fd).
    pub fn set_persist(&self, persist: bool) -> Result<()> {
        self.queue
            .set_persist(persist)
            .map_err(self.fail(Operation::SetPersist))
    }
}
}

capability! { tun_owner_group;
/// Users and groups allowed to attach without privileges (Linux and Android).
impl Device {
    /// The user allowed to attach without `CAP_NET_ADMIN`, if one is set.
    pub fn owner(&self) -> Result<Option<u32>> {
        Ok(self.tun_info(Operation::GetOwner)?.owner)
    }

    /// Sets the user allowed to attach without `CAP_NET_ADMIN`.
    pub fn set_owner(&self, uid: u32) -> Result<()> {
        self.queue
            .set_owner(uid)
            .map_err(self.fail(Operation::SetOwner))
    }

    /// The group allowed to attach without `CAP_NET_ADMIN`, if one is set.
    pub fn group(&self) -> Result<Option<u32>> {
        Ok(self.tun_info(Operation::GetGroup)?.group)
    }

    /// Sets the group allowed to attach without `CAP_NET_ADMIN`.
    pub fn set_group(&self, gid: u32) -> Result<()> {
        self.queue
            .set_group(gid)
            .map_err(self.fail(Operation::SetGroup))
    }
}
}

capability! { tun_multi_queue;
impl Device {
    /// Whether the device is multi-queue.
    pub fn is_multi_queue(&self) -> Result<bool> {
        self.queue
            .is_multi_queue()
            .map_err(self.fail(Operation::GetQueueMode))
    }

    /// How many queues are open on the device, and how many of them are detached.
    pub fn queue_counts(&self) -> Result<(u32, u32)> {
        let info = self.tun_info(Operation::CountQueues)?;
        Ok((info.queues, info.detached_queues))
    }
}
}

#[cfg(any(tun_owner_group, tun_multi_queue))]
impl Device {
    fn tun_info(&self, operation: Operation) -> Result<sys::TunInfo> {
        self.interface.tun_info().map_err(self.fail(operation))
    }
}

capability! { tun_offload;
/// The offloads of a device built with [`Builder::offload`](crate::Builder::offload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Offload {
    /// TCP segmentation (TSO4 and TSO6 with checksum offload): always, on an offload device.
    pub tcp: bool,
    /// UDP segmentation (USO4 and USO6): from Linux 6.2.
    pub udp: bool,
}
}

capability! { tun_offload;
/// Segmentation and checksum offload (Linux and Android).
impl Device {
    /// The offloads the kernel granted, or `None` for a device built without
    /// [`Builder::offload`](crate::Builder::offload).
    pub fn offload(&self) -> Option<Offload> {
        self.queue.offload().map(|granted| Offload {
            tcp: granted.tcp,
            udp: granted.udp,
        })
    }

    /// Whether [`send_batch`](Self::send_batch) coalesces TCP and UDP packets: `(tcp, udp)`.
    /// Both `false` without offload, and after the kernel refused a coalesced write with
    /// `EINVAL` (some 6.1, 6.6 and 6.10 kernels do), when this queue stops coalescing for good.
    pub fn coalescing(&self) -> (bool, bool) {
        self.queue.coalescing()
    }

    /// Test support, not API: makes the next coalesced write of [`send_batch`](Self::send_batch)
    /// carry a virtio header the kernel refuses with `EINVAL`, as some kernels refuse every
    /// coalesced write, so that tests on a sound kernel can watch the fallback (the members
    /// resent one by one, coalescing off for good). Returns `false` without offload.
    #[doc(hidden)]
    pub fn refuse_next_coalesced_write(&self) -> bool {
        self.queue.refuse_next_coalesced_write()
    }

    /// Turns coalescing on or off per protocol, as far as the kernel granted it (for example,
    /// UDP off where a later hop mishandles UDP super-packets). Fails with `InvalidInput` on a
    /// device without offload.
    pub fn set_coalescing(&self, tcp: bool, udp: bool) -> Result<()> {
        if self.queue.set_coalescing(tcp, udp) {
            Ok(())
        } else {
            Err(Error::invalid(
                Operation::SetOffload,
                self.name(),
                "the device was built without offload: nothing to coalesce".into(),
            ))
        }
    }
}
}

capability! { tun_txqueuelen;
/// The transmit queue length (Linux and Android).
impl Device {
    /// The length of the transmit queue, in packets.
    pub fn txqueuelen(&self) -> Result<u32> {
        self.interface
            .txqueuelen()
            .map_err(self.fail(Operation::GetTxQueueLen))
    }

    /// Sets the length of the transmit queue, in packets.
    pub fn set_txqueuelen(&self, txqueuelen: u32) -> Result<()> {
        self.interface
            .set_txqueuelen(txqueuelen)
            .map_err(self.fail(Operation::SetTxQueueLen))
    }
}
}

capability! { tun_interrupt;
/// Blocking reads that end: with a timeout, or when another thread calls
/// [`Interrupter::interrupt`] (every Unix platform, and Windows). Built on `poll(2)` on the
/// queue's fd and on a pipe (Windows: one wait on the session's read event and on an event); the
/// plain [`recv`](Device::recv) does not change.
///
/// ```no_run
/// use std::io::ErrorKind;
/// use std::time::Duration;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let device = tun_core::Device::builder().up().build()?.remove(0);
/// let stop = device.interrupter()?;
/// std::thread::scope(|scope| {
///     scope.spawn(|| {
///         let mut buf = vec![0; 65536 + 22];
///         loop {
///             match device.recv_timeout(&mut buf, Duration::from_secs(1)) {
///                 Ok(n) => println!("{n} bytes"),
///                 Err(err) if err.kind() == ErrorKind::TimedOut => println!("idle"),
///                 Err(err) if err.kind() == ErrorKind::Interrupted => break, // shut down
///                 Err(err) => panic!("{err}"),
///             }
///         }
///     });
///     std::thread::sleep(Duration::from_secs(3));
///     stop.interrupt(); // the reader returns within a moment
/// });
/// # Ok(()) }
/// ```
impl Device {
    /// Receives one packet like [`recv`](Self::recv), waiting at most `timeout` for it.
    ///
    /// Fails with [`io::ErrorKind::TimedOut`] when no packet arrived in time (a zero timeout
    /// takes a waiting packet and never blocks), and with [`io::ErrorKind::Interrupted`] once
    /// this device's [`Interrupter`] has been triggered (before or during the wait). Signals
    /// (`EINTR`) are retried inside, so `Interrupted` comes from the interrupter only. The
    /// timeout is rounded up to whole milliseconds.
    ///
    /// Works in blocking and in non-blocking mode. In blocking mode, with several threads
    /// reading the same queue, another thread may take the packet between the wait and the read,
    /// and the read then blocks without limit: readers that share a queue should switch it to
    /// [non-blocking](Self::set_nonblocking) mode, where that case waits again for the rest of
    /// the timeout.
    pub fn recv_timeout(&self, buf: &mut [u8], timeout: std::time::Duration) -> io::Result<usize> {
        self.recv_waiting(buf, Some(timeout))
    }

    /// Receives one packet like [`recv`](Self::recv), waiting until one arrives or this device's
    /// [`Interrupter`] is triggered (then [`io::ErrorKind::Interrupted`], at once if it was
    /// triggered before). See [`recv_timeout`](Self::recv_timeout) for several readers of one
    /// queue.
    pub fn recv_interruptible(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_waiting(buf, None)
    }

    /// The handle that ends this device's current and later [`recv_timeout`](Self::recv_timeout)
    /// and [`recv_interruptible`](Self::recv_interruptible) calls, from any thread. Every call
    /// returns a handle to the same latch (a pipe, made by the first call: the only way this
    /// fails is running out of fds; on Windows an event). It does not affect
    /// [`recv`](Self::recv), other queues of the device, or the async adapters (which are
    /// cancelled by dropping their futures).
    pub fn interrupter(&self) -> Result<Interrupter> {
        if let Some(interrupt) = self.interrupt.get() {
            return Ok(Interrupter(Arc::clone(interrupt)));
        }
        let made = sys::Interrupt::new().map_err(self.fail(Operation::CreateInterrupter))?;
        // Another thread may have won the race: then `made` is dropped and its pipe closed.
        let interrupt = self.interrupt.get_or_init(|| Arc::new(made));
        Ok(Interrupter(Arc::clone(interrupt)))
    }

    /// The wait loop of both: `timeout` `None` (or too large for an `Instant`) is no limit.
    fn recv_waiting(
        &self,
        buf: &mut [u8],
        timeout: Option<std::time::Duration>,
    ) -> io::Result<usize> {
        let deadline = timeout.and_then(|timeout| std::time::Instant::now().checked_add(timeout));
        let interrupt = self.interrupt.get().map(|interrupt| &**interrupt);
        loop {
            if interrupt.is_some_and(|interrupt| interrupt.is_raised()) {
                return Err(interrupted());
            }
            // A packet may wait in userspace, where the fd's readiness does not show it: the
            // segments of an offload super-packet already read (Linux), or a simulated TAP
            // device's answer to ARP or neighbour discovery (macOS).
            #[cfg(any(tun_offload, tun_apple))]
            if self.queue.has_pending() {
                return self.queue.recv(buf);
            }
            // Wintun signals its read event only for packets that arrive once the ring was
            // found empty: take a waiting packet before waiting.
            #[cfg(not(tun_fd))]
            match self.queue.try_recv(buf) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                result => return result,
            }
            let remaining = deadline
                .map(|deadline| deadline.saturating_duration_since(std::time::Instant::now()));
            #[cfg(tun_fd)]
            let waitable = std::os::fd::AsFd::as_fd(&self.queue);
            #[cfg(not(tun_fd))]
            let waitable = &self.queue;
            match sys::wait_readable(waitable, interrupt, remaining)? {
                sys::Wait::Interrupted => return Err(interrupted()),
                // Windows: taken at the top of the loop.
                #[cfg(not(tun_fd))]
                sys::Wait::Readable => {}
                #[cfg(tun_fd)]
                sys::Wait::Readable => match self.queue.recv(buf) {
                    // Another reader took it (non-blocking mode): wait again.
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                    result => return result,
                },
                sys::Wait::Elapsed => {
                    if remaining.is_some_and(|remaining| remaining.is_zero()) {
                        return Err(timed_out(timeout));
                    }
                }
            }
        }
    }
}
}

capability! { tun_interrupt;
/// Ends the blocking [`Device::recv_timeout`] and [`Device::recv_interruptible`] calls of one
/// device, from any thread: made by [`Device::interrupter`], cloned freely (`Send + Sync`).
///
/// A latch: once [`interrupt`](Self::interrupt) is called, every call blocked on the device
/// returns [`io::ErrorKind::Interrupted`] at once, and so does every later one, for the life of
/// the device (a shutdown signal, not a one-shot wake-up). Plain [`Device::recv`] is unaffected.
#[derive(Debug, Clone)]
pub struct Interrupter(Arc<sys::Interrupt>);
}

#[cfg(tun_interrupt)]
impl Interrupter {
    /// Ends the device's current and later interruptible reads. Never blocks or fails; calling
    /// it again does nothing.
    pub fn interrupt(&self) {
        self.0.raise();
    }

    /// Whether [`interrupt`](Self::interrupt) has been called.
    pub fn is_interrupted(&self) -> bool {
        self.0.is_raised()
    }
}

#[cfg(tun_interrupt)]
#[cold]
fn interrupted() -> io::Error {
    io::Error::new(
        io::ErrorKind::Interrupted,
        "the device's Interrupter was triggered: interruptible reads end",
    )
}

#[cfg(tun_interrupt)]
#[cold]
fn timed_out(timeout: Option<std::time::Duration>) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no packet arrived within {:?}", timeout.unwrap_or_default()),
    )
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

/// Readiness where a queue is not a pollable fd (`cfg(not(tun_fd))`; Windows, once it has its
/// platform module): the async adapters wait through these instead of registering an fd.
#[cfg(not(tun_fd))]
impl Device {
    /// Polls until a packet may be waiting (then [`recv`](Self::recv) may still say
    /// `WouldBlock`); the platform wakes the task, with no thread of this crate.
    pub fn poll_recv_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        self.queue.poll_recv_ready(cx)
    }

    /// Polls until the device may take a packet.
    pub fn poll_send_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        self.queue.poll_send_ready(cx)
    }
}

#[cfg(tun_persist)]
impl Device {
    /// A second `Device` on a duplicate of this queue's fd (the builder's persistence guard).
    pub(crate) fn duplicate(&self) -> io::Result<Device> {
        Ok(Device::new(
            self.queue.try_clone()?,
            Arc::clone(&self.interface),
        ))
    }
}

#[cfg(tun_fd)]
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
