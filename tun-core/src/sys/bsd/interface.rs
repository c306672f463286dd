//! Interface settings through the BSD ioctls on control sockets (`SIOC*IF*`, `SIOCAIFADDR`,
//! `SIOCAIFADDR_IN6`, ...) and the `getifaddrs` listing.
//!
//! The handle is bound to the interface's index, like Linux's: every request first looks up the
//! index's current name (`if_indextoname`), so a renamed interface is followed and a destroyed
//! one fails with `ENXIO` instead of reaching whichever interface took its name. (Unlike on
//! Linux, [`name`](Interface::name) keeps the name the build gave it.)

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, OwnedFd};

use super::abi::{
    self, In6Addrlifetime, In6Aliasreq, In6Ifreq, In6IfreqData, InAliasreq, SockaddrIn,
    SockaddrIn6, AF_INET, AF_INET6, IFF_UP,
};
#[cfg(tun_freebsd)]
use super::abi::{Sockaddr, AF_LINK};
use super::control::{
    self, family, ifreq_with_name, name_bytes, read_sockaddr, InterfaceAddresses,
};
use super::sockaddr::{
    ipv6_mask, mask_prefix, sockaddr_from_ipv4, sockaddr_in, sockaddr_in6, without_embedded_scope,
};
use crate::net::{prefix_to_netmask, InterfaceAddress};

/// The handle for an interface's settings.
#[derive(Debug)]
pub(crate) struct Interface {
    name: String,
    index: u32,
    inet: OwnedFd,
    /// `None` on a kernel without IPv6; IPv6 calls then fail with `EAFNOSUPPORT`.
    inet6: Option<OwnedFd>,
}

impl Interface {
    /// Binds to the interface now called `name`, which the caller holds open.
    pub(crate) fn new(name: String) -> io::Result<Interface> {
        let inet = control::socket(libc::AF_INET)?;
        let inet6 = match control::socket(libc::AF_INET6) {
            Ok(socket) => Some(socket),
            Err(err) if err.raw_os_error() == Some(libc::EAFNOSUPPORT) => None,
            Err(err) => return Err(err),
        };
        let index = control::name_to_index(&name);
        if index == 0 {
            return Err(io::Error::from_raw_os_error(libc::ENXIO));
        }
        Ok(Interface {
            name,
            index,
            inet,
            inet6,
        })
    }

    /// The name the build gave the interface.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The interface's name now; `ENXIO` once it is gone.
    fn current_name(&self) -> io::Result<String> {
        control::index_to_name(self.index)
    }

    /// The index the handle is bound to, without asking the kernel whether it still exists.
    #[cfg(tun_apple)]
    pub(crate) fn bound_index(&self) -> u32 {
        self.index
    }

    /// The interface index, which never changes while the interface exists.
    pub(crate) fn index(&self) -> io::Result<u32> {
        self.current_name()?;
        Ok(self.index)
    }

    fn ifreq(&self) -> io::Result<abi::Ifreq> {
        ifreq_with_name(&self.current_name()?)
    }

    /// Runs one request that takes a `struct ifreq` on the IPv4 control socket.
    ///
    /// # Safety
    /// `request` must take a single `struct ifreq`, and use only members that `ifr` sets.
    unsafe fn ifreq_ioctl(&self, request: u32, ifr: &mut abi::Ifreq) -> io::Result<()> {
        // SAFETY: the caller guarantees the request takes one `struct ifreq`.
        unsafe { control::ioctl(self.inet.as_fd(), request, ifr) }
    }

