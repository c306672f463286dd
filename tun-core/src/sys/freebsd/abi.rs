//! FreeBSD's structs and ioctl numbers, as the kernel's public headers define them (the `libc`
//! crate has few of them for FreeBSD). Every struct is checked at compile time against the size
//! and field offsets of its C definition on 64-bit FreeBSD, and every ioctl number is computed
//! from those sizes with the `_IOW`/`_IOWR` encoding and pinned in a unit test against its
//! published value; the file is pure data, so those checks also run on Linux.
//!
//! Sources: `sys/net/if.h` (`struct ifreq`), `sys/netinet/in_var.h` (`struct in_aliasreq`),
//! `sys/netinet6/in6_var.h` (`struct in6_aliasreq`, `struct in6_ifreq`, `SIOCAIFADDR_IN6`,
//! `SIOCDIFADDR_IN6`, `IN6_IFF_NODAD`), `sys/netinet6/nd6.h` (`ND6_INFINITE_LIFETIME`),
//! `sys/sys/sockio.h` (the `SIOC*` numbers), `sys/net/if_tun.h` (`TUNSIFHEAD`, `TUNSIFMODE`).

use std::mem::{offset_of, size_of};
use std::net::Ipv4Addr;

use crate::sys::bsd::ioctl::{iow, iowr};

/// `IFNAMSIZ`: an interface name and its NUL.
pub(crate) const IFNAMSIZ: usize = 16;

/// `time_t`: 64 bits on every FreeBSD architecture except i386.
#[cfg(not(target_arch = "x86"))]
type TimeT = i64;
#[cfg(target_arch = "x86")]
type TimeT = i32;

/// `struct sockaddr`: length, family, and 14 bytes of address.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sockaddr {
    pub(crate) len: u8,
    pub(crate) family: u8,
    pub(crate) data: [u8; 14],
}

/// `struct sockaddr_in`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SockaddrIn {
    pub(crate) len: u8,
    pub(crate) family: u8,
    pub(crate) port: u16,
    pub(crate) addr: [u8; 4],
    pub(crate) zero: [u8; 8],
}

/// `struct sockaddr_in6`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SockaddrIn6 {
    pub(crate) len: u8,
    pub(crate) family: u8,
    pub(crate) port: u16,
    pub(crate) flowinfo: u32,
    pub(crate) addr: [u8; 16],
    pub(crate) scope_id: u32,
}

/// The union of `struct ifreq` (the members this crate uses, and `ifru_buffer`, the widest
/// with `ifru_addr`, which sets its size and alignment).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) union IfreqData {
    pub(crate) addr: Sockaddr,
    /// `ifru_flags[2]`: the low and the high 16 bits of the interface flags.
    pub(crate) flags: [i16; 2],
    /// `ifru_mtu` (and the other `int` members).
    pub(crate) int: i32,
    /// `ifru_data`: SIOCSIFNAME passes the new name through it.
    pub(crate) data: *mut u8,
    /// `struct ifreq_buffer { size_t length; void *buffer; }`.
    pub(crate) buffer: [usize; 2],
}

/// `struct ifreq`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Ifreq {
    pub(crate) name: [u8; IFNAMSIZ],
    pub(crate) ifru: IfreqData,
}

/// `struct in_aliasreq`: SIOCAIFADDR's argument (FreeBSD 10 added `ifra_vhid`, and gave the
/// request a new number).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct InAliasreq {
    pub(crate) name: [u8; IFNAMSIZ],
    pub(crate) addr: SockaddrIn,
    /// `ifra_broadaddr`, also `ifra_dstaddr` on a point-to-point interface.
    pub(crate) broadaddr: SockaddrIn,
    pub(crate) mask: SockaddrIn,
    pub(crate) vhid: i32,
}

/// `struct in6_addrlifetime`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct In6Addrlifetime {
    pub(crate) expire: TimeT,
    pub(crate) preferred: TimeT,
    pub(crate) vltime: u32,
    pub(crate) pltime: u32,
}

/// `struct in6_aliasreq`: SIOCAIFADDR_IN6's argument.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct In6Aliasreq {
    pub(crate) name: [u8; IFNAMSIZ],
    pub(crate) addr: SockaddrIn6,
    pub(crate) dstaddr: SockaddrIn6,
    pub(crate) prefixmask: SockaddrIn6,
    pub(crate) flags: i32,
    pub(crate) lifetime: In6Addrlifetime,
    pub(crate) vhid: i32,
}

