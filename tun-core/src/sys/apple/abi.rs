//! Darwin's structs and ioctl numbers (macOS and iOS), as xnu's public headers define them: the
//! `libc` crate lacks most of the address requests (`SIOCAIFADDR*`, `in6_aliasreq`), and those
//! it has are defined here too, so that every one is checked the same way. Every struct is
//! checked at compile time against the size and field offsets of its C definition on 64-bit
//! Darwin (x86_64 and arm64 share them), and every ioctl number is computed from those sizes
//! with the `_IOW`/`_IOWR` encoding and pinned in a unit test against its published value; the
//! file is pure data, so those checks also run on Linux.
//!
//! Sources (apple-oss-distributions/xnu, xnu-11417.101.15): `bsd/net/if.h` (`struct ifreq`,
//! `struct ifaliasreq`, `IFF_*`), `bsd/netinet/in_var.h` (`struct in_aliasreq`, the same
//! layout), `bsd/netinet6/in6_var.h` (`struct in6_aliasreq`, `struct in6_ifreq`,
//! `struct in6_addrlifetime`, `struct icmp6_ifstat`, `SIOCAIFADDR_IN6`, `SIOCDIFADDR_IN6`,
//! `IN6_IFF_NODAD`), `bsd/netinet6/nd6.h` (`ND6_INFINITE_LIFETIME`), `bsd/sys/sockio.h` (the
//! `SIOC*` numbers), `bsd/sys/kern_control.h` (`struct ctl_info`, `struct sockaddr_ctl`,
//! `CTLIOCGINFO`), `bsd/sys/sys_domain.h` (`SYSPROTO_CONTROL`, `AF_SYS_CONTROL`),
//! `bsd/net/if_utun.h` (`UTUN_CONTROL_NAME`, `UTUN_OPT_IFNAME`), `bsd/net/route.h`
//! (`struct rt_msghdr`, `struct rt_metrics`, `RTM_*`, `RTF_*`, `RTA_*`), `bsd/net/if_dl.h`
//! (`struct sockaddr_dl`), `bsd/sys/socket.h` (`AF_*`).

use std::mem::{offset_of, size_of};
use std::net::Ipv4Addr;

use crate::sys::bsd::ioctl::{iow, iowr};

/// `IFNAMSIZ`: an interface name and its NUL.
pub(crate) const IFNAMSIZ: usize = 16;

/// `time_t`: 64 bits on every 64-bit Darwin target (the only ones this crate declares sizes
/// for; 32-bit ones are not checked below).
type TimeT = i64;

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

/// The union of `struct ifreq`: the members this crate uses, and `ifru_kpi` (two `unsigned
/// int`s and a pointer), which with `ifru_addr` sets its size (16) and alignment (8).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) union IfreqData {
    pub(crate) addr: Sockaddr,
    /// `ifru_flags` is one `short` on Darwin (FreeBSD has two, low and high): the second half
    /// is padding the kernel never reads, and zero in every request this crate makes.
    pub(crate) flags: [i16; 2],
    /// `ifru_mtu` (and the other `int` members).
    pub(crate) int: i32,
    /// `struct ifkpi { unsigned int, unsigned int, union { void *, int } }`.
    pub(crate) kpi: [usize; 2],
}

/// `struct ifreq`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Ifreq {
    pub(crate) name: [u8; IFNAMSIZ],
    pub(crate) ifru: IfreqData,
}

/// `struct in_aliasreq` (and `struct ifaliasreq`, which `SIOCAIFADDR` is defined with: the same
/// bytes, with generic socket addresses): no `ifra_vhid` here, unlike FreeBSD.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct InAliasreq {
    pub(crate) name: [u8; IFNAMSIZ],
    pub(crate) addr: SockaddrIn,
    /// `ifra_broadaddr`, also `ifra_dstaddr` on a point-to-point interface.
    pub(crate) broadaddr: SockaddrIn,
    pub(crate) mask: SockaddrIn,
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

/// `struct in6_aliasreq`: SIOCAIFADDR_IN6's argument (128 bytes; FreeBSD's has a `vhid`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct In6Aliasreq {
    pub(crate) name: [u8; IFNAMSIZ],
    pub(crate) addr: SockaddrIn6,
    /// Left unset (family 0): on a point-to-point interface xnu accepts a destination only
    /// with a /128 prefix.
    pub(crate) dstaddr: SockaddrIn6,
    pub(crate) prefixmask: SockaddrIn6,
    pub(crate) flags: i32,
    pub(crate) lifetime: In6Addrlifetime,
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

