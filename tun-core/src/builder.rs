//! The one builder every adapter uses.
//!
//! [`Builder`] collects the settings, checks every one of them before the first system call
//! (`check.rs`, the same checks the run-time setters make), and then asks the platform to create
//! the device. It is generic over what it produces ([`FromDevice`]) so that
//! `tun_tokio::Tun::builder()` and `tun_async_std::Tun::builder()` are this same type: the
//! adapters decide only what `build()` returns.
//!
//! A build is all or nothing: validate → `sys::create` → configure the first queue through the
//! run-time setters → make it persistent (if asked) under a guard → convert every queue. Any
//! failure drops what was opened, so every fd closes and the kernel removes a device this build
//! created; the guard undoes persistence first if the conversion fails. A pre-existing persistent
//! device is left in place.

use std::fmt;
use std::marker::PhantomData;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::check;
use crate::config::{Config, Layer};
use crate::device::Device;
use crate::error::{Error, Operation, Result};
use crate::sys;

/// What [`Builder::build`] turns each queue into.
///
/// Implemented by [`Device`] itself and by the runtime adapters' device types. The conversion takes
/// ownership of the device; if it fails, the device (and with it the whole build) is dropped.
pub trait FromDevice: Sized {
    /// Wraps one configured queue.
    fn from_device(device: Device) -> Result<Self>;
}

impl FromDevice for Device {
    fn from_device(device: Device) -> Result<Self> {
        Ok(device)
    }
}

impl Device {
    /// A [`Builder`] for devices used directly (blocking or with `mio`).
    pub fn builder() -> Builder<Device> {
        Builder::new()
    }
}

/// The interface settings of a build, applied after creation through the run-time setters.
#[derive(Debug, Clone, Default)]
struct Settings {
    #[cfg(tun_persist)]
    persist: bool,
    #[cfg(tun_owner_group)]
    owner: Option<u32>,
    #[cfg(tun_owner_group)]
    group: Option<u32>,
    mtu: Option<u32>,
    /// The primary IPv4 address and its fields (`SIOCSIF*` ioctls).
    address: Option<Ipv4Addr>,
    netmask: Option<Ipv4Addr>,
    destination: Option<Ipv4Addr>,
    broadcast: Option<Ipv4Addr>,
    /// IPv4 networks, added in order.
    ipv4: Vec<(Ipv4Addr, u8)>,
    ipv6: Vec<(Ipv6Addr, u8)>,
    mac: Option<[u8; 6]>,
    #[cfg(tun_txqueuelen)]
    txqueuelen: Option<u32>,
    up: bool,
}

/// Builds a TUN or TAP device: one [`Device`] (or adapter type `T`) per queue.
///
/// Defaults: TUN, a kernel-chosen name (`tun0`, `tun1`, ...), no packet information header, one
/// queue, not persistent, close-on-exec, blocking I/O, link down, no addresses.
///
/// ```no_run
/// use std::net::{Ipv4Addr, Ipv6Addr};
/// use tun_core::Device;
///
/// # fn main() -> Result<(), tun_core::Error> {
/// let device = Device::builder()
///     .name("tun%d")
///     .mtu(1400)
///     .ipv4(Ipv4Addr::new(10, 0, 0, 1), 24)
///     .ipv6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1), 64)
///     .up()
///     .build()?
///     .remove(0);
/// println!("created {}", device.name());
/// # Ok(()) }
/// ```
pub struct Builder<T = Device> {
    config: Config,
    settings: Settings,
    target: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Builder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("config", &self.config)
            .field("settings", &self.settings)
            .finish()
    }
}

impl<T> Clone for Builder<T> {
    fn clone(&self) -> Self {
        Builder {
            config: self.config.clone(),
            settings: self.settings.clone(),
            target: PhantomData,
        }
    }
}

impl<T: FromDevice> Default for Builder<T> {
    fn default() -> Self {
        Builder::new()
    }
}

impl<T: FromDevice> Builder<T> {
    /// A builder with the defaults listed on [`Builder`].
    pub fn new() -> Self {
        Builder {
            config: Config::default(),
            settings: Settings::default(),
            target: PhantomData,
        }
    }

