//! The one builder every adapter uses.
//!
//! [`Builder`] collects the settings, checks every one of them before the first system call, and
//! then asks the platform to create the device. It is generic over what it produces
//! ([`FromDevice`]) so that `tun_tokio::Tun::builder()` and `tun_async_std::Tun::builder()` are this
//! same type: the adapters decide only what `build()` returns.
//!
//! A build is all or nothing. The device is configured through the same setters as at run time
//! and made persistent only as the very last step, so a failure at any point closes every fd the
//! build opened, and the kernel removes a device that this build created (it is not yet
//! persistent). A pre-existing persistent device is left in place.

use std::fmt;
use std::marker::PhantomData;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::check;
use crate::device::{Device, Layer};
use crate::error::{Error, Result};
use crate::sys;

/// What [`Builder::build`] turns each queue into.
///
/// Implemented by [`Device`] itself and by the runtime adapters' device types. The conversion takes
/// ownership of the device; if it fails, the device (and with it the whole build) is dropped.
pub trait FromDevice: Sized {
    /// Wraps one configured queue.
    fn from_device(device: Device) -> Result<Self>;
    /// The queue inside, so that the build can finish configuring it after the conversion.
    fn device(&self) -> &Device;
}

impl FromDevice for Device {
    fn from_device(device: Device) -> Result<Self> {
        Ok(device)
    }
    fn device(&self) -> &Device {
        self
    }
}

/// Everything a build was asked for; read by the platform modules.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) name: String,
    pub(crate) layer: Layer,
    pub(crate) packet_info: bool,
    pub(crate) queues: usize,
    pub(crate) multi_queue: bool,
    pub(crate) persist: bool,
    pub(crate) owner: Option<u32>,
    pub(crate) group: Option<u32>,
    pub(crate) close_on_exec: bool,
    pub(crate) nonblocking: bool,
    pub(crate) mtu: Option<u32>,
    pub(crate) address: Option<Ipv4Addr>,
    pub(crate) netmask: Option<Ipv4Addr>,
    pub(crate) prefix_len: Option<u8>,
    pub(crate) destination: Option<Ipv4Addr>,
    pub(crate) broadcast: Option<Ipv4Addr>,
    pub(crate) ipv6: Vec<(Ipv6Addr, u8)>,
    pub(crate) mac: Option<[u8; 6]>,
    pub(crate) txqueuelen: Option<u32>,
    pub(crate) up: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            name: String::new(),
            layer: Layer::Tun,
            packet_info: false,
            queues: 1,
            multi_queue: false,
            persist: false,
            owner: None,
            group: None,
            close_on_exec: true,
            nonblocking: false,
            mtu: None,
            address: None,
            netmask: None,
            prefix_len: None,
            destination: None,
            broadcast: None,
            ipv6: Vec::new(),
            mac: None,
            txqueuelen: None,
            up: false,
        }
    }
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
    target: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Builder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("config", &self.config)
            .finish()
    }
}

impl<T> Clone for Builder<T> {
    fn clone(&self) -> Self {
        Builder {
            config: self.config.clone(),
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
            target: PhantomData,
        }
    }

    /// The interface name: empty (the default) lets the kernel choose (`tun%d` or `tap%d`), a
    /// name with one `%d` is a pattern the kernel fills with the first free number, anything else
    /// is the exact name. An existing device of that name is attached to if it allows it (a
    /// persistent device, or a multi-queue device with a free queue).
    ///
    /// Checked by [`build`](Self::build) with the kernel's own byte rules: at most 15 bytes, no
    /// NUL, `/`, `:` or whitespace byte (the kernel counts 0xA0 as one, so `"advà0"` is refused),
    /// not `.` or `..`, and no `%` other than one `%d`.
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

    /// Keeps the 4-byte packet information header (flags and EtherType) in front of every packet
    /// read and written, instead of the default plain packets (`IFF_NO_PI`).
    pub fn packet_info(mut self) -> Self {
        self.config.packet_info = true;
        self
    }

