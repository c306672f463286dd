//! Interface names on macOS, checked before any system call. Pure, so the tests run everywhere.
//!
//! The utun control names its interfaces itself: `utunN` for the control unit `N + 1`
//! (`connect` with `sc_unit`), the first free one for unit 0 (xnu `bsd/net/if_utun.c`:
//! `utun_ctl_setup` picks the unit or answers `EBUSY` for a taken one, and the interface is
//! named `"utun%d"` of the unit less one). No other name can exist, and a
//! utun cannot be renamed, so the only names a build accepts are empty (the kernel picks) and
//! `utun` followed by a number.

use crate::check::Checked;

/// The prefix of every utun interface.
pub(crate) const PREFIX: &str = "utun";

/// The longest interface name, in bytes (`IFNAMSIZ` less the NUL).
pub(crate) const MAX_NAME_LEN: usize = 15;

/// Empty, or `utun` and a decimal number without leading zeros whose unit (`N + 1`) fits the
/// control's 32-bit unit field.
pub(crate) fn check_name(name: &str) -> Checked {
    if name.is_empty() || unit(name).is_some() {
        return Ok(());
    }
    Err(format!(
        "name {name:?} cannot be a utun interface: on macOS a TUN device is named by the kernel \
         `utunN`, so the name must be empty (the first free one) or `utun` and a number, like \
         \"utun7\" (no `%d` patterns, no other names; TAP devices are utuns too)"
    ))
}

/// The control unit to connect to for a checked `name`: `N + 1` for `utunN`, 0 (the first free
/// one) for an empty name.
pub(crate) fn unit(name: &str) -> Option<u32> {
    if name.is_empty() {
        return Some(0);
    }
    let digits = name.strip_prefix(PREFIX)?;
    let leading_zero = digits.len() > 1 && digits.starts_with('0');
    if digits.is_empty() || leading_zero || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if name.len() > MAX_NAME_LEN {
        return None;
    }
    digits.parse::<u32>().ok()?.checked_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macos_names_are_empty_or_utun_n() {
        for good in ["", "utun0", "utun7", "utun123", "utun4294967294"] {
            assert!(check_name(good).is_ok(), "{good:?} rejected");
        }
        for bad in [
            "utun",
            "tun0",
            "utun%d",
            "utun01",
            "utun-1",
            "utun1a",
            "Utun1",
            " utun1",
            "utun1 ",
            "utun4294967295", // unit 2^32 does not fit
            "utun99999999999",
            "wg0",
            "utun١", // an Arabic-Indic digit is not ASCII
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn utun_units_are_the_number_plus_one() {
        assert_eq!(unit(""), Some(0));
        assert_eq!(unit("utun0"), Some(1));
        assert_eq!(unit("utun3"), Some(4));
        assert_eq!(unit("utun4294967294"), Some(u32::MAX));
        assert_eq!(unit("utun4294967295"), None);
        assert_eq!(unit("tun3"), None);
    }
}