    /// The interface name: empty (the default) lets the kernel choose (`tun%d` or `tap%d`), a
    /// name with one `%d` is a pattern the kernel fills with the first free number, anything else
    /// is the exact name. An existing device of that name is attached to if it allows it (a
    /// persistent device, or a multi-queue device with a free queue).
    ///
    /// Checked by [`build`](Self::build) with the platform's rules; on Linux the kernel's own
    /// byte rules: at most 15 bytes, no NUL, `/`, `:` or whitespace byte (the kernel counts 0xA0
    /// as one, so `"advà0"` is refused), not `.` or `..`, and no `%` other than one `%d`. On
    /// FreeBSD: at most 15 bytes of printable ASCII without spaces or `/`, the same `%d` rule;
    /// a name other than the driver's own (`tun3`, `tap0`) is given by renaming the interface.
    pub fn name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.config.name);
        self
    }

    /// TUN (IP packets, the default) or TAP (Ethernet frames).
    pub fn layer(mut self, layer: Layer) -> Self {
        self.config.layer = layer;
        self
    }

    /// Makes a TAP device (Ethernet frames) instead of a TUN device.
    pub fn tap(self) -> Self {
        self.layer(Layer::Tap)
    }

    /// Makes a TUN device (IP packets), the default.
    pub fn tun(self) -> Self {
        self.layer(Layer::Tun)
    }

    /// Whether the queue fds are closed in programs started with `exec` (default: yes).
    pub fn close_on_exec(mut self, close_on_exec: bool) -> Self {
        self.config.close_on_exec = close_on_exec;
        self
    }

    /// Opens the queues in non-blocking mode (default: blocking). The async adapters switch it on
    /// themselves.
    pub fn nonblocking(mut self, nonblocking: bool) -> Self {
        self.config.nonblocking = nonblocking;
        self
    }

    /// The MTU, from [`MIN_MTU`](crate::MIN_MTU) to [`MAX_MTU`](crate::MAX_MTU) (at least
    /// [`MIN_IPV6_MTU`](crate::MIN_IPV6_MTU) with IPv6 addresses).
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.settings.mtu = Some(mtu);
        self
    }

    /// Adds an IPv4 network: the address with its prefix length (0 to 32). May be called
    /// several times; the first address is the primary one.
    pub fn ipv4(mut self, address: Ipv4Addr, prefix_len: u8) -> Self {
        self.settings.ipv4.push((address, prefix_len));
        self
    }

    /// Adds an IPv6 address with its prefix length (0 to 128); may be called several times.
    pub fn ipv6(mut self, address: Ipv6Addr, prefix_len: u8) -> Self {
        self.settings.ipv6.push((address, prefix_len));
        self
    }

    /// The MAC address of a TAP device (unicast, not all zeros).
    pub fn mac(mut self, mac: [u8; 6]) -> Self {
        self.settings.mac = Some(mac);
        self
    }

    /// Brings the link up once it is configured (default: left down).
    pub fn up(mut self) -> Self {
        self.settings.up = true;
        self
    }

    /// Checks every setting, creates (or attaches to) the device, configures it and returns one
    /// `T` per queue, in queue order.
    ///
    /// All or nothing: on any error every fd opened by this build is closed and a device created
    /// by it disappears with them. A pre-existing persistent device stays, with whatever part of
    /// the configuration was applied before the failure.
    pub fn build(self) -> Result<Vec<T>> {
        let Builder {
            config, settings, ..
        } = self;
        validate(&config, &settings)?;
        let devices = Device::from_created(sys::create(&config)?);
        if let Some(first) = devices.first() {
            configure(first, &settings)?;
        }
        #[cfg(tun_persist)]
        let guard = match devices.first() {
            Some(first) if settings.persist => Some(PersistGuard::arm(first)?),
            _ => None,
        };
        let built = devices
            .into_iter()
            .map(T::from_device)
            .collect::<Result<Vec<T>>>()?;
        #[cfg(tun_persist)]
        if let Some(guard) = guard {
            guard.disarm();
        }
        Ok(built)
    }
}