/// `MAX_KCTL_NAME`: the longest kernel control name, with its NUL.
pub(crate) const MAX_KCTL_NAME: usize = 96;

/// `struct ctl_info`: CTLIOCGINFO's argument, a control's name in, its id out.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct CtlInfo {
    pub(crate) id: u32,
    pub(crate) name: [u8; MAX_KCTL_NAME],
}

/// `struct sockaddr_ctl`: the address of a kernel control socket (`connect`, `getpeername`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SockaddrCtl {
    pub(crate) len: u8,
    pub(crate) family: u8,
    /// `ss_sysaddr`: `AF_SYS_CONTROL`.
    pub(crate) sysaddr: u16,
    pub(crate) id: u32,
    /// For utun: the unit plus one (`utun3` is unit 4), 0 for the first free one.
    pub(crate) unit: u32,
    pub(crate) reserved: [u32; 5],
}

/// `struct sockaddr_dl`, with the minimal 12-byte `sdl_data` (name and address follow in a
/// longer one; a route's gateway needs neither).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SockaddrDl {
    pub(crate) len: u8,
    pub(crate) family: u8,
    pub(crate) index: u16,
    pub(crate) kind: u8,
    pub(crate) nlen: u8,
    pub(crate) alen: u8,
    pub(crate) slen: u8,
    pub(crate) data: [u8; 12],
}

/// `struct rt_metrics`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RtMetrics {
    pub(crate) locks: u32,
    pub(crate) mtu: u32,
    pub(crate) hopcount: u32,
    pub(crate) expire: i32,
    pub(crate) recvpipe: u32,
    pub(crate) sendpipe: u32,
    pub(crate) ssthresh: u32,
    pub(crate) rtt: u32,
    pub(crate) rttvar: u32,
    pub(crate) pksent: u32,
    pub(crate) filler: [u32; 4],
}

/// `struct rt_msghdr`: the head of every `PF_ROUTE` message (`route/message.rs` writes it
/// field by field at these offsets).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RtMsghdr {
    pub(crate) msglen: u16,
    pub(crate) version: u8,
    pub(crate) kind: u8,
    pub(crate) index: u16,
    pub(crate) flags: i32,
    pub(crate) addrs: i32,
    pub(crate) pid: i32,
    pub(crate) seq: i32,
    pub(crate) errno: i32,
    pub(crate) used: i32,
    pub(crate) inits: u32,
    pub(crate) rmx: RtMetrics,
}

// The layouts of 64-bit Darwin, from the headers above. `RtMsghdr`, `SockaddrCtl`, `CtlInfo`
// and `SockaddrDl` hold only 4-byte and smaller fields, so theirs hold on every Darwin target.
const _: () = {
    assert!(size_of::<Sockaddr>() == 16);
    assert!(size_of::<SockaddrIn>() == 16);
    assert!(offset_of!(SockaddrIn, addr) == 4);
    assert!(size_of::<SockaddrIn6>() == 28);
    assert!(offset_of!(SockaddrIn6, flowinfo) == 4);
    assert!(offset_of!(SockaddrIn6, addr) == 8);
    assert!(offset_of!(SockaddrIn6, scope_id) == 24);
    assert!(size_of::<InAliasreq>() == 64);
    assert!(offset_of!(InAliasreq, addr) == 16);
    assert!(offset_of!(InAliasreq, broadaddr) == 32);
    assert!(offset_of!(InAliasreq, mask) == 48);
    assert!(size_of::<CtlInfo>() == 100);
    assert!(offset_of!(CtlInfo, name) == 4);
    assert!(size_of::<SockaddrCtl>() == 32);
    assert!(offset_of!(SockaddrCtl, sysaddr) == 2);
    assert!(offset_of!(SockaddrCtl, id) == 4);
    assert!(offset_of!(SockaddrCtl, unit) == 8);
    assert!(offset_of!(SockaddrCtl, reserved) == 12);
    assert!(size_of::<SockaddrDl>() == 20);
    assert!(offset_of!(SockaddrDl, index) == 2);
    assert!(offset_of!(SockaddrDl, kind) == 4);
    assert!(offset_of!(SockaddrDl, data) == 8);
    assert!(size_of::<RtMetrics>() == 56);
    assert!(size_of::<RtMsghdr>() == 92);
    assert!(offset_of!(RtMsghdr, version) == 2);
    assert!(offset_of!(RtMsghdr, kind) == 3);
    assert!(offset_of!(RtMsghdr, index) == 4);
    assert!(offset_of!(RtMsghdr, flags) == 8);
    assert!(offset_of!(RtMsghdr, addrs) == 12);
    assert!(offset_of!(RtMsghdr, pid) == 16);
    assert!(offset_of!(RtMsghdr, seq) == 20);
    assert!(offset_of!(RtMsghdr, errno) == 24);
    assert!(offset_of!(RtMsghdr, used) == 28);
    assert!(offset_of!(RtMsghdr, inits) == 32);
    assert!(offset_of!(RtMsghdr, rmx) == 36);
};
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<Ifreq>() == 32);
    assert!(offset_of!(Ifreq, ifru) == 16);
    assert!(size_of::<In6Addrlifetime>() == 24);
    assert!(offset_of!(In6Addrlifetime, vltime) == 16);
    assert!(offset_of!(In6Addrlifetime, pltime) == 20);
    assert!(size_of::<In6Aliasreq>() == 128);
    assert!(offset_of!(In6Aliasreq, addr) == 16);
    assert!(offset_of!(In6Aliasreq, dstaddr) == 44);
    assert!(offset_of!(In6Aliasreq, prefixmask) == 72);
    assert!(offset_of!(In6Aliasreq, flags) == 100);
    assert!(offset_of!(In6Aliasreq, lifetime) == 104);
    assert!(size_of::<In6Ifreq>() == 288);
    assert!(offset_of!(In6Ifreq, ifru) == 16);
};

