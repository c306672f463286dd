//! Interface settings through `SIOC*IF*` ioctls on control sockets.
//!
//! The sockets are made once, when the device is created, so they belong to the device's network
//! namespace: an ioctl names an interface, and the kernel looks that name up in the namespace of
//! the socket, not of the calling thread. Threads in other namespaces can therefore use the
//! device too.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::sync::{Mutex, MutexGuard, OnceLock};

use socket2::{Domain, Socket, Type};

use super::netlink::{self, LinkChange, Netlink, TunInfo};
use crate::net::InterfaceAddress;
use crate::sys::unix::{cvt, from_c_char, ifreq_name, ifreq_with_name, to_c_char};
use crate::sys::Ipv4Field;

/// The handle for a device's settings: the interface it is bound to, and the sockets to
/// configure it through.
///
/// The handle is bound to the interface's index, not its name: a name can be taken over by
/// another device (delete, then create again) or change (udev, `ip link set name`). Every call
/// first looks up the current name of the index (`SIOCGIFNAME`), so a renamed device is followed
/// and a deleted one fails with `ENODEV` instead of reaching whichever device has its old name.
#[derive(Debug)]
pub(crate) struct Interface {
    index: u32,
    names: NameHistory,
    inet: Socket,
    /// `None` where IPv6 is disabled; IPv6 calls then fail with the error seen at creation.
    inet6: Option<Socket>,
    /// The rtnetlink socket, or the errno that refused it: Android refuses NETLINK_ROUTE to
    /// apps (API 30+), whose devices then work without what only rtnetlink answers.
    netlink: Result<Mutex<Netlink>, i32>,
}

fn sockaddr_from_ipv4(address: Ipv4Addr) -> libc::sockaddr {
    let [a, b, c, d] = address.octets();
    libc::sockaddr {
        sa_family: libc::AF_INET as libc::sa_family_t,
        // `struct sockaddr_in` laid over `sa_data`: port (2 bytes), then the address.
        sa_data: [0, 0, a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0].map(to_c_char),
    }
}

fn ipv4_from_sockaddr(sa: &libc::sockaddr) -> io::Result<Ipv4Addr> {
    if i32::from(sa.sa_family) != libc::AF_INET {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the kernel returned address family {}, not AF_INET",
                sa.sa_family
            ),
        ));
    }
    let [_, _, a, b, c, d, ..] = sa.sa_data;
    Ok(Ipv4Addr::from([a, b, c, d].map(from_c_char)))
}

impl Interface {
    /// Binds to the interface now called `name`, whose queue the caller holds open (so the name
    /// cannot pass to another device meanwhile).
    pub(crate) fn new(name: String) -> io::Result<Interface> {
        let inet = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
        let inet6 = match Socket::new(Domain::IPV6, Type::DGRAM, None) {
            Ok(socket) => Some(socket),
            // A kernel without IPv6: the device works, its IPv6 calls report this.
            Err(err) if err.raw_os_error() == Some(libc::EAFNOSUPPORT) => None,
            Err(err) => return Err(err),
        };
        let netlink = match Netlink::open() {
            Ok(netlink) => Ok(Mutex::new(netlink)),
            Err(err) => match err.raw_os_error() {
                Some(errno @ (libc::EACCES | libc::EPERM | libc::EPROTONOSUPPORT)) => Err(errno),
                _ => return Err(err),
            },
        };
        let mut interface = Interface {
            index: 0,
            names: NameHistory::new(name),
            inet,
            inet6,
            netlink,
        };
        interface.index = interface.index_of(interface.names.latest())?;
        Ok(interface)
    }

    /// The interface's name as last seen (see [`current_name`](Self::current_name)).
    pub(crate) fn name(&self) -> &str {
        // A device that is gone keeps its last name, for messages.
        let _ = self.current_name();
        self.names.latest()
    }