    /// Opens `queues` fds for the device (default 1), one [`Device`] each. More than one implies
    /// [`multi_queue`](Self::multi_queue). At most [`MAX_QUEUES`](crate::MAX_QUEUES).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn queues(mut self, queues: usize) -> Self {
        self.config.queues = queues;
        self
    }

    /// Makes the device multi-queue (`IFF_MULTI_QUEUE`) even with a single queue, so that more can
    /// be added later with [`Device::add_queue`]. Linux and Android.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn multi_queue(mut self, multi_queue: bool) -> Self {
        self.config.multi_queue = multi_queue;
        self
    }

    /// Keeps the device after its last fd is closed (`TUNSETPERSIST`), so that it can be attached
    /// to again; undo with [`Device::set_persist`]. Linux and Android.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn persist(mut self) -> Self {
        self.config.persist = true;
        self
    }

    /// Lets the user `uid` attach to the device without `CAP_NET_ADMIN` (`TUNSETOWNER`).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn owner(mut self, uid: u32) -> Self {
        self.config.owner = Some(uid);
        self
    }

    /// Lets members of the group `gid` attach to the device without `CAP_NET_ADMIN`
    /// (`TUNSETGROUP`).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn group(mut self, gid: u32) -> Self {
        self.config.group = Some(gid);
        self
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
        self.config.mtu = Some(mtu);
        self
    }

    /// The IPv4 address.
    pub fn address(mut self, address: Ipv4Addr) -> Self {
        self.config.address = Some(address);
        self
    }

    /// The IPv4 netmask (contiguous, like `255.255.255.0`); needs an [`address`](Self::address).
    pub fn netmask(mut self, netmask: Ipv4Addr) -> Self {
        self.config.netmask = Some(netmask);
        self.config.prefix_len = None;
        self
    }

    /// The IPv4 address and its prefix length (0 to 32): `ipv4(a, 24)` is `address(a)` with
    /// `netmask(255.255.255.0)`.
    pub fn ipv4(mut self, address: Ipv4Addr, prefix_len: u8) -> Self {
        self.config.address = Some(address);
        self.config.netmask = None;
        self.config.prefix_len = Some(prefix_len);
        self
    }

    /// The IPv4 address of the peer of a point-to-point link; needs an [`address`](Self::address).
    pub fn destination(mut self, destination: Ipv4Addr) -> Self {
        self.config.destination = Some(destination);
        self
    }

    /// The IPv4 broadcast address; needs an [`address`](Self::address).
    pub fn broadcast(mut self, broadcast: Ipv4Addr) -> Self {
        self.config.broadcast = Some(broadcast);
        self
    }

    /// Adds an IPv6 address with its prefix length (0 to 128); may be called several times.
    pub fn ipv6(mut self, address: Ipv6Addr, prefix_len: u8) -> Self {
        self.config.ipv6.push((address, prefix_len));
        self
    }

    /// The MAC address of a TAP device (unicast, not all zeros).
    pub fn mac(mut self, mac: [u8; 6]) -> Self {
        self.config.mac = Some(mac);
        self
    }

    /// The length of the transmit queue, in packets.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn txqueuelen(mut self, txqueuelen: u32) -> Self {
        self.config.txqueuelen = Some(txqueuelen);
        self
    }

    /// Brings the link up once it is configured (default: left down).
    pub fn up(mut self) -> Self {
        self.config.up = true;
        self
    }

    /// Checks every setting, creates (or attaches to) the device, configures it and returns one
    /// `T` per queue, in queue order.
    ///
    /// All or nothing: on any error every fd opened by this build is closed and a device created
    /// by it disappears with them. A pre-existing persistent device stays, with whatever part of
    /// the configuration was applied before the failure.
    pub fn build(self) -> Result<Vec<T>> {
        let config = self.config;
        validate(&config)?;
        let devices = sys::create(&config)?;
        if let Some(first) = devices.first() {
            configure(first, &config)?;
        }
        let built = devices
            .into_iter()
            .map(T::from_device)
            .collect::<Result<Vec<T>>>()?;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if config.persist {
            if let Some(first) = built.first() {
                first.device().set_persist(true)?;
            }
        }
        Ok(built)
    }
}

