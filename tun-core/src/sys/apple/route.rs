//! The `PF_ROUTE` messages that add and delete the route of a utun's network. Pure: the bytes
//! are built here and tested on every platform; `interface.rs` writes them to a routing socket.
//!
//! Why: a utun is point-to-point, so `SIOCAIFADDR` with `10.0.0.1/24` installs only a host
//! route (to the destination, here the address itself), and the rest of `10.0.0.0/24` is not
//! reachable through the device: the macOS bug the other TUN libraries are most often told
//! about. `route add -net 10.0.0.0/24 -interface utun3` fixes it; this is the message that
//! command writes: destination, gateway and netmask, the gateway being the interface's
//! link-level address (an "interface route", without `RTF_GATEWAY`). The kernel deletes the
//! route with the interface.

use std::mem::{offset_of, size_of};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::abi::{
    RtMsghdr, SockaddrDl, SockaddrIn, SockaddrIn6, AF_INET, AF_INET6, AF_LINK, RTA_DST,
    RTA_GATEWAY, RTA_NETMASK, RTF_STATIC, RTF_UP, RTM_ADD, RTM_DELETE, RTM_VERSION,
};
use crate::net::prefix_to_netmask;
use crate::sys::bsd::sockaddr::ipv6_mask;

/// Adding or deleting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Add,
    Delete,
}

/// Darwin's `ROUNDUP32`: each socket address in a message takes a multiple of 4 bytes, and an
/// empty one 4 (FreeBSD rounds to `sizeof(long)` instead).
pub(crate) const fn roundup(len: usize) -> usize {
    if len == 0 {
        4
    } else {
        1 + ((len - 1) | 3)
    }
}

/// The network of `address/prefix_len` (the host bits cleared), with the prefix length; `None`
/// where no route is needed: a host prefix (/32, /128: the address route is the whole
/// network), an IPv6 link-local network (the kernel keeps a scoped one per interface), or a
/// prefix longer than the address.
pub(crate) fn network(address: IpAddr, prefix_len: u8) -> Option<(IpAddr, u8)> {
    match address {
        IpAddr::V4(address) => {
            if prefix_len >= 32 {
                return None;
            }
            let mask = u32::from(prefix_to_netmask(prefix_len)?);
            Some((
                IpAddr::V4(Ipv4Addr::from(u32::from(address) & mask)),
                prefix_len,
            ))
        }
        IpAddr::V6(address) => {
            if prefix_len >= 128 || address.segments()[0] & 0xffc0 == 0xfe80 {
                return None;
            }
            let mask = u128::from(ipv6_mask(prefix_len));
            Some((
                IpAddr::V6(Ipv6Addr::from(u128::from(address) & mask)),
                prefix_len,
            ))
        }
    }
}

/// The bytes of a `sockaddr_in` or `sockaddr_in6` holding `address`.
fn sockaddr_bytes(address: IpAddr) -> Vec<u8> {
    match address {
        IpAddr::V4(address) => {
            let mut bytes = vec![0; size_of::<SockaddrIn>()];
            put(&mut bytes, 0, &[size_of::<SockaddrIn>() as u8, AF_INET]);
            put(&mut bytes, offset_of!(SockaddrIn, addr), &address.octets());
            bytes
        }
        IpAddr::V6(address) => {
            let mut bytes = vec![0; size_of::<SockaddrIn6>()];
            put(&mut bytes, 0, &[size_of::<SockaddrIn6>() as u8, AF_INET6]);
            put(&mut bytes, offset_of!(SockaddrIn6, addr), &address.octets());
            bytes
        }
    }
}

/// The bytes of the `sockaddr_dl` naming interface `index`: no name, no address. xnu resolves
/// it by index: `ifa_ifwithroute_common_locked` (`bsd/net/route.c`) falls back to
/// `ifa_ifwithnet`, which looks `AF_LINK` addresses up "directly by their index number"
/// (`bsd/net/if.c`), then takes the interface's address of the destination's family.
fn link_bytes(index: u16) -> Vec<u8> {
    let mut bytes = vec![0; size_of::<SockaddrDl>()];
    put(&mut bytes, 0, &[size_of::<SockaddrDl>() as u8, AF_LINK]);
    put(
        &mut bytes,
        offset_of!(SockaddrDl, index),
        &index.to_ne_bytes(),
    );
    bytes
}

fn put(bytes: &mut [u8], at: usize, value: &[u8]) {
    if let Some(dst) = bytes.get_mut(at..at + value.len()) {
        dst.copy_from_slice(value);
    }
}

