//! The 4-byte address-family header the BSD tun drivers put in front of every packet (FreeBSD
//! with `TUNSIFHEAD`, macOS's utun always): the family as a big-endian `u32`. Pure functions, so
//! the queue only moves bytes (`readv`/`writev` with the header on the stack, no copy) and the
//! rules are unit-tested on every platform.
//!
//! The family numbers differ between the BSDs (`AF_INET6` is 28 on FreeBSD and 30 on Darwin), so
//! each platform passes its own [`AddressFamilies`].

use std::io;

/// The length of the header.
pub(crate) const HEADER_LEN: usize = 4;

/// A platform's address family numbers, as the tun driver writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AddressFamilies {
    pub(crate) inet: u32,
    pub(crate) inet6: u32,
}

impl AddressFamilies {
    /// FreeBSD's `AF_INET` and `AF_INET6` (`sys/sys/socket.h`).
    #[cfg_attr(tun_apple, allow(dead_code))]
    pub(crate) const FREEBSD: AddressFamilies = AddressFamilies { inet: 2, inet6: 28 };

    /// Darwin's (macOS, iOS) `AF_INET` and `AF_INET6` (xnu `bsd/sys/socket.h`).
    #[cfg_attr(tun_freebsd, allow(dead_code))]
    pub(crate) const DARWIN: AddressFamilies = AddressFamilies { inet: 2, inet6: 30 };

    /// The IP version (4 or 6) of a received header. Any other family is an error: the bytes
    /// after it are not an IP packet, and are never handed out as one.
    pub(crate) fn version_of(self, header: [u8; HEADER_LEN]) -> io::Result<u8> {
        match u32::from_be_bytes(header) {
            family if family == self.inet => Ok(4),
            family if family == self.inet6 => Ok(6),
            family => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the tun driver delivered a packet of address family {family}, neither \
                     AF_INET ({}) nor AF_INET6 ({}); it was dropped",
                    self.inet, self.inet6
                ),
            )),
        }
    }

    /// The header for `packet`, from its IP version (the high nibble of its first byte): the
    /// kernel routes by this family, so a packet that is neither IPv4 nor IPv6 is refused
    /// before the write (the kernel would answer `EAFNOSUPPORT` anyway).
    pub(crate) fn header_for(self, first_byte: Option<u8>) -> io::Result<[u8; HEADER_LEN]> {
        let family = match first_byte.map(|byte| byte >> 4) {
            Some(4) => self.inet,
            Some(6) => self.inet6,
            Some(version) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "a TUN packet must be IPv4 or IPv6, and this one has IP version \
                         {version} (the first 4 bits)"
                    ),
                ))
            }
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "an empty packet cannot be sent",
                ))
            }
        };
        Ok(family.to_be_bytes())
    }
}

/// The first byte of a packet gathered from several buffers, empty ones skipped: the one whose
/// high nibble is the IP version.
pub(crate) fn first_byte<'a>(bufs: impl IntoIterator<Item = &'a [u8]>) -> Option<u8> {
    bufs.into_iter().find_map(|buf| buf.first().copied())
}

/// The payload length of a read that returned `read` bytes, header included. A read shorter
/// than the header is no packet: the driver never returns one, so it is reported, not hidden.
pub(crate) fn received_len(read: usize, header_len: usize) -> io::Result<usize> {
    read.checked_sub(header_len).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the tun driver returned {read} bytes, less than its {header_len}-byte header"),
        )
    })
}

/// The packet length of a write that returned `written` bytes, `header_len` of them ours.
///
/// FreeBSD's `tunwrite` ignores a packet written while the interface is down and returns 0
/// ("ignore silently", `sys/net/if_tuntap.c`): that is reported as an error
/// ([`io::ErrorKind::NetworkDown`]) rather than as a sent packet.
pub(crate) fn sent_len(written: usize, header_len: usize) -> io::Result<usize> {
    if written == 0 {
        return Err(io::Error::new(
            io::ErrorKind::NetworkDown,
            "the interface is down, and the tun driver dropped the packet (the write returned \
             0): bring the link up first (`Device::set_up(true)` or `Builder::up`)",
        ));
    }
    Ok(written.saturating_sub(header_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAMILIES: AddressFamilies = AddressFamilies::FREEBSD;

    #[test]
    fn freebsd_header_is_the_big_endian_family() {
        assert_eq!(FAMILIES.header_for(Some(0x45)).ok(), Some([0, 0, 0, 2]));
        // IPv6 is family 28 on FreeBSD (30 on Darwin, 10 on Linux).
        assert_eq!(FAMILIES.header_for(Some(0x60)).ok(), Some([0, 0, 0, 28]));
        // Big-endian: the family is in the last byte.
        assert_eq!(u32::from_be_bytes([0, 0, 0, 28]), FAMILIES.inet6);
    }

    #[test]
    fn utun_header_uses_darwin_families() {
        let darwin = AddressFamilies::DARWIN;
        assert_eq!(darwin.header_for(Some(0x45)).ok(), Some([0, 0, 0, 2]));
        assert_eq!(darwin.header_for(Some(0x60)).ok(), Some([0, 0, 0, 30]));
        assert_eq!(darwin.version_of([0, 0, 0, 2]).ok(), Some(4));
        assert_eq!(darwin.version_of([0, 0, 0, 30]).ok(), Some(6));
        // FreeBSD's AF_INET6 is not Darwin's, and a little-endian family is not a family.
        for header in [[0, 0, 0, 28], [30, 0, 0, 0], [2, 0, 0, 0], [0, 0, 0, 0]] {
            let kind = darwin.version_of(header).err().map(|e| e.kind());
            assert_eq!(kind, Some(io::ErrorKind::InvalidData), "{header:?}");
        }
        assert_eq!(FAMILIES.version_of([0, 0, 0, 28]).ok(), Some(6));
    }

    #[test]
    fn bsd_header_refuses_what_is_not_ip() {
        for first in [Some(0x00), Some(0x55), Some(0xff)] {
            let err = FAMILIES.header_for(first).err().map(|e| e.kind());
            assert_eq!(err, Some(io::ErrorKind::InvalidInput), "{first:?}");
        }
        assert!(FAMILIES.header_for(None).is_err());
    }

    #[test]
    fn bsd_gathered_packets_take_the_version_from_the_first_byte() {
        let ipv6: [&[u8]; 3] = [&[], &[0x60, 0], &[0x45]];
        assert_eq!(first_byte(ipv6), Some(0x60));
        assert_eq!(
            FAMILIES.header_for(first_byte(ipv6)).ok(),
            Some([0, 0, 0, 28])
        );
        let empty: [&[u8]; 2] = [&[], &[]];
        assert_eq!(first_byte(empty), None);
    }

    #[test]
    fn bsd_lengths_drop_the_header_and_report_a_down_link() {
        assert_eq!(received_len(104, HEADER_LEN).ok(), Some(100));
        assert_eq!(received_len(4, HEADER_LEN).ok(), Some(0));
        assert!(received_len(3, HEADER_LEN).is_err());
        assert_eq!(sent_len(104, HEADER_LEN).ok(), Some(100));
        assert_eq!(sent_len(60, 0).ok(), Some(60));
        for header_len in [0, HEADER_LEN] {
            let kind = sent_len(0, header_len).err().map(|e| e.kind());
            assert_eq!(kind, Some(io::ErrorKind::NetworkDown));
        }
    }
}
