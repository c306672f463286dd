//! The session's ring capacity (`wintun.h`: a power of two from `WINTUN_MIN_RING_CAPACITY` to
//! `WINTUN_MAX_RING_CAPACITY`), checked before any system call. Pure.

use crate::check::Checked;

/// `WINTUN_MIN_RING_CAPACITY`: 128 KiB.
pub(crate) const MIN_RING_CAPACITY: u32 = 0x20000;
/// `WINTUN_MAX_RING_CAPACITY`: 64 MiB.
pub(crate) const MAX_RING_CAPACITY: u32 = 0x400_0000;
/// 8 MiB, wireguard-go's choice: a small ring overflows under bursts at multi-Gbit/s rates
/// (firezone moved from 1 to 16 MiB; ExpressVPN's lightway gained 10-80 % from a larger one),
/// and the memory is per session.
pub(crate) const DEFAULT_RING_CAPACITY: u32 = 0x80_0000;

/// A ring capacity Wintun accepts.
pub(crate) fn check_ring_capacity(bytes: u32) -> Checked {
    if !(MIN_RING_CAPACITY..=MAX_RING_CAPACITY).contains(&bytes) || !bytes.is_power_of_two() {
        return Err(format!(
            "ring capacity {bytes} is not a power of two from {MIN_RING_CAPACITY} (128 KiB) to \
             {MAX_RING_CAPACITY} (64 MiB)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_capacities() {
        for good in [
            MIN_RING_CAPACITY,
            DEFAULT_RING_CAPACITY,
            MAX_RING_CAPACITY,
            1 << 20,
        ] {
            assert!(check_ring_capacity(good).is_ok(), "{good}");
        }
        for bad in [
            0,
            1,
            MIN_RING_CAPACITY / 2,
            MAX_RING_CAPACITY * 2,
            3 << 20,
            u32::MAX,
        ] {
            assert!(check_ring_capacity(bad).is_err(), "{bad}");
        }
    }
}
