//! Socket addresses and masks in the form the BSD address ioctls take and `getifaddrs` returns:
//! with a length byte, in network byte order. Pure.

use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::abi::{Sockaddr, SockaddrIn, SockaddrIn6, AF_INET, AF_INET6};

/// `sockaddr_in` for an IPv4 address.
pub(crate) fn sockaddr_in(address: Ipv4Addr) -> SockaddrIn {
    SockaddrIn {
        len: size_of::<SockaddrIn>() as u8,
        family: AF_INET,
        addr: address.octets(),
        ..SockaddrIn::default()
    }
}

/// The same address as a generic `sockaddr` (the `ifr_addr` of a `struct ifreq`).
pub(crate) fn sockaddr_from_ipv4(address: Ipv4Addr) -> Sockaddr {
    let [a, b, c, d] = address.octets();
    Sockaddr {
        len: size_of::<SockaddrIn>() as u8,
        family: AF_INET,
        // `sin_port` (2 bytes), then `sin_addr`, then `sin_zero`.
        data: [0, 0, a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0],
    }
}

/// `sockaddr_in6` for an IPv6 address; `scope_id` is the interface index for a link-local one
/// (the kernel wants the zone of `fe80::/10` addresses), 0 otherwise.
pub(crate) fn sockaddr_in6(address: Ipv6Addr, scope_id: u32) -> SockaddrIn6 {
    SockaddrIn6 {
        len: size_of::<SockaddrIn6>() as u8,
        family: AF_INET6,
        addr: address.octets(),
        scope_id: if is_link_local(address) { scope_id } else { 0 },
        ..SockaddrIn6::default()
    }
}

/// The IPv6 netmask of a prefix length (0 to 128; longer is taken as 128).
pub(crate) fn ipv6_mask(prefix_len: u8) -> Ipv6Addr {
    let bits = u32::from(prefix_len.min(128));
    // A shift by 128 overflows: that mask (prefix 0) is all zeros.
    Ipv6Addr::from(u128::MAX.checked_shl(128 - bits).unwrap_or(0))
}

/// The prefix length of a netmask given as bytes (IPv4 or IPv6); `None` if it is not
/// contiguous.
pub(crate) fn mask_prefix(mask: &[u8]) -> Option<u8> {
    let ones: u32 = mask.iter().map(|byte| byte.count_ones()).sum();
    let full = (ones / 8) as usize;
    let expected = mask.iter().enumerate().all(|(i, &byte)| {
        byte == match i.cmp(&full) {
            std::cmp::Ordering::Less => 0xff,
            std::cmp::Ordering::Equal => !(0xffu8.checked_shr(ones % 8).unwrap_or(0)),
            std::cmp::Ordering::Greater => 0,
        }
    });
    expected.then(|| u8::try_from(ones).ok()).flatten()
}

fn is_link_local(address: Ipv6Addr) -> bool {
    address.segments()[0] & 0xffc0 == 0xfe80
}

/// A link-local address as the kernel lists it: the KAME stack keeps the zone (interface
/// index) in bytes 2 and 3 of `fe80::/10` addresses inside the kernel, and some interfaces pass
/// it through to `getifaddrs`; those bytes are always zero on the wire.
pub(crate) fn without_embedded_scope(address: Ipv6Addr) -> Ipv6Addr {
    if !is_link_local(address) {
        return address;
    }
    let mut segments = address.segments();
    segments[1] = 0;
    Ipv6Addr::from(segments)
}

/// The IPv4 broadcast address of a network, where it has one (prefixes up to /30).
#[cfg_attr(tun_apple, allow(dead_code))] // a utun has no broadcast address
pub(crate) fn ipv4_broadcast(address: Ipv4Addr, prefix_len: u8) -> Option<Ipv4Addr> {
    if prefix_len > 30 {
        return None;
    }
    let host_bits = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
    Some(Ipv4Addr::from(u32::from(address) | host_bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bsd_sockaddrs_carry_length_and_family() {
        let sin = sockaddr_in(Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!((sin.len, sin.family, sin.addr), (16, 2, [10, 0, 0, 1]));
        let sa = sockaddr_from_ipv4(Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!((sa.len, sa.family), (16, 2));
        assert_eq!(sa.data[2..6], [10, 0, 0, 1]);
        let global: Ipv6Addr = "fd00::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        let sin6 = sockaddr_in6(global, 7);
        assert_eq!((sin6.len, sin6.family, sin6.scope_id), (28, 28, 0));
        let link_local: Ipv6Addr = "fe80::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        assert_eq!(sockaddr_in6(link_local, 7).scope_id, 7);
    }

    #[test]
    fn bsd_masks_and_prefixes() {
        assert_eq!(ipv6_mask(0), Ipv6Addr::UNSPECIFIED);
        assert_eq!(
            ipv6_mask(64).segments(),
            [0xffff, 0xffff, 0xffff, 0xffff, 0, 0, 0, 0]
        );
        assert_eq!(ipv6_mask(128), Ipv6Addr::from(u128::MAX));
        for prefix in 0..=128u8 {
            assert_eq!(mask_prefix(&ipv6_mask(prefix).octets()), Some(prefix));
        }
        assert_eq!(mask_prefix(&[255, 255, 255, 0]), Some(24));
        assert_eq!(mask_prefix(&[255, 255, 254, 0]), Some(23));
        assert_eq!(mask_prefix(&[255, 0, 255, 0]), None);
        assert_eq!(mask_prefix(&[0, 0, 0, 1]), None);
        assert_eq!(mask_prefix(&[]), Some(0));
    }

    #[test]
    fn bsd_link_local_scope_and_broadcast() {
        let embedded: Ipv6Addr = "fe80:3::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        let plain: Ipv6Addr = "fe80::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        assert_eq!(without_embedded_scope(embedded), plain);
        let global: Ipv6Addr = "fd00:3::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        assert_eq!(without_embedded_scope(global), global);
        let address = Ipv4Addr::new(10, 0, 0, 1);
        assert_eq!(
            ipv4_broadcast(address, 24),
            Some(Ipv4Addr::new(10, 0, 0, 255))
        );
        assert_eq!(ipv4_broadcast(address, 0), Some(Ipv4Addr::BROADCAST));
        assert_eq!(ipv4_broadcast(address, 31), None);
    }
}