    /// The interface's name now, looked up by its index; `ENODEV` once the device is gone.
    pub(crate) fn current_name(&self) -> io::Result<String> {
        // SAFETY: `ifreq` is plain old data, for which all zeros is a valid value.
        let mut ifr: libc::ifreq = unsafe { mem::zeroed() };
        ifr.ifr_ifru.ifru_ifindex = libc::c_int::try_from(self.index)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "interface index over i32"))?;
        // SAFETY: SIOCGIFNAME reads `ifru_ifindex` of a `struct ifreq` and writes `ifr_name`.
        cvt(unsafe { libc::ioctl(self.inet.as_raw_fd(), libc::SIOCGIFNAME as _, &mut ifr) })?;
        let name = ifreq_name(&ifr);
        self.names.record(&name);
        Ok(name)
    }

    /// Whether `name` is this interface's name now (the check after every by-name request).
    pub(crate) fn is_named(&self, name: &str) -> bool {
        self.index_of(name).ok() == Some(self.index)
    }

    /// The index of the interface now called `name`.
    fn index_of(&self, name: &str) -> io::Result<u32> {
        let mut ifr = ifreq_with_name(name)?;
        // SAFETY: SIOCGIFINDEX writes `ifru_ifindex` of a `struct ifreq`, which `ifr` is.
        unsafe { self.ioctl(libc::SIOCGIFINDEX, &mut ifr)? };
        // SAFETY: SIOCGIFINDEX filled `ifru_ifindex`; every bit pattern is a valid `c_int`.
        non_negative(unsafe { ifr.ifr_ifru.ifru_ifindex })
    }

    /// Fails with `ENODEV` if the interface no longer exists.
    pub(crate) fn ensure_exists(&self) -> io::Result<()> {
        self.current_name().map(drop)
    }

    /// Runs one `SIOC*IF*` request on the IPv4 control socket.
    ///
    /// # Safety
    /// `request` must be one that reads or writes a single `struct ifreq`.
    unsafe fn ioctl(&self, request: libc::c_ulong, ifr: &mut libc::ifreq) -> io::Result<()> {
        // SAFETY: the caller guarantees `request` takes a `struct ifreq`, and `ifr` is one,
        // valid for reads and writes for the duration of the call.
        cvt(unsafe { libc::ioctl(self.inet.as_raw_fd(), request as _, ifr as *mut libc::ifreq) })?;
        Ok(())
    }

    /// Runs one `SIOC*IF*` request on this interface and returns the `ifreq` the kernel filled.
    ///
    /// An ioctl names its interface: the name is looked up from the index first and checked
    /// again afterwards. If it passed to another interface in between (a rename and a new device
    /// of the old name, within microseconds), the answer is dropped and the request made again
    /// under the new name. A setting cannot be taken back that way, so the link settings go over
    /// rtnetlink, by index, wherever it is available ([`change_link`](Self::change_link)).
    ///
    /// # Safety
    /// `request` must be one that reads or writes a single `struct ifreq`.
    unsafe fn request(
        &self,
        request: libc::c_ulong,
        fill: impl Fn(&mut libc::ifreq),
    ) -> io::Result<libc::ifreq> {
        for _ in 0..3 {
            let name = self.current_name()?;
            let mut ifr = ifreq_with_name(&name)?;
            fill(&mut ifr);
            // SAFETY: the caller guarantees `request` takes a `struct ifreq`.
            let result = unsafe { self.ioctl(request, &mut ifr) };
            if self.is_named(&name) {
                return result.map(|()| ifr);
            }
        }
        Err(io::Error::from_raw_os_error(libc::ENODEV))
    }

    /// Changes a link setting: over rtnetlink, addressed by index, or, where rtnetlink is
    /// refused (Android apps), with the ioctl `fallback` on the current name.
    fn change_link(
        &self,
        change: LinkChange,
        fallback: impl FnOnce() -> io::Result<()>,
    ) -> io::Result<()> {
        match &self.netlink {
            Ok(netlink) => netlink::lock(netlink).change_link(self.index, change),
            Err(_) => fallback(),
        }
    }

    /// Reads an integer setting (`ifru_ivalue`, `ifru_mtu`: the same `int`).
    fn get_int(&self, request: libc::c_ulong) -> io::Result<libc::c_int> {
        // SAFETY: the callers pass SIOCGIFMTU or SIOCGIFTXQLEN, which write an `int` into a
        // `struct ifreq`.
        let ifr = unsafe { self.request(request, |_| {})? };
        // SAFETY: the request filled the integer member; every bit pattern is a valid `c_int`.
        Ok(unsafe { ifr.ifr_ifru.ifru_mtu })
    }

    fn set_int(&self, request: libc::c_ulong, value: u32) -> io::Result<()> {
        let value = libc::c_int::try_from(value).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{value} does not fit a C int"),
            )
        })?;
        // SAFETY: the callers pass SIOCSIFMTU or SIOCSIFTXQLEN, which read an `int` from a
        // `struct ifreq`.
        unsafe { self.request(request, |ifr| ifr.ifr_ifru.ifru_mtu = value) }.map(drop)
    }

    /// The interface index, which never changes while the interface exists.
    pub(crate) fn index(&self) -> io::Result<u32> {
        self.ensure_exists()?;
        Ok(self.index)
    }

    pub(crate) fn mtu(&self) -> io::Result<u32> {
        non_negative(self.get_int(libc::SIOCGIFMTU)?)
    }

    pub(crate) fn set_mtu(&self, mtu: u32) -> io::Result<()> {
        self.change_link(LinkChange::Mtu(mtu), || self.set_int(libc::SIOCSIFMTU, mtu))
    }

    pub(crate) fn txqueuelen(&self) -> io::Result<u32> {
        non_negative(self.get_int(libc::SIOCGIFTXQLEN)?)
    }

    pub(crate) fn set_txqueuelen(&self, txqueuelen: u32) -> io::Result<()> {
        self.change_link(LinkChange::TxQueueLen(txqueuelen), || {
            self.set_int(libc::SIOCSIFTXQLEN, txqueuelen)
        })
    }

    fn flags(&self) -> io::Result<libc::c_short> {
        // SAFETY: SIOCGIFFLAGS writes `ifru_flags` of a `struct ifreq`.
        let ifr = unsafe { self.request(libc::SIOCGIFFLAGS, |_| {})? };
        // SAFETY: SIOCGIFFLAGS filled `ifru_flags`; every bit pattern is a valid `c_short`.
        Ok(unsafe { ifr.ifr_ifru.ifru_flags })
    }

    pub(crate) fn is_up(&self) -> io::Result<bool> {
        Ok(i32::from(self.flags()?) & libc::IFF_UP != 0)
    }

    pub(crate) fn set_up(&self, up: bool) -> io::Result<()> {
        self.change_link(LinkChange::Up(up), || {
            let mut flags = i32::from(self.flags()?);
            if up {
                flags |= libc::IFF_UP;
            } else {
                flags &= !libc::IFF_UP;
            }
            // The kernel's flags are 16 bits wide; IFF_UP is bit 0.
            let flags = flags as libc::c_short;
            // SAFETY: SIOCSIFFLAGS reads `ifru_flags` of a `struct ifreq`.
            unsafe { self.request(libc::SIOCSIFFLAGS, |ifr| ifr.ifr_ifru.ifru_flags = flags) }
                .map(drop)
        })
    }

    pub(crate) fn mac(&self) -> io::Result<[u8; 6]> {
        // SAFETY: SIOCGIFHWADDR writes `ifru_hwaddr` of a `struct ifreq`.
        let ifr = unsafe { self.request(libc::SIOCGIFHWADDR, |_| {})? };
        // SAFETY: SIOCGIFHWADDR filled `ifru_hwaddr`, a plain `sockaddr`.
        let sa = unsafe { ifr.ifr_ifru.ifru_hwaddr };
        let [a, b, c, d, e, f, ..] = sa.sa_data;
        Ok([a, b, c, d, e, f].map(from_c_char))
    }

    pub(crate) fn set_mac(&self, mac: [u8; 6]) -> io::Result<()> {
        self.change_link(LinkChange::Mac(mac), || {
            let [a, b, c, d, e, f] = mac;
            let hwaddr = libc::sockaddr {
                sa_family: libc::ARPHRD_ETHER,
                sa_data: [a, b, c, d, e, f, 0, 0, 0, 0, 0, 0, 0, 0].map(to_c_char),
            };
            // SAFETY: SIOCSIFHWADDR reads `ifru_hwaddr` of a `struct ifreq`.
            unsafe { self.request(libc::SIOCSIFHWADDR, |ifr| ifr.ifr_ifru.ifru_hwaddr = hwaddr) }
                .map(drop)
        })
    }

    pub(crate) fn ipv4(&self, field: Ipv4Field) -> io::Result<Option<Ipv4Addr>> {
        let request = match field {
            Ipv4Field::Address => libc::SIOCGIFADDR,
            Ipv4Field::Netmask => libc::SIOCGIFNETMASK,
            Ipv4Field::Destination => libc::SIOCGIFDSTADDR,
            Ipv4Field::Broadcast => libc::SIOCGIFBRDADDR,
        };
        // SAFETY: the SIOCGIF{ADDR,NETMASK,DSTADDR,BRDADDR} requests write a `sockaddr` into a
        // `struct ifreq`.
        let ifr = match unsafe { self.request(request, |_| {}) } {
            // No IPv4 address at all: nothing to report.
            Err(err) if err.raw_os_error() == Some(libc::EADDRNOTAVAIL) => return Ok(None),
            result => result?,
        };
        // SAFETY: the request filled the `sockaddr` member (the fields share it).
        let sa = unsafe { ifr.ifr_ifru.ifru_addr };
        let address = ipv4_from_sockaddr(&sa)?;
        // The kernel reports an unset destination or broadcast as 0.0.0.0.
        Ok((field == Ipv4Field::Address
            || field == Ipv4Field::Netmask
            || !address.is_unspecified())
        .then_some(address))
    }

    pub(crate) fn set_ipv4(&self, field: Ipv4Field, address: Ipv4Addr) -> io::Result<()> {
        let request = match field {
            Ipv4Field::Address => libc::SIOCSIFADDR,
            Ipv4Field::Netmask => libc::SIOCSIFNETMASK,
            Ipv4Field::Destination => libc::SIOCSIFDSTADDR,
            Ipv4Field::Broadcast => libc::SIOCSIFBRDADDR,
        };
        let sockaddr = sockaddr_from_ipv4(address);
        // SAFETY: the SIOCSIF{ADDR,NETMASK,DSTADDR,BRDADDR} requests read a `sockaddr` from a
        // `struct ifreq`.
        unsafe { self.request(request, |ifr| ifr.ifr_ifru.ifru_addr = sockaddr) }.map(drop)
    }

    fn ipv6_request(
        &self,
        request: libc::c_ulong,
        address: Ipv6Addr,
        prefix_len: u8,
    ) -> io::Result<()> {
        let socket = self
            .inet6
            .as_ref()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EAFNOSUPPORT))?;
        let index = libc::c_int::try_from(self.index)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "interface index over i32"))?;
        let mut req = libc::in6_ifreq {
            ifr6_addr: libc::in6_addr {
                s6_addr: address.octets(),
            },
            ifr6_prefixlen: u32::from(prefix_len),
            ifr6_ifindex: index,
        };
        // SAFETY: SIOCSIFADDR and SIOCDIFADDR on an AF_INET6 socket (the only requests passed
        // here) read one `struct in6_ifreq`, which `req` is.
        cvt(unsafe {
            libc::ioctl(
                socket.as_raw_fd(),
                request as _,
                &mut req as *mut libc::in6_ifreq,
            )
        })?;
        Ok(())
    }

    pub(crate) fn add_ipv6(&self, address: Ipv6Addr, prefix_len: u8) -> io::Result<()> {
        self.ipv6_request(libc::SIOCSIFADDR, address, prefix_len)
    }

    pub(crate) fn remove_ipv6(&self, address: Ipv6Addr, prefix_len: u8) -> io::Result<()> {
        self.ipv6_request(libc::SIOCDIFADDR, address, prefix_len)
    }

    fn netlink(&self) -> io::Result<MutexGuard<'_, Netlink>> {
        match &self.netlink {
            Ok(netlink) => Ok(netlink::lock(netlink)),
            Err(errno) => Err(io::Error::from_raw_os_error(*errno)),
        }
    }

    pub(crate) fn addresses(&self) -> io::Result<Vec<InterfaceAddress>> {
        // A dump for a deleted index is simply empty: say that the device is gone instead.
        self.ensure_exists()?;
        self.netlink()?.addresses(self.index)
    }

    pub(crate) fn tun_info(&self) -> io::Result<TunInfo> {
        self.netlink()?.tun_info(self.index)
    }

    /// Whether the device carries packet information (`IFLA_TUN_PI`; `TUNGETIFF` cannot tell: it
    /// reports `IFF_NOFILTER` in the bit that `IFF_NO_PI` uses), or `None` where this process
    /// may not ask (Android apps are refused rtnetlink).
    pub(crate) fn packet_info(&self) -> io::Result<Option<bool>> {
        match self.tun_info() {
            Ok(info) => Ok(Some(info.packet_info)),
            Err(err) if matches!(err.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Adds an IPv4 network (`RTM_NEWADDR`, addressed by index).
    pub(crate) fn add_ipv4(&self, address: Ipv4Addr, prefix_len: u8) -> io::Result<()> {
        self.netlink()?
            .change_ipv4(true, self.index, address, prefix_len)
    }

    /// Removes an IPv4 network (`RTM_DELADDR`, addressed by index).
    pub(crate) fn remove_ipv4(&self, address: Ipv4Addr, prefix_len: u8) -> io::Result<()> {
        self.netlink()?
            .change_ipv4(false, self.index, address, prefix_len)
    }
}

fn non_negative(value: libc::c_int) -> io::Result<u32> {
    u32::try_from(value).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the kernel returned a negative value ({value})"),
        )
    })
}