/// The union of `struct in6_ifreq`: its widest member is `struct icmp6_ifstat`, 34 counters
/// of 64 bits, which the kernel copies in whole whatever the request reads.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) union In6IfreqData {
    pub(crate) addr: SockaddrIn6,
    pub(crate) icmp6_stats: [u64; 34],
}

/// `struct in6_ifreq`: SIOCDIFADDR_IN6's argument.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct In6Ifreq {
    pub(crate) name: [u8; IFNAMSIZ],
    pub(crate) ifru: In6IfreqData,
}

// The layouts of 64-bit FreeBSD (amd64, arm64, riscv64, powerpc64), from the headers above.
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<Sockaddr>() == 16);
    assert!(size_of::<SockaddrIn>() == 16);
    assert!(offset_of!(SockaddrIn, addr) == 4);
    assert!(size_of::<SockaddrIn6>() == 28);
    assert!(offset_of!(SockaddrIn6, addr) == 8);
    assert!(offset_of!(SockaddrIn6, scope_id) == 24);
    assert!(size_of::<Ifreq>() == 32);
    assert!(offset_of!(Ifreq, ifru) == 16);
    assert!(size_of::<InAliasreq>() == 68);
    assert!(offset_of!(InAliasreq, addr) == 16);
    assert!(offset_of!(InAliasreq, broadaddr) == 32);
    assert!(offset_of!(InAliasreq, mask) == 48);
    assert!(offset_of!(InAliasreq, vhid) == 64);
    assert!(size_of::<In6Addrlifetime>() == 24);
    assert!(size_of::<In6Aliasreq>() == 136);
    assert!(offset_of!(In6Aliasreq, addr) == 16);
    assert!(offset_of!(In6Aliasreq, dstaddr) == 44);
    assert!(offset_of!(In6Aliasreq, prefixmask) == 72);
    assert!(offset_of!(In6Aliasreq, flags) == 100);
    assert!(offset_of!(In6Aliasreq, lifetime) == 104);
    assert!(offset_of!(In6Aliasreq, vhid) == 128);
    assert!(size_of::<In6Ifreq>() == 288);
    assert!(offset_of!(In6Ifreq, ifru) == 16);
};

/// The other end of a new IPv4 network for `SIOCAIFADDR`: the broadcast address (the tun
/// interface is in broadcast mode).
pub(crate) fn ipv4_other_end(address: Ipv4Addr, prefix_len: u8) -> Option<Ipv4Addr> {
    crate::sys::bsd::sockaddr::ipv4_broadcast(address, prefix_len)
}

const IFREQ: usize = size_of::<Ifreq>();

/// `_IOW('i', 16, struct ifreq)`: set the interface flags.
pub(crate) const SIOCSIFFLAGS: u32 = iow(b'i', 16, IFREQ);
/// `_IOWR('i', 17, struct ifreq)`: get the interface flags.
pub(crate) const SIOCGIFFLAGS: u32 = iowr(b'i', 17, IFREQ);
/// `_IOW('i', 25, struct ifreq)`: delete an IPv4 address.
pub(crate) const SIOCDIFADDR: u32 = iow(b'i', 25, IFREQ);
/// `_IOW('i', 40, struct ifreq)`: rename an interface (the new name through `ifr_data`).
pub(crate) const SIOCSIFNAME: u32 = iow(b'i', 40, IFREQ);
/// `_IOW('i', 43, struct in_aliasreq)`: add an IPv4 address (`OSIOCAIFADDR`, 26, is the
/// FreeBSD 9 one).
pub(crate) const SIOCAIFADDR: u32 = iow(b'i', 43, size_of::<InAliasreq>());
/// `_IOWR('i', 51, struct ifreq)`: get the MTU.
pub(crate) const SIOCGIFMTU: u32 = iowr(b'i', 51, IFREQ);
/// `_IOW('i', 52, struct ifreq)`: set the MTU.
pub(crate) const SIOCSIFMTU: u32 = iow(b'i', 52, IFREQ);
/// `_IOW('i', 60, struct ifreq)`: set the link-level (MAC) address.
pub(crate) const SIOCSIFLLADDR: u32 = iow(b'i', 60, IFREQ);
/// `_IOW('i', 121, struct ifreq)`: destroy a cloned interface.
pub(crate) const SIOCIFDESTROY: u32 = iow(b'i', 121, IFREQ);
/// `_IOWR('i', 124, struct ifreq)`: create a cloned interface; the kernel writes its name back.
pub(crate) const SIOCIFCREATE2: u32 = iowr(b'i', 124, IFREQ);
/// `_IOW('i', 25, struct in6_ifreq)`: delete an IPv6 address.
pub(crate) const SIOCDIFADDR_IN6: u32 = iow(b'i', 25, size_of::<In6Ifreq>());
/// `_IOW('i', 27, struct in6_aliasreq)`: add an IPv6 address (`OSIOCAIFADDR_IN6`, 26, is the
/// FreeBSD 9 one).
pub(crate) const SIOCAIFADDR_IN6: u32 = iow(b'i', 27, size_of::<In6Aliasreq>());
/// `_IOW('t', 96, int)`: prefix every packet with its address family (`net/if_tun.h`).
pub(crate) const TUNSIFHEAD: u32 = iow(b't', 96, size_of::<i32>());
/// `_IOW('t', 94, int)`: point-to-point or broadcast mode, only while the link is down.
pub(crate) const TUNSIFMODE: u32 = iow(b't', 94, size_of::<i32>());