/// The other end of a new IPv4 network for `SIOCAIFADDR`: a utun is point-to-point, and its
/// destination is the address itself (as `wg-quick` does on macOS). That gives only a host
/// route; the module adds the network's route through `PF_ROUTE` (`route.rs`).
pub(crate) fn ipv4_other_end(address: Ipv4Addr, _prefix_len: u8) -> Option<Ipv4Addr> {
    Some(address)
}

const IFREQ: usize = size_of::<Ifreq>();

/// `_IOW('i', 16, struct ifreq)`: set the interface flags.
pub(crate) const SIOCSIFFLAGS: u32 = iow(b'i', 16, IFREQ);
/// `_IOWR('i', 17, struct ifreq)`: get the interface flags.
pub(crate) const SIOCGIFFLAGS: u32 = iowr(b'i', 17, IFREQ);
/// `_IOW('i', 25, struct ifreq)`: delete an IPv4 address.
pub(crate) const SIOCDIFADDR: u32 = iow(b'i', 25, IFREQ);
/// `_IOW('i', 26, struct ifaliasreq)`: add an IPv4 address (26 here; FreeBSD moved it to 43).
pub(crate) const SIOCAIFADDR: u32 = iow(b'i', 26, size_of::<InAliasreq>());
/// `_IOWR('i', 51, struct ifreq)`: get the MTU.
pub(crate) const SIOCGIFMTU: u32 = iowr(b'i', 51, IFREQ);
/// `_IOW('i', 52, struct ifreq)`: set the MTU.
pub(crate) const SIOCSIFMTU: u32 = iow(b'i', 52, IFREQ);
/// `_IOW('i', 25, struct in6_ifreq)`: delete an IPv6 address.
pub(crate) const SIOCDIFADDR_IN6: u32 = iow(b'i', 25, size_of::<In6Ifreq>());
/// `_IOW('i', 26, struct in6_aliasreq)`: add an IPv6 address.
pub(crate) const SIOCAIFADDR_IN6: u32 = iow(b'i', 26, size_of::<In6Aliasreq>());
/// `_IOWR('N', 3, struct ctl_info)`: a kernel control's id from its name.
pub(crate) const CTLIOCGINFO: u32 = iowr(b'N', 3, size_of::<CtlInfo>());