/// The names an interface has had, newest last.
///
/// [`Interface::name`] hands out `&str`s that must stay valid as long as the handle, while a
/// rename must still show in the next call; so names are only ever appended, never replaced, and
/// safe code can lend them out. Renames are rare (udev, an administrator), and each one costs a
/// few bytes.
#[derive(Debug)]
struct NameHistory {
    first: NameNode,
}

#[derive(Debug)]
struct NameNode {
    name: Box<str>,
    next: OnceLock<Box<NameNode>>,
}

impl NameNode {
    fn new(name: &str) -> NameNode {
        NameNode {
            name: name.into(),
            next: OnceLock::new(),
        }
    }
}

impl NameHistory {
    fn new(name: String) -> NameHistory {
        NameHistory {
            first: NameNode::new(&name),
        }
    }

    fn last(&self) -> &NameNode {
        let mut node = &self.first;
        while let Some(next) = node.next.get() {
            node = next;
        }
        node
    }

    fn latest(&self) -> &str {
        &self.last().name
    }

    /// Appends `name` unless it is the latest already. Concurrent callers race on the last
    /// node's `OnceLock`; the loser looks again.
    fn record(&self, name: &str) {
        loop {
            let last = self.last();
            if &*last.name == name || last.next.set(Box::new(NameNode::new(name))).is_ok() {
                return;
            }
        }
    }
}

impl Drop for NameHistory {
    /// Unlinks the nodes one by one: the default drop would recurse once per rename.
    fn drop(&mut self) {
        let mut next = self.first.next.take();
        while let Some(mut node) = next {
            next = node.next.take();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_history_follows_renames_and_keeps_old_borrows_valid() {
        let history = NameHistory::new("a0".into());
        let old = history.latest();
        history.record("a0");
        assert_eq!(history.latest(), "a0");
        history.record("b0");
        history.record("b0");
        history.record("c0");
        assert_eq!(old, "a0");
        assert_eq!(history.latest(), "c0");
        history.record("a0");
        assert_eq!(history.latest(), "a0");
        let many = NameHistory::new("x".into());
        // Each record walks the list: keep Miri's run short.
        let renames = if cfg!(miri) { 101 } else { 1_001 };
        for i in 0..renames {
            many.record(if i % 2 == 0 { "y" } else { "x" });
        }
        assert_eq!(many.latest(), "y");
    }
}
