//! Interface names by the kernel's own byte rules (`dev_valid_name` and `dev_alloc_name` in
//! `net/core/dev.c`), checked before any system call.

use crate::check::Checked;

/// The longest interface name Linux accepts, in bytes (`IFNAMSIZ` less the NUL).
pub(crate) const MAX_NAME_LEN: usize = 15;

/// The bytes the kernel's `isspace()` (lib/ctype.c) counts as whitespace: `\t` `\n` `\v` `\f`
/// `\r`, the space, and Latin-1's no-break space 0xA0, which is also the second byte of UTF-8
/// characters such as `à` (C3 A0).
fn is_kernel_space(byte: u8) -> bool {
    matches!(byte, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0xa0)
}

/// At most [`MAX_NAME_LEN`] bytes, not `.` or `..`, no NUL, `/`, `:` or whitespace byte, and no
/// `%` other than one `%d`. Empty means "the kernel picks".
pub(crate) fn check_name(name: &str) -> Checked {
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
            assert!(check_name(good).is_ok(), "{good:?} rejected");
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
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
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
}