capability! { tun_packet_info;
/// The packet information header. Linux, Android and FreeBSD.
impl<T: FromDevice> Builder<T> {
    /// Keeps the 4-byte packet information header in front of every packet read and written,
    /// instead of the default plain packets.
    ///
    /// - Linux and Android: flags and EtherType (`struct tun_pi`; clears `IFF_NO_PI`).
    /// - FreeBSD, TUN: the driver's own header, the address family as a big-endian `u32`
    ///   (`AF_INET` 2, `AF_INET6` 28): the same length as Linux's, other bytes. Without this
    ///   option the crate adds and strips that header itself.
    /// - FreeBSD, TAP: the driver has no header, so [`build`](Self::build) fails with
    ///   [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) before any system call.
    pub fn packet_info(mut self) -> Self {
        self.config.packet_info = true;
        self
    }
}
}

capability! { tun_offload;
/// Segmentation and checksum offload. Linux and Android.
impl<T: FromDevice> Builder<T> {
    /// Opens a TUN device with offload (`IFF_VNET_HDR`): the kernel hands out TCP (and, from
    /// Linux 6.2, UDP) super-packets of up to 64 KiB and takes them on send, so a relay makes
    /// one system call per ~40 packets instead of one per packet. Requires checksum and TCP
    /// segmentation offload (`TUNSETOFFLOAD`), adds UDP segmentation where the kernel has it;
    /// [`Device::offload`] tells which it got.
    ///
    /// Invisible to the packet API: `recv` hands out one MTU-sized packet per call (the
    /// segments of a super-packet in turn), `send` takes a plain packet, and no virtio header
    /// is ever exposed. The speed is in the batch API: [`Device::recv_batch`] splits
    /// super-packets into a [`PacketBatch`](crate::PacketBatch) and [`Device::send_batch`]
    /// coalesces same-flow packets into super-packets.
    ///
    /// TUN only, and not with [`packet_info`](Self::packet_info): [`build`](Self::build) refuses
    /// both before any system call. A build without it that attaches to a persistent device
    /// that had offload turns the device's offloads off, so that no super-packet reaches it.
    /// Linux and Android.
    pub fn offload(mut self, offload: bool) -> Self {
        self.config.offload = offload;
        self
    }
}
}

capability! { tun_multi_queue;
/// Multi-queue devices. Linux and Android.
impl<T: FromDevice> Builder<T> {
    /// Opens `queues` fds for the device (default 1), one [`Device`] each. More than one implies
    /// [`multi_queue`](Self::multi_queue). At most [`MAX_QUEUES`](crate::MAX_QUEUES). Linux and
    /// Android.
    pub fn queues(mut self, queues: usize) -> Self {
        self.config.queues = queues;
        self
    }

    /// Makes the device multi-queue (`IFF_MULTI_QUEUE`) even with a single queue, so that more can
    /// be added later with [`Device::add_queue`]. Linux and Android.
    pub fn multi_queue(mut self, multi_queue: bool) -> Self {
        self.config.multi_queue = multi_queue;
        self
    }
}
}

capability! { tun_persist;
/// Persistent devices. Linux, Android and FreeBSD.
impl<T: FromDevice> Builder<T> {
    /// Keeps the device after its last fd is closed (Linux: `TUNSETPERSIST`; FreeBSD: the
    /// interface is not destroyed), so that a later build with its exact name attaches to it;
    /// undo with [`Device::set_persist`]. Linux, Android and FreeBSD.
    pub fn persist(mut self) -> Self {
        self.settings.persist = true;
        self
    }
}
}

capability! { tun_owner_group;
/// Users and groups allowed to attach without privileges. Linux and Android.
impl<T: FromDevice> Builder<T> {
    /// Lets the user `uid` attach to the device without `CAP_NET_ADMIN` (`TUNSETOWNER`). Linux
    /// and Android.
    pub fn owner(mut self, uid: u32) -> Self {
        self.settings.owner = Some(uid);
        self
    }

    /// Lets members of the group `gid` attach to the device without `CAP_NET_ADMIN`
    /// (`TUNSETGROUP`). Linux and Android.
    pub fn group(mut self, gid: u32) -> Self {
        self.settings.group = Some(gid);
        self
    }
}
}

