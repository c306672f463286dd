//! One check per setting, used by [`Builder::build`](crate::Builder::build) before any system
//! call and by every run-time setter of [`Device`](crate::Device) alike, so the two can never
//! disagree about what is valid.
//!
//! Each check returns the reason for a refusal as text; the caller wraps it in an
//! [`Error`](crate::Error) with its own operation and device name.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The longest interface name Linux accepts, in bytes (`IFNAMSIZ` less the NUL).
pub const MAX_NAME_LEN: usize = 15;
/// The most queues one multi-queue device may have (`MAX_TAP_QUEUES` in the kernel).
pub const MAX_QUEUES: usize = 256;
/// The smallest MTU accepted (IPv4's minimum).
pub const MIN_MTU: u32 = 68;
/// The largest MTU accepted.
pub const MAX_MTU: u32 = 65535;
/// The smallest MTU with which IPv6 works.
pub const MIN_IPV6_MTU: u32 = 1280;

/// A refusal, with the reason.
pub(crate) type Checked<T = ()> = Result<T, String>;

/// The bytes the kernel's `isspace()` (lib/ctype.c) counts as whitespace: `\t` `\n` `\v` `\f`
/// `\r`, the space, and Latin-1's no-break space 0xA0, which is also the second byte of UTF-8
/// characters such as `à` (C3 A0).
fn is_kernel_space(byte: u8) -> bool {
    matches!(byte, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0xa0)
}

/// An interface name, by the kernel's own byte rules (`dev_valid_name` and `dev_alloc_name`):
/// at most [`MAX_NAME_LEN`] bytes, not `.` or `..`, no NUL, `/`, `:` or whitespace byte, and no
/// `%` other than one `%d`. Empty means "the kernel picks".
pub(crate) fn name(name: &str) -> Checked {
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "name {name:?} is {} bytes long; at most {MAX_NAME_LEN} are allowed",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("name {name:?} is reserved"));
    }
    if let Some(bad) = name
        .bytes()
        .find(|&b| b == 0 || b == b'/' || b == b':' || is_kernel_space(b))
    {
        return Err(format!(
            "name {name:?} contains the byte {bad:#04x}; NUL, '/', ':' and whitespace bytes \
             (including 0xa0, part of characters such as 'à') are not allowed"
        ));
    }
    let percents = name.matches('%').count();
    if percents > 1 || (percents == 1 && !name.contains("%d")) {
        return Err(format!(
            "name {name:?} has a '%' that is not a single \"%d\" pattern"
        ));
    }
    Ok(())
}

/// A queue count at build time.
pub(crate) fn queues(queues: usize) -> Checked {
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

fn format_mac(mac: [u8; 6]) -> String {
    let [a, b, c, d, e, f] = mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
}

/// `24` → `255.255.255.0`; `None` above 32.
pub(crate) fn prefix_to_netmask(prefix_len: u8) -> Option<Ipv4Addr> {
    let host_bits = 32u32.checked_sub(u32::from(prefix_len))?;
    // A shift by 32 (prefix 0) overflows `u32`: that mask is all zeros.
    Some(Ipv4Addr::from(u32::MAX.checked_shl(host_bits).unwrap_or(0)))
}

/// `255.255.255.0` → `24`; `None` if the mask is not contiguous.
pub(crate) fn netmask_to_prefix(netmask: Ipv4Addr) -> Option<u8> {
    let bits = u32::from(netmask);
    let prefix = bits.leading_ones();
    (bits.checked_shl(prefix).unwrap_or(0) == 0).then_some(prefix as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in [
            "",
            "tun0",
            "tun%d",
            "a",
            "exactly15bytes_",
            "tüñ0",
            // U+2003 EM SPACE is E2 80 83: no byte the kernel calls whitespace.
            "em\u{2003}space",
        ] {
            assert!(name(good).is_ok(), "{good:?} rejected");
        }
        for bad in [
            "sixteen_bytes_xx",
            ".",
            "..",
            "a/b",
            "a b",
            "a\tb",
            "a\u{b}b",
            "a:b",
            "nul\0",
            "%s",
            "t%d%d",
            "tun%",
            // 14 ASCII bytes and a 2-byte character: 16 bytes (tokio-tun panics here).
            "abcdefghijklmné",
            // 'à' is C3 A0, and the kernel's isspace() is true for 0xA0.
            "advà0",
            "\u{a0}",
        ] {
            assert!(name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn every_byte_the_kernel_calls_space_is_refused() {
        // lib/ctype.c: _S is set for 9..=13, 32 and 160.
        for byte in 0..=255u8 {
            let expected = matches!(byte, 9..=13 | 32 | 160);
            assert_eq!(is_kernel_space(byte), expected, "byte {byte:#04x}");
        }
    }

    #[test]
    fn netmasks() {
        assert_eq!(prefix_to_netmask(0), Some(Ipv4Addr::UNSPECIFIED));
        assert_eq!(prefix_to_netmask(24), Some(Ipv4Addr::new(255, 255, 255, 0)));
        assert_eq!(prefix_to_netmask(32), Some(Ipv4Addr::BROADCAST));
        assert_eq!(prefix_to_netmask(33), None);
        for prefix in 0..=32 {
            let mask = prefix_to_netmask(prefix).unwrap_or(Ipv4Addr::UNSPECIFIED);
            assert_eq!(netmask_to_prefix(mask), Some(prefix));
        }
        assert_eq!(netmask_to_prefix(Ipv4Addr::new(255, 0, 255, 0)), None);
        assert!(netmask(Ipv4Addr::new(255, 0, 255, 0)).is_err());
        assert!(ipv4_prefix(33).is_err());
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
