//! One check per setting, used by [`Builder::build`](crate::Builder::build) before any system
//! call and by every run-time setter of [`Device`](crate::Device) alike, so the two can never
//! disagree about what is valid.
//!
//! Each check returns the reason for a refusal as text; the caller wraps it in an
//! [`Error`](crate::Error) with its own operation and device name. Rules that differ between
//! platforms (interface names) come from the platform layer.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::net::{format_mac, netmask_to_prefix, prefix_to_netmask};

/// The smallest MTU accepted (IPv4's minimum).
pub const MIN_MTU: u32 = 68;
/// The largest MTU accepted.
pub const MAX_MTU: u32 = 65535;
/// The smallest MTU with which IPv6 works.
pub const MIN_IPV6_MTU: u32 = 1280;

/// A refusal, with the reason.
pub(crate) type Checked<T = ()> = Result<T, String>;

/// An interface name, by the platform's rules (`sys::check_name`). Empty means "the platform
/// picks".
pub(crate) fn name(name: &str) -> Checked {
    crate::sys::check_name(name)
}

/// A queue count at build time, up to the platform's [`MAX_QUEUES`](crate::MAX_QUEUES).
#[cfg(tun_multi_queue)]
pub(crate) fn queues(queues: usize) -> Checked {
    use crate::sys::MAX_QUEUES;
    if queues == 0 || queues > MAX_QUEUES {
        return Err(format!(
            "{queues} queues requested: a device has from 1 to {MAX_QUEUES} queues"
        ));
    }
    Ok(())
}

/// An MTU; `has_ipv6` says whether the device has (or is to get) IPv6 addresses, which the kernel
/// removes below [`MIN_IPV6_MTU`].
pub(crate) fn mtu(mtu: u32, has_ipv6: bool) -> Checked {
    if !(MIN_MTU..=MAX_MTU).contains(&mtu) {
        return Err(format!("MTU {mtu} is outside {MIN_MTU}..={MAX_MTU}"));
    }
    if mtu < MIN_IPV6_MTU && has_ipv6 {
        return Err(format!(
            "MTU {mtu} is below {MIN_IPV6_MTU}, the minimum for the device's IPv6 addresses \
             (the kernel would remove them): remove them first or choose a larger MTU"
        ));
    }
    Ok(())
}

/// An IPv4 prefix length (0 to 32), as the netmask it stands for.
pub(crate) fn ipv4_prefix(prefix_len: u8) -> Checked<Ipv4Addr> {
    prefix_to_netmask(prefix_len)
        .ok_or_else(|| format!("IPv4 prefix length {prefix_len} is over 32"))
}

/// An IPv4 network to assign: a valid prefix, and an address that is neither unspecified,
/// multicast nor the broadcast address.
pub(crate) fn ipv4_address(address: Ipv4Addr, prefix_len: u8) -> Checked {
    ipv4_prefix(prefix_len).map_err(|reason| format!("{reason} (address {address})"))?;
    if address.is_unspecified() || address.is_multicast() || address.is_broadcast() {
        return Err(format!(
            "{address} cannot be an interface address (unspecified, multicast or broadcast)"
        ));
    }
    Ok(())
}

/// An IPv4 netmask: contiguous ones, then zeros.
pub(crate) fn netmask(netmask: Ipv4Addr) -> Checked {
    match netmask_to_prefix(netmask) {
        Some(_) => Ok(()),
        None => Err(format!("netmask {netmask} is not contiguous")),
    }
}

/// An IPv6 prefix length (0 to 128).
pub(crate) fn ipv6_prefix(prefix_len: u8) -> Checked {
    if prefix_len > 128 {
        return Err(format!("IPv6 prefix length {prefix_len} is over 128"));
    }
    Ok(())
}

/// An IPv6 address to assign: a valid prefix, and neither unspecified nor multicast (the kernel
/// refuses both with an error that reads like "no such address").
pub(crate) fn ipv6_address(address: Ipv6Addr, prefix_len: u8) -> Checked {
    ipv6_prefix(prefix_len).map_err(|reason| format!("{reason} (address {address})"))?;
    if address.is_unspecified() || address.is_multicast() {
        return Err(format!(
            "{address} cannot be an interface address (unspecified or multicast)"
        ));
    }
    Ok(())
}

/// A MAC address to assign: unicast and not all zeros.
pub(crate) fn mac(mac: [u8; 6]) -> Checked {
    let [first, ..] = mac;
    if first & 1 == 1 {
        return Err(format!(
            "MAC address {} is multicast; a device needs a unicast address",
            format_mac(mac)
        ));
    }
    if mac == [0; 6] {
        return Err("MAC address 00:00:00:00:00:00 is not a valid device address".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netmasks_and_prefixes() {
        assert!(netmask(Ipv4Addr::new(255, 0, 255, 0)).is_err());
        assert!(netmask(Ipv4Addr::new(255, 255, 0, 0)).is_ok());
        assert!(ipv4_prefix(33).is_err());
        assert_eq!(ipv4_prefix(16), Ok(Ipv4Addr::new(255, 255, 0, 0)));
        assert!(ipv4_address(Ipv4Addr::new(10, 0, 0, 1), 24).is_ok());
        assert!(ipv4_address(Ipv4Addr::new(10, 0, 0, 1), 33).is_err());
        for bad in [
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::BROADCAST,
            Ipv4Addr::new(224, 0, 0, 1),
        ] {
            assert!(ipv4_address(bad, 24).is_err(), "{bad}");
        }
    }

    #[test]
    fn mtus_and_addresses() {
        assert!(mtu(67, false).is_err());
        assert!(mtu(65536, false).is_err());
        assert!(mtu(1000, false).is_ok());
        assert!(mtu(1000, true).is_err());
        assert!(mtu(1280, true).is_ok());
        assert!(ipv6_address(Ipv6Addr::UNSPECIFIED, 64).is_err());
        assert!(ipv6_address("ff02::1".parse().unwrap_or(Ipv6Addr::LOCALHOST), 64).is_err());
        assert!(ipv6_address("fd00::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED), 129).is_err());
        assert!(ipv6_address("fd00::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED), 64).is_ok());
        assert!(mac([1, 0, 0, 0, 0, 1]).is_err());
        assert!(mac([0; 6]).is_err());
        assert!(mac([2, 0, 0, 0, 0, 1]).is_ok());
    }
}