capability! { tun_destination_broadcast;
/// The primary IPv4 address, field by field. Linux and Android.
impl<T: FromDevice> Builder<T> {
    /// The primary IPv4 address, set field by field (`SIOCSIFADDR`); prefer
    /// [`ipv4`](Self::ipv4). Linux and Android.
    pub fn address(mut self, address: Ipv4Addr) -> Self {
        self.settings.address = Some(address);
        self
    }

    /// The netmask of the [`address`](Self::address) (contiguous, like `255.255.255.0`).
    /// Linux and Android.
    pub fn netmask(mut self, netmask: Ipv4Addr) -> Self {
        self.settings.netmask = Some(netmask);
        self
    }

    /// The IPv4 address of the peer of a point-to-point link; needs an IPv4 address
    /// ([`ipv4`](Self::ipv4) or [`address`](Self::address)). Linux and Android.
    pub fn destination(mut self, destination: Ipv4Addr) -> Self {
        self.settings.destination = Some(destination);
        self
    }

    /// The IPv4 broadcast address; needs an IPv4 address. Linux and Android.
    pub fn broadcast(mut self, broadcast: Ipv4Addr) -> Self {
        self.settings.broadcast = Some(broadcast);
        self
    }
}
}

capability! { tun_txqueuelen;
/// The transmit queue length. Linux and Android.
impl<T: FromDevice> Builder<T> {
    /// The length of the transmit queue, in packets. Linux and Android.
    pub fn txqueuelen(mut self, txqueuelen: u32) -> Self {
        self.settings.txqueuelen = Some(txqueuelen);
        self
    }
}
}

/// Makes the device persistent, and undoes that on drop unless disarmed: persistence is set
/// before the queues are converted (the conversion consumes them), so a failed conversion must
/// not leave a persistent device behind. It holds a duplicate of the first queue's fd, since the
/// queues themselves are gone by the time it acts.
#[cfg(tun_persist)]
struct PersistGuard(Option<Device>);

#[cfg(tun_persist)]
impl PersistGuard {
    fn arm(first: &Device) -> Result<PersistGuard> {
        let duplicate = first
            .duplicate()
            .map_err(|err| Error::new(Operation::SetPersist, first.name(), err))?;
        duplicate.set_persist(true)?;
        Ok(PersistGuard(Some(duplicate)))
    }

    fn disarm(mut self) {
        // Dropping the duplicate closes only its fd: the device stays, persistent.
        self.0.take();
    }
}

#[cfg(tun_persist)]
impl Drop for PersistGuard {
    fn drop(&mut self) {
        if let Some(device) = self.0.take() {
            // Best effort while failing anyway: the build's own error is what the caller sees.
            let _ = device.set_persist(false);
        }
    }
}

/// Applies the interface settings through the same setters users call at run time.
fn configure(device: &Device, settings: &Settings) -> Result<()> {
    #[cfg(tun_owner_group)]
    {
        if let Some(uid) = settings.owner {
            device.set_owner(uid)?;
        }
        if let Some(gid) = settings.group {
            device.set_group(gid)?;
        }
    }
    #[cfg(tun_txqueuelen)]
    if let Some(txqueuelen) = settings.txqueuelen {
        device.set_txqueuelen(txqueuelen)?;
    }
    if let Some(mac) = settings.mac {
        device.set_mac(mac)?;
    }
    if let Some(mtu) = settings.mtu {
        device.set_mtu(mtu)?;
    }
    #[cfg(tun_destination_broadcast)]
    {
        if let Some(address) = settings.address {
            device.set_address(address)?;
        }
        if let Some(netmask) = settings.netmask {
            device.set_netmask(netmask)?;
        }
    }
    for &(address, prefix_len) in &settings.ipv4 {
        device.add_ipv4(address, prefix_len)?;
    }
    #[cfg(tun_destination_broadcast)]
    {
        if let Some(destination) = settings.destination {
            device.set_destination(destination)?;
        }
        if let Some(broadcast) = settings.broadcast {
            device.set_broadcast(broadcast)?;
        }
    }
    if settings.up {
        device.set_up(true)?;
    }
    for &(address, prefix_len) in &settings.ipv6 {
        device.add_ipv6(address, prefix_len)?;
    }
    Ok(())
}

