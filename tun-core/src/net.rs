//! Address types shared by the builder, the device and the platform layer.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// An address assigned to an interface, with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InterfaceAddress {
    /// The address (IPv4 or IPv6).
    pub ip: IpAddr,
    /// The prefix length: 24 for a `/24` (`255.255.255.0`).
    pub prefix_len: u8,
}

impl fmt::Display for InterfaceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.ip, self.prefix_len)
    }
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

/// `aa:bb:cc:dd:ee:ff`.
pub(crate) fn format_mac(mac: [u8; 6]) -> String {
    let [a, b, c, d, e, f] = mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(format_mac([2, 0, 0xab, 0, 0, 1]), "02:00:ab:00:00:01");
    }
}