/// The whole message that adds or deletes the route of `network/prefix_len` (from
/// [`network`]) through interface `index`: an `rt_msghdr` in the host's byte order, then the
/// destination, the gateway and the netmask, each padded by [`roundup`]. `seq` lets the sender
/// tell its messages apart.
pub(crate) fn message(
    change: Change,
    network: IpAddr,
    prefix_len: u8,
    index: u16,
    seq: i32,
) -> Vec<u8> {
    let netmask = match network {
        IpAddr::V4(_) => IpAddr::V4(prefix_to_netmask(prefix_len).unwrap_or(Ipv4Addr::BROADCAST)),
        IpAddr::V6(_) => IpAddr::V6(ipv6_mask(prefix_len)),
    };
    let addresses = [
        sockaddr_bytes(network),
        link_bytes(index),
        sockaddr_bytes(netmask),
    ];
    let header_len = size_of::<RtMsghdr>();
    let total = header_len + addresses.iter().map(|sa| roundup(sa.len())).sum::<usize>();
    let mut bytes = vec![0u8; total];
    let kind = match change {
        Change::Add => RTM_ADD,
        Change::Delete => RTM_DELETE,
    };
    // A message is at most 92 + 3 * 28 bytes: its length fits `u16`.
    put(
        &mut bytes,
        offset_of!(RtMsghdr, msglen),
        &(total as u16).to_ne_bytes(),
    );
    put(&mut bytes, offset_of!(RtMsghdr, version), &[RTM_VERSION]);
    put(&mut bytes, offset_of!(RtMsghdr, kind), &[kind]);
    put(
        &mut bytes,
        offset_of!(RtMsghdr, index),
        &index.to_ne_bytes(),
    );
    put(
        &mut bytes,
        offset_of!(RtMsghdr, flags),
        &(RTF_UP | RTF_STATIC).to_ne_bytes(),
    );
    put(
        &mut bytes,
        offset_of!(RtMsghdr, addrs),
        &(RTA_DST | RTA_GATEWAY | RTA_NETMASK).to_ne_bytes(),
    );
    put(&mut bytes, offset_of!(RtMsghdr, seq), &seq.to_ne_bytes());
    let mut at = header_len;
    for sa in &addresses {
        put(&mut bytes, at, sa);
        at += roundup(sa.len());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::apple::abi::RTF_GATEWAY;

    fn v4(text: &str) -> IpAddr {
        IpAddr::V4(text.parse().unwrap())
    }

    fn v6(text: &str) -> IpAddr {
        IpAddr::V6(text.parse().unwrap())
    }

    fn ne_u16(bytes: &[u8], at: usize) -> u16 {
        u16::from_ne_bytes([bytes[at], bytes[at + 1]])
    }

    fn ne_i32(bytes: &[u8], at: usize) -> i32 {
        i32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn macos_route_roundup_is_to_four_bytes() {
        assert_eq!(roundup(0), 4);
        assert_eq!(roundup(1), 4);
        assert_eq!(roundup(4), 4);
        assert_eq!(roundup(16), 16);
        assert_eq!(roundup(17), 20);
        assert_eq!(roundup(20), 20);
        assert_eq!(roundup(28), 28);
    }

    #[test]
    fn macos_route_networks_clear_host_bits_and_skip_host_prefixes() {
        assert_eq!(network(v4("10.0.0.7"), 24), Some((v4("10.0.0.0"), 24)));
        assert_eq!(network(v4("10.1.2.3"), 0), Some((v4("0.0.0.0"), 0)));
        assert_eq!(network(v4("10.0.0.7"), 32), None);
        assert_eq!(
            network(v6("fd00:1:2:3::9"), 48),
            Some((v6("fd00:1:2::"), 48))
        );
        assert_eq!(network(v6("fd00::1"), 128), None);
        assert_eq!(network(v6("fe80::1"), 64), None);
    }

    #[test]
    fn macos_route_add_ipv4_message_layout() {
        let message = message(Change::Add, v4("10.0.0.0"), 24, 9, 7);
        // Header, sockaddr_in, sockaddr_dl, sockaddr_in: 92 + 16 + 20 + 16.
        assert_eq!(message.len(), 144);
        assert_eq!(usize::from(ne_u16(&message, 0)), message.len());
        assert_eq!(message[2], 5, "RTM_VERSION");
        assert_eq!(message[3], 1, "RTM_ADD");
        assert_eq!(ne_u16(&message, 4), 9, "rtm_index");
        let flags = ne_i32(&message, 8);
        assert_eq!(flags, 0x801, "RTF_UP | RTF_STATIC");
        assert_eq!(
            flags & RTF_GATEWAY,
            0,
            "an interface route has no gateway flag"
        );
        assert_eq!(
            ne_i32(&message, 12),
            0x7,
            "RTA_DST | RTA_GATEWAY | RTA_NETMASK"
        );
        assert_eq!(ne_i32(&message, 20), 7, "rtm_seq");
        // The metrics are left zero: the kernel fills what it uses.
        assert!(message[24..92].iter().all(|&b| b == 0));
        assert_eq!(
            message[92..108],
            [16, 2, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        let link = &message[108..128];
        assert_eq!((link[0], link[1]), (20, 18));
        assert_eq!(ne_u16(link, 2), 9, "sdl_index");
        assert!(link[4..].iter().all(|&b| b == 0));
        assert_eq!(
            message[128..144],
            [16, 2, 0, 0, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn macos_route_delete_ipv6_message_layout() {
        let message = message(Change::Delete, v6("fd00:1::"), 64, 300, -1);
        // Header, sockaddr_in6, sockaddr_dl, sockaddr_in6: 92 + 28 + 20 + 28.
        assert_eq!(message.len(), 168);
        assert_eq!(usize::from(ne_u16(&message, 0)), 168);
        assert_eq!(message[3], 2, "RTM_DELETE");
        assert_eq!(ne_u16(&message, 4), 300);
        assert_eq!(ne_i32(&message, 20), -1);
        let destination = &message[92..120];
        assert_eq!((destination[0], destination[1]), (28, 30));
        assert_eq!(destination[8..24], v6_octets("fd00:1::"));
        assert_eq!(ne_u16(&message, 120 + 2), 300);
        let mask = &message[140..168];
        assert_eq!((mask[0], mask[1]), (28, 30));
        assert_eq!(mask[8..16], [0xff; 8]);
        assert_eq!(mask[16..24], [0; 8]);
    }

    fn v6_octets(text: &str) -> [u8; 16] {
        text.parse::<Ipv6Addr>().unwrap().octets()
    }
}
