//! The BSD ioctl number encoding (`sys/sys/ioccom.h`): direction bits, the argument's size, a
//! group letter and a number. Pure, so that each platform's numbers are computed from the size
//! of the struct the request takes and pinned in unit tests against published values, instead
//! of being copied as bare hex.

/// The kernel copies the argument out to the caller (`IOC_OUT`).
const IOC_OUT: u32 = 0x4000_0000;
/// The kernel copies the argument in from the caller (`IOC_IN`).
const IOC_IN: u32 = 0x8000_0000;
/// The argument's size is stored in 13 bits (`IOCPARM_MASK`).
const IOCPARM_MASK: u32 = 0x1fff;

/// `_IOC(inout, group, num, len)`. A size over 13 bits would silently wrap in C; here it is a
/// compile error, since every caller is a `const`.
const fn ioc(inout: u32, group: u8, num: u8, len: usize) -> u32 {
    assert!(len <= IOCPARM_MASK as usize, "ioctl argument too large");
    inout | ((len as u32 & IOCPARM_MASK) << 16) | ((group as u32) << 8) | num as u32
}

/// `_IOW(group, num, type)`: the caller passes a `type` of `len` bytes in.
pub(crate) const fn iow(group: u8, num: u8, len: usize) -> u32 {
    ioc(IOC_IN, group, num, len)
}

/// `_IOWR(group, num, type)`: in and back out.
pub(crate) const fn iowr(group: u8, num: u8, len: usize) -> u32 {
    ioc(IOC_IN | IOC_OUT, group, num, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bsd_ioctl_encoding_matches_ioccom() {
        // FIONBIO is `_IOW('f', 126, int)`: 0x8004667e in every BSD's headers (and libc).
        assert_eq!(iow(b'f', 126, 4), 0x8004_667e);
        // SIOCGIFFLAGS is `_IOWR('i', 17, struct ifreq)` with a 32-byte ifreq.
        assert_eq!(iowr(b'i', 17, 32), 0xc020_6911);
        // The size field keeps 13 bits.
        assert_eq!(iow(0, 0, 0x1fff), 0x9fff_0000);
    }
}