    pub(crate) fn mtu(&self) -> io::Result<u32> {
        let mut ifr = self.ifreq()?;
        // SAFETY: SIOCGIFMTU writes `ifru_mtu` of a `struct ifreq`.
        unsafe { self.ifreq_ioctl(abi::SIOCGIFMTU, &mut ifr)? };
        // SAFETY: the request filled the `int` member; every bit pattern is a valid `i32`.
        let mtu = unsafe { ifr.ifru.int };
        u32::try_from(mtu).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the kernel returned a negative MTU ({mtu})"),
            )
        })
    }

    pub(crate) fn set_mtu(&self, mtu: u32) -> io::Result<()> {
        let mut ifr = self.ifreq()?;
        ifr.ifru.int = i32::try_from(mtu)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "MTU over i32"))?;
        // SAFETY: SIOCSIFMTU reads `ifru_mtu` of a `struct ifreq`.
        unsafe { self.ifreq_ioctl(abi::SIOCSIFMTU, &mut ifr) }
    }

    /// The interface flags: `ifru_flags[0]` holds the low 16 bits, `ifru_flags[1]` the high.
    fn flags(&self) -> io::Result<i32> {
        let mut ifr = self.ifreq()?;
        // SAFETY: SIOCGIFFLAGS writes `ifru_flags` of a `struct ifreq`.
        unsafe { self.ifreq_ioctl(abi::SIOCGIFFLAGS, &mut ifr)? };
        // SAFETY: the request filled `ifru_flags`; every bit pattern is a valid `[i16; 2]`.
        let [low, high] = unsafe { ifr.ifru.flags };
        Ok(i32::from(low as u16) | (i32::from(high) << 16))
    }

    pub(crate) fn is_up(&self) -> io::Result<bool> {
        Ok(self.flags()? & IFF_UP != 0)
    }

    pub(crate) fn set_up(&self, up: bool) -> io::Result<()> {
        let mut flags = self.flags()?;
        if up {
            flags |= IFF_UP;
        } else {
            flags &= !IFF_UP;
        }
        let mut ifr = self.ifreq()?;
        // Split back into the two 16-bit halves the kernel reads.
        ifr.ifru.flags = [flags as i16, (flags >> 16) as i16];
        // SAFETY: SIOCSIFFLAGS reads `ifru_flags` of a `struct ifreq`.
        unsafe { self.ifreq_ioctl(abi::SIOCSIFFLAGS, &mut ifr) }
    }

    /// The link-level entry of `getifaddrs`: the interface type and its address.
    #[cfg(tun_freebsd)]
    fn link(&self) -> io::Result<libc::sockaddr_dl> {
        let name = self.current_name()?;
        let list = InterfaceAddresses::new()?;
        let link = list
            .of(&name)
            .filter_map(|entry| entry.addr)
            .filter(|sa| family(sa) == Some(AF_LINK))
            .find_map(read_sockaddr::<libc::sockaddr_dl>);
        link.ok_or_else(|| io::Error::from_raw_os_error(libc::ENXIO))
    }

    /// The interface type (FreeBSD: `IFT_ETHER` for TAP, `IFT_PPP` for TUN), to tell which kind
    /// an existing interface is.
    #[cfg(tun_freebsd)]
    pub(crate) fn link_type(&self) -> io::Result<u8> {
        Ok(self.link()?.sdl_type)
    }

    #[cfg(tun_freebsd)]
    pub(crate) fn mac(&self) -> io::Result<[u8; 6]> {
        let link = self.link()?;
        let start = usize::from(link.sdl_nlen);
        // `LLADDR(sdl)`: the address follows the name in `sdl_data`.
        // The fixed part of `sockaddr_dl` is 8 bytes; the address must lie within `sdl_len`.
        let complete = link.sdl_alen == 6 && usize::from(link.sdl_len) >= 8 + start + 6;
        let bytes = link
            .sdl_data
            .get(start..start + 6)
            .filter(|_| complete)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the interface has no MAC address",
                )
            })?;
        let mut mac = [0; 6];
        for (dst, &src) in mac.iter_mut().zip(bytes) {
            *dst = src as u8;
        }
        Ok(mac)
    }

    #[cfg(tun_freebsd)]
    pub(crate) fn set_mac(&self, mac: [u8; 6]) -> io::Result<()> {
        let [a, b, c, d, e, f] = mac;
        let mut ifr = self.ifreq()?;
        // `if_setlladdr` takes `sa_data` with `sa_len` as the address length.
        ifr.ifru.addr = Sockaddr {
            len: 6,
            family: AF_LINK,
            data: [a, b, c, d, e, f, 0, 0, 0, 0, 0, 0, 0, 0],
        };
        // SAFETY: SIOCSIFLLADDR reads `ifru_addr` of a `struct ifreq`.
        unsafe { self.ifreq_ioctl(abi::SIOCSIFLLADDR, &mut ifr) }
    }

    /// Adds an IPv4 network with `SIOCAIFADDR`. On FreeBSD that also installs the route to the
    /// network (the tun interface is in broadcast mode, see `freebsd/mod.rs`); a utun is
    /// point-to-point, and the macOS module adds the network route itself.
    pub(crate) fn add_ipv4(&self, address: Ipv4Addr, prefix_len: u8) -> io::Result<()> {
        let netmask = prefix_to_netmask(prefix_len)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        // FreeBSD's has a `vhid` more than Darwin's.
        #[allow(clippy::needless_update)]
        let mut req = InAliasreq {
            name: name_bytes(&self.current_name()?)?,
            addr: sockaddr_in(address),
            // The broadcast address, or the peer of a point-to-point interface.
            broadaddr: abi::ipv4_other_end(address, prefix_len)
                .map(sockaddr_in)
                .unwrap_or_default(),
            mask: sockaddr_in(netmask),
            ..InAliasreq::default()
        };
        // SAFETY: SIOCAIFADDR reads one `struct in_aliasreq`, which `req` is.
        unsafe { control::ioctl(self.inet.as_fd(), abi::SIOCAIFADDR, &mut req) }
    }

    /// Removes an IPv4 address (`SIOCDIFADDR` goes by address; the prefix is not needed).
    pub(crate) fn remove_ipv4(&self, address: Ipv4Addr, _prefix_len: u8) -> io::Result<()> {
        let mut ifr = self.ifreq()?;
        ifr.ifru.addr = sockaddr_from_ipv4(address);
        // SAFETY: SIOCDIFADDR reads `ifru_addr` of a `struct ifreq`.
        unsafe { self.ifreq_ioctl(abi::SIOCDIFADDR, &mut ifr) }
    }

    fn inet6(&self) -> io::Result<&OwnedFd> {
        self.inet6
            .as_ref()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EAFNOSUPPORT))
    }

    /// Adds an IPv6 address with `SIOCAIFADDR_IN6`: no duplicate address detection (usable at
    /// once) and infinite lifetimes.
    pub(crate) fn add_ipv6(&self, address: Ipv6Addr, prefix_len: u8) -> io::Result<()> {
        let mut req = In6Aliasreq {
            name: name_bytes(&self.current_name()?)?,
            addr: sockaddr_in6(address, self.index),
            prefixmask: sockaddr_in6(ipv6_mask(prefix_len), 0),
            flags: abi::IN6_IFF_NODAD,
            lifetime: In6Addrlifetime {
                vltime: abi::ND6_INFINITE_LIFETIME,
                pltime: abi::ND6_INFINITE_LIFETIME,
                ..In6Addrlifetime::default()
            },
            ..In6Aliasreq::default()
        };
        // SAFETY: SIOCAIFADDR_IN6 reads one `struct in6_aliasreq`, which `req` is.
        unsafe { control::ioctl(self.inet6()?.as_fd(), abi::SIOCAIFADDR_IN6, &mut req) }
    }

    /// Removes an IPv6 address (`SIOCDIFADDR_IN6`, by address).
    pub(crate) fn remove_ipv6(&self, address: Ipv6Addr, _prefix_len: u8) -> io::Result<()> {
        let mut req = In6Ifreq {
            name: name_bytes(&self.current_name()?)?,
            // The kernel copies in the whole union (its statistics member is the widest).
            ifru: In6IfreqData {
                icmp6_stats: [0; 34],
            },
        };
        req.ifru.addr = sockaddr_in6(address, self.index);
        // SAFETY: SIOCDIFADDR_IN6 reads one `struct in6_ifreq`, which `req` is, all of it
        // initialized.
        unsafe { control::ioctl(self.inet6()?.as_fd(), abi::SIOCDIFADDR_IN6, &mut req) }
    }

    /// Every IPv4 and IPv6 address of the interface, from `getifaddrs`.
    pub(crate) fn addresses(&self) -> io::Result<Vec<InterfaceAddress>> {
        let name = self.current_name()?;
        let list = InterfaceAddresses::new()?;
        let mut addresses = Vec::new();
        for entry in list.of(&name) {
            let Some(sa) = entry.addr else { continue };
            let address = match family(sa) {
                Some(AF_INET) => read_sockaddr::<SockaddrIn>(sa).map(|sin| {
                    let prefix = entry
                        .netmask
                        .map(netmask_bytes::<4>)
                        .and_then(|mask| mask_prefix(&mask))
                        .unwrap_or(32);
                    (IpAddr::V4(Ipv4Addr::from(sin.addr)), prefix)
                }),
                Some(AF_INET6) => read_sockaddr::<SockaddrIn6>(sa).map(|sin6| {
                    let prefix = entry
                        .netmask
                        .map(netmask_bytes::<16>)
                        .and_then(|mask| mask_prefix(&mask))
                        .unwrap_or(128);
                    let ip = without_embedded_scope(Ipv6Addr::from(sin6.addr));
                    (IpAddr::V6(ip), prefix)
                }),
                _ => None,
            };
            if let Some((ip, prefix_len)) = address {
                addresses.push(InterfaceAddress { ip, prefix_len });
            }
        }
        Ok(addresses)
    }
}

/// The address bytes of a netmask from `getifaddrs`. The kernel shortens masks: `sa_len` may
/// stop after the last non-zero byte, and the family may be unset, so the bytes are read by
/// position (after the port, and for IPv6 the flow label) and missing ones are zeros.
fn netmask_bytes<const N: usize>(sa: &[u8]) -> [u8; N] {
    // `sin_addr` starts at byte 4, `sin6_addr` at byte 8.
    let offset = if N == 4 { 4 } else { 8 };
    let mut mask = [0u8; N];
    // A length that stops before the address is a mask of zeros (a /0).
    for (dst, &src) in mask.iter_mut().zip(sa.get(offset..).unwrap_or_default()) {
        *dst = src;
    }
    mask
}
