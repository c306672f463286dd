//! `struct ifreq`, the argument of the `SIOC*IF*` ioctls: building one for a name, reading the
//! name back.

use std::io;
use std::mem;

/// `c_char` is `i8` on some targets and `u8` on others: reinterpret the byte either way.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn to_c_char(byte: u8) -> libc::c_char {
    byte as libc::c_char
}

/// The inverse of [`to_c_char`].
#[allow(clippy::unnecessary_cast)]
pub(crate) fn from_c_char(c: libc::c_char) -> u8 {
    c as u8
}

/// A zeroed `ifreq` carrying `name`.
pub(crate) fn ifreq_with_name(name: &str) -> io::Result<libc::ifreq> {
    // SAFETY: `ifreq` is plain old data (arrays, integers and pointers in a union), for which
    // all zeros is a valid value.
    let mut ifr: libc::ifreq = unsafe { mem::zeroed() };
    // The builder checked the length; this keeps an unchecked name (from the kernel) safe too.
    if name.len() >= ifr.ifr_name.len() || name.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface name {name:?} does not fit IFNAMSIZ"),
        ));
    }
    for (dst, src) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = to_c_char(src);
    }
    Ok(ifr)
}

/// The name in an `ifreq`, up to its NUL.
pub(crate) fn ifreq_name(ifr: &libc::ifreq) -> String {
    let bytes: Vec<u8> = ifr
        .ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| from_c_char(c))
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}