/// `IN6_IFF_NODAD`: the address needs no duplicate address detection, so it is usable at once.
pub(crate) const IN6_IFF_NODAD: i32 = 0x20;
/// `ND6_INFINITE_LIFETIME`: an address that never expires.
pub(crate) const ND6_INFINITE_LIFETIME: u32 = 0xffff_ffff;
/// `IFF_UP` (`net/if.h`).
pub(crate) const IFF_UP: i32 = 0x1;
/// `AF_INET`, `AF_INET6`, `AF_LINK` and `AF_SYSTEM` (`sys/socket.h`).
pub(crate) const AF_INET: u8 = 2;
pub(crate) const AF_INET6: u8 = 30;
pub(crate) const AF_LINK: u8 = 18;
pub(crate) const AF_SYSTEM: u8 = 32;
/// `SYSPROTO_CONTROL` and `AF_SYS_CONTROL` (`sys/sys_domain.h`): the kernel control protocol
/// of `PF_SYSTEM` sockets, and its address type.
pub(crate) const SYSPROTO_CONTROL: i32 = 2;
pub(crate) const AF_SYS_CONTROL: u16 = 2;
/// `UTUN_CONTROL_NAME` (`net/if_utun.h`).
pub(crate) const UTUN_CONTROL_NAME: &str = "com.apple.net.utun_control";
/// `UTUN_OPT_IFNAME`: the socket option (level `SYSPROTO_CONTROL`) that answers the name.
pub(crate) const UTUN_OPT_IFNAME: i32 = 2;

/// `RTM_VERSION`, `RTM_ADD`, `RTM_DELETE` (`net/route.h`).
pub(crate) const RTM_VERSION: u8 = 5;
pub(crate) const RTM_ADD: u8 = 0x1;
pub(crate) const RTM_DELETE: u8 = 0x2;
/// `RTF_UP`, `RTF_GATEWAY`, `RTF_STATIC`: a usable, manually added route. `RTF_GATEWAY` is
/// what an interface route leaves out: named for the test that checks it is absent.
pub(crate) const RTF_UP: i32 = 0x1;
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const RTF_GATEWAY: i32 = 0x2;
pub(crate) const RTF_STATIC: i32 = 0x800;
/// `RTA_DST`, `RTA_GATEWAY`, `RTA_NETMASK`: which socket addresses follow the header, in this
/// order.
pub(crate) const RTA_DST: i32 = 0x1;
pub(crate) const RTA_GATEWAY: i32 = 0x2;
pub(crate) const RTA_NETMASK: i32 = 0x4;

#[cfg(test)]
mod tests {
    use super::*;

    /// Published values: golang.org/x/sys `unix/zerrors_darwin_amd64.go` and
    /// `zerrors_darwin_arm64.go` (generated from the macOS SDK headers) for `SIOC*` and
    /// `CTLIOCGINFO`, which the `libc` crate also defines for Apple (`CTLIOCGINFO =
    /// 0xc0644e03`); PLATFORMS-AND-OFFLOAD.md §2.1 for `SIOCAIFADDR_IN6` and
    /// `SIOCDIFADDR_IN6`. Each is also re-derived from its `_IOW` definition in xnu.
    #[test]
    fn macos_ioctl_numbers() {
        assert_eq!(SIOCSIFFLAGS, 0x8020_6910);
        assert_eq!(SIOCGIFFLAGS, 0xc020_6911);
        assert_eq!(SIOCDIFADDR, 0x8020_6919);
        assert_eq!(SIOCAIFADDR, 0x8040_691a);
        assert_eq!(SIOCGIFMTU, 0xc020_6933);
        assert_eq!(SIOCSIFMTU, 0x8020_6934);
        assert_eq!(SIOCDIFADDR_IN6, 0x8120_6919);
        assert_eq!(SIOCAIFADDR_IN6, 0x8080_691a);
        assert_eq!(CTLIOCGINFO, 0xc064_4e03);
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn macos_struct_sizes() {
        // The const assertions above hold the offsets; these name the totals in the test run.
        assert_eq!(size_of::<Ifreq>(), 32);
        assert_eq!(size_of::<InAliasreq>(), 64);
        assert_eq!(size_of::<In6Aliasreq>(), 128);
        assert_eq!(size_of::<In6Ifreq>(), 288);
        assert_eq!(size_of::<CtlInfo>(), 100);
        assert_eq!(size_of::<SockaddrCtl>(), 32);
        assert_eq!(size_of::<RtMsghdr>(), 92);
        assert_eq!(size_of::<SockaddrDl>(), 20);
    }

    #[test]
    fn macos_families_differ_from_freebsd() {
        // AF_INET6 is 30 on Darwin, 28 on FreeBSD: the framing and sockaddrs must use these.
        assert_eq!(AF_INET6, 30);
        assert_eq!(
            u32::from(AF_INET6),
            crate::sys::bsd::framing::AddressFamilies::DARWIN.inet6
        );
        // The name and its NUL fit `ctl_name`.
        assert!(UTUN_CONTROL_NAME.len() < MAX_KCTL_NAME);
    }
}
