//! What every Unix platform module shares: the C error convention, a queue fd's packet I/O and
//! non-blocking switch, `struct ifreq` helpers, and the interruptible wait for a packet
//! (`wait.rs`). Linux and Android use all of it today; macOS, iOS and FreeBSD will too, so none
//! of this is written twice. It is compiled on every Unix target (`cfg(tun_fd)`), since the
//! interruptible wait works on any fd.

// Until the other Unix platforms have their modules, only Linux uses the queue helpers.
#![cfg_attr(not(tun_linux), allow(dead_code, unused_imports))]

mod fd;
// Over `libc::ifreq`, whose layout the BSDs do not share: they have their own (`bsd/control.rs`).
#[cfg(tun_linux)]
mod ifreq;
mod wait;

use std::io;

pub(crate) use self::fd::Fd;
// The BSD header framing and Linux's virtio header build their own iovec arrays, bounded like
// `Fd`'s.
#[cfg(any(tun_bsd, tun_linux))]
pub(crate) use self::fd::MAX_IOVECS;
#[cfg(tun_linux)]
pub(crate) use self::ifreq::{from_c_char, ifreq_name, ifreq_with_name, to_c_char};
pub(crate) use self::wait::{wait_readable, Interrupt, Wait};

/// Turns the C convention (-1 and `errno`) into `io::Result`, once for every call site.
pub(crate) fn cvt<T: IsMinusOne>(result: T) -> io::Result<T> {
    if result.is_minus_one() {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// The integer types system calls return.
pub(crate) trait IsMinusOne {
    fn is_minus_one(&self) -> bool;
}

impl IsMinusOne for libc::c_int {
    fn is_minus_one(&self) -> bool {
        *self == -1
    }
}

impl IsMinusOne for isize {
    fn is_minus_one(&self) -> bool {
        *self == -1
    }
}