/// Applies the interface settings through the same setters users call at run time.
fn configure(device: &Device, config: &Config) -> Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if let Some(uid) = config.owner {
            device.set_owner(uid)?;
        }
        if let Some(gid) = config.group {
            device.set_group(gid)?;
        }
        if let Some(txqueuelen) = config.txqueuelen {
            device.set_txqueuelen(txqueuelen)?;
        }
    }
    if let Some(mac) = config.mac {
        device.set_mac(mac)?;
    }
    if let Some(mtu) = config.mtu {
        device.set_mtu(mtu)?;
    }
    if let Some(address) = config.address {
        device.set_address(address)?;
    }
    if let Some(netmask) = config
        .netmask
        .or(config.prefix_len.and_then(check::prefix_to_netmask))
    {
        device.set_netmask(netmask)?;
    }
    if let Some(destination) = config.destination {
        device.set_destination(destination)?;
    }
    if let Some(broadcast) = config.broadcast {
        device.set_broadcast(broadcast)?;
    }
    if config.up {
        device.set_up(true)?;
    }
    for &(address, prefix_len) in &config.ipv6 {
        device.add_ipv6(address, prefix_len)?;
    }
    Ok(())
}

/// Rejects what the kernel would reject (or, worse, silently change), before any system call.
/// Every setting goes through the same check as its run-time setter (`check.rs`).
fn validate(config: &Config) -> Result<()> {
    let name = config.name.as_str();
    let invalid = |detail: String| Error::invalid("check settings", name, detail);
    check::name(name).map_err(invalid)?;
    check::queues(config.queues).map_err(invalid)?;
    if let Some(mtu) = config.mtu {
        check::mtu(mtu, !config.ipv6.is_empty()).map_err(invalid)?;
    }
    if config.address.is_none() {
        let dependent = [
            ("netmask", config.netmask),
            ("destination", config.destination),
            ("broadcast", config.broadcast),
        ];
        if let Some((what, _)) = dependent.iter().find(|(_, value)| value.is_some()) {
            return Err(invalid(format!(
                "a {what} was given without an IPv4 address"
            )));
        }
    }
    if let Some(netmask) = config.netmask {
        check::netmask(netmask).map_err(invalid)?;
    }
    if let Some(prefix_len) = config.prefix_len {
        check::ipv4_prefix(prefix_len).map_err(invalid)?;
    }
    for &(address, prefix_len) in &config.ipv6 {
        check::ipv6_address(address, prefix_len).map_err(invalid)?;
    }
    if let Some(mac) = config.mac {
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
        let cases: Vec<Builder> = vec![
            Builder::new().mtu(10),
            Builder::new().mtu(70000),
            Builder::new().mtu(1000).ipv6(Ipv6Addr::LOCALHOST, 64),
            Builder::new().ipv6(Ipv6Addr::LOCALHOST, 129),
            Builder::new().ipv6(Ipv6Addr::UNSPECIFIED, 64),
            Builder::new().netmask(Ipv4Addr::new(255, 0, 0, 0)),
            Builder::new().ipv4(Ipv4Addr::new(10, 0, 0, 1), 33),
            Builder::new()
                .address(Ipv4Addr::new(10, 0, 0, 1))
                .netmask(Ipv4Addr::new(255, 0, 255, 0)),
            Builder::new().mac([2, 0, 0, 0, 0, 1]),
            Builder::new().tap().mac([1, 0, 0, 0, 0, 1]),
            Builder::new().tap().mac([0; 6]),
            Builder::new().name("bad name"),
            Builder::new().name("advà0"),
        ];
        for builder in cases {
            let debug = format!("{builder:?}");
            match builder.build() {
                Err(err) => assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{debug}"),
                Ok(_) => panic!("accepted: {debug}"),
            }
        }
    }
}