/// Rejects what the kernel would reject (or, worse, silently change), before any system call.
/// Every setting goes through the same check as its run-time setter (`check.rs`).
fn validate(config: &Config, settings: &Settings) -> Result<()> {
    let name = config.name.as_str();
    let invalid = |detail: String| Error::invalid(Operation::CheckSettings, name, detail);
    check::name(name).map_err(invalid)?;
    #[cfg(tun_multi_queue)]
    check::queues(config.queues).map_err(invalid)?;
    if let Some(mtu) = settings.mtu {
        check::mtu(mtu, !settings.ipv6.is_empty()).map_err(invalid)?;
    }
    if settings.address.is_none() && settings.ipv4.is_empty() {
        let dependent = [
            ("netmask", settings.netmask),
            ("destination", settings.destination),
            ("broadcast", settings.broadcast),
        ];
        if let Some((what, _)) = dependent.iter().find(|(_, value)| value.is_some()) {
            return Err(invalid(format!(
                "a {what} was given without an IPv4 address"
            )));
        }
    }
    if let Some(netmask) = settings.netmask {
        check::netmask(netmask).map_err(invalid)?;
    }
    for &(address, prefix_len) in &settings.ipv4 {
        check::ipv4_address(address, prefix_len).map_err(invalid)?;
    }
    for &(address, prefix_len) in &settings.ipv6 {
        check::ipv6_address(address, prefix_len).map_err(invalid)?;
    }
    #[cfg(tun_offload)]
    if config.offload {
        if config.layer == Layer::Tap {
            return Err(invalid(
                "offload is for TUN devices: a TAP device's frames carry a link header the \
                 offload code does not handle; build a TUN device or leave offload off"
                    .into(),
            ));
        }
        if config.packet_info {
            return Err(invalid(
                "offload and packet information cannot be combined: the kernel puts its virtio \
                 header where the packet information would go; choose one"
                    .into(),
            ));
        }
    }
    if let Some(mac) = settings.mac {
        if config.layer != Layer::Tap {
            return Err(invalid(
                "a MAC address was given for a TUN device; only TAP has one".into(),
            ));
        }
        check::mac(mac).map_err(invalid)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_rejected_before_any_syscall() {
        let mut cases: Vec<Builder> = vec![
            Builder::new().mtu(10),
            Builder::new().mtu(70000),
            Builder::new().mtu(1000).ipv6(Ipv6Addr::LOCALHOST, 64),
            Builder::new().ipv6(Ipv6Addr::LOCALHOST, 129),
            Builder::new().ipv6(Ipv6Addr::UNSPECIFIED, 64),
            Builder::new().ipv4(Ipv4Addr::new(10, 0, 0, 1), 33),
            Builder::new().ipv4(Ipv4Addr::new(224, 0, 0, 1), 24),
            Builder::new().ipv4(Ipv4Addr::UNSPECIFIED, 24),
            Builder::new().mac([2, 0, 0, 0, 0, 1]),
            Builder::new().tap().mac([1, 0, 0, 0, 0, 1]),
            Builder::new().tap().mac([0; 6]),
        ];
        #[cfg(tun_linux)]
        cases.extend([
            Builder::new().name("bad name"),
            Builder::new().name("advà0"),
        ]);
        #[cfg(tun_offload)]
        cases.extend([
            Builder::new().offload(true).tap(),
            Builder::new().offload(true).packet_info(),
        ]);
        #[cfg(tun_destination_broadcast)]
        cases.extend([
            Builder::new().netmask(Ipv4Addr::new(255, 0, 0, 0)),
            Builder::new()
                .address(Ipv4Addr::new(10, 0, 0, 1))
                .netmask(Ipv4Addr::new(255, 0, 255, 0)),
        ]);
        for builder in cases {
            let debug = format!("{builder:?}");
            match builder.build() {
                Err(err) => assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{debug}"),
                Ok(_) => panic!("accepted: {debug}"),
            }
        }
    }
}