/// `IN6_IFF_NODAD`: the address needs no duplicate address detection, so it is usable at once
/// (not 0x100, which is `ND6_IFF_NO_DAD`, a per-interface flag of another request).
pub(crate) const IN6_IFF_NODAD: i32 = 0x20;
/// `ND6_INFINITE_LIFETIME`: an address that never expires.
pub(crate) const ND6_INFINITE_LIFETIME: u32 = 0xffff_ffff;
/// `IFF_UP`, `IFF_BROADCAST` and `IFF_MULTICAST` (`net/if.h`).
pub(crate) const IFF_UP: i32 = 0x1;
pub(crate) const IFF_BROADCAST: i32 = 0x2;
pub(crate) const IFF_MULTICAST: i32 = 0x8000;
/// `AF_INET`, `AF_INET6` and `AF_LINK` (`sys/sys/socket.h`).
pub(crate) const AF_INET: u8 = 2;
pub(crate) const AF_INET6: u8 = 28;
pub(crate) const AF_LINK: u8 = 18;

#[cfg(test)]
mod tests {
    use super::*;

    /// Published values: golang.org/x/sys `unix/zerrors_freebsd_amd64.go` (generated from the
    /// FreeBSD headers) for the `SIOC*IF*` requests on `struct ifreq`; wireguard-go's
    /// `tun/tun_freebsd.go` and the research notes (PLATFORMS-AND-OFFLOAD.md §3) for the
    /// address and tun requests, each re-derived from its `_IOW` definition and struct size.
    #[test]
    fn freebsd_ioctl_numbers() {
        assert_eq!(SIOCSIFFLAGS, 0x8020_6910);
        assert_eq!(SIOCGIFFLAGS, 0xc020_6911);
        assert_eq!(SIOCDIFADDR, 0x8020_6919);
        assert_eq!(SIOCSIFNAME, 0x8020_6928);
        assert_eq!(SIOCAIFADDR, 0x8044_692b);
        assert_eq!(SIOCGIFMTU, 0xc020_6933);
        assert_eq!(SIOCSIFMTU, 0x8020_6934);
        assert_eq!(SIOCSIFLLADDR, 0x8020_693c);
        assert_eq!(SIOCIFDESTROY, 0x8020_6979);
        assert_eq!(SIOCIFCREATE2, 0xc020_697c);
        assert_eq!(SIOCAIFADDR_IN6, 0x8088_691b);
        assert_eq!(SIOCDIFADDR_IN6, 0x8120_6919);
        assert_eq!(TUNSIFHEAD, 0x8004_7460);
        assert_eq!(TUNSIFMODE, 0x8004_745e);
    }

    #[test]
    fn freebsd_struct_sizes() {
        // The const assertions above hold the offsets; these name the totals in the test run.
        assert_eq!(size_of::<Ifreq>(), 32);
        assert_eq!(size_of::<InAliasreq>(), 68);
        assert_eq!(size_of::<In6Aliasreq>(), 136);
        assert_eq!(size_of::<In6Ifreq>(), 288);
        assert_eq!(size_of::<SockaddrIn6>(), 28);
    }
}
