//! Control sockets, `struct ifreq` by name, and the `getifaddrs` list: the plumbing of every
//! interface request on the BSDs.

use std::ffi::CStr;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr;

#[cfg(tun_apple)]
use std::os::fd::AsFd;

use super::abi::{Ifreq, SockaddrIn, SockaddrIn6, IFNAMSIZ};
use crate::sys::unix::cvt;

/// A datagram socket of `domain` (`AF_INET` or `AF_INET6`), close-on-exec, to send interface
/// ioctls through.
pub(crate) fn socket(domain: libc::c_int) -> io::Result<OwnedFd> {
    cloexec_socket(domain, libc::SOCK_DGRAM, 0)
}

/// A socket, close-on-exec from the start where the kernel takes `SOCK_CLOEXEC` (FreeBSD).
#[cfg(not(tun_apple))]
pub(crate) fn cloexec_socket(
    domain: libc::c_int,
    kind: libc::c_int,
    protocol: libc::c_int,
) -> io::Result<OwnedFd> {
    // SAFETY: `socket` takes no pointer; a valid fd or -1 comes back.
    let raw = cvt(unsafe { libc::socket(domain, kind | libc::SOCK_CLOEXEC, protocol) })?;
    // SAFETY: `socket` just returned this fd; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// A socket, made close-on-exec right after `socket`: Darwin has no `SOCK_CLOEXEC`, so a
/// concurrent `fork`+`exec` in between could inherit it (the same window as std's own sockets
/// there).
#[cfg(tun_apple)]
pub(crate) fn cloexec_socket(
    domain: libc::c_int,
    kind: libc::c_int,
    protocol: libc::c_int,
) -> io::Result<OwnedFd> {
    // SAFETY: `socket` takes no pointer; a valid fd or -1 comes back.
    let raw = cvt(unsafe { libc::socket(domain, kind, protocol) })?;
    // SAFETY: `socket` just returned this fd; nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    set_cloexec(fd.as_fd(), true)?;
    Ok(fd)
}

/// Sets or clears `FD_CLOEXEC` on `fd`.
#[cfg(tun_apple)]
pub(crate) fn set_cloexec(fd: BorrowedFd<'_>, cloexec: bool) -> io::Result<()> {
    // SAFETY: F_GETFD and F_SETFD take no pointer.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) })?;
    let flags = if cloexec {
        flags | libc::FD_CLOEXEC
    } else {
        flags & !libc::FD_CLOEXEC
    };
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, flags) })?;
    Ok(())
}

/// Runs one ioctl whose argument is a `T`.
///
/// # Safety
/// `request` must be one that reads (and possibly writes) exactly one `T`, and every pointer
/// inside `arg` must be valid for what the request does with it.
pub(crate) unsafe fn ioctl<T>(fd: BorrowedFd<'_>, request: u32, arg: &mut T) -> io::Result<()> {
    // SAFETY: the caller guarantees that `request` takes one `T`; `arg` is valid for reads and
    // writes of it for the duration of the call.
    cvt(unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::c_ulong::from(request) as _,
            arg as *mut T,
        )
    })?;
    Ok(())
}

/// A name as `IFNAMSIZ` bytes with its NUL, or `InvalidInput` if it does not fit.
pub(crate) fn name_bytes(name: &str) -> io::Result<[u8; IFNAMSIZ]> {
    let mut bytes = [0; IFNAMSIZ];
    // The builder checked the length; this keeps an unchecked name (from the kernel) safe too.
    if name.len() >= IFNAMSIZ || name.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface name {name:?} does not fit IFNAMSIZ"),
        ));
    }
    for (dst, src) in bytes.iter_mut().zip(name.bytes()) {
        *dst = src;
    }
    Ok(bytes)
}

/// A zeroed `ifreq` carrying `name`.
pub(crate) fn ifreq_with_name(name: &str) -> io::Result<Ifreq> {
    // SAFETY: `Ifreq` is plain old data (bytes, integers and a pointer in a union), for which
    // all zeros is a valid value.
    let mut ifr: Ifreq = unsafe { mem::zeroed() };
    ifr.name = name_bytes(name)?;
    Ok(ifr)
}

/// The name in an `IFNAMSIZ` array, up to its NUL.
#[cfg_attr(tun_apple, allow(dead_code))] // utun names come from a socket option
pub(crate) fn name_from_bytes(bytes: &[u8]) -> String {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(bytes.get(..len).unwrap_or_default()).into_owned()
}

/// The name of the interface with this index now; `ENXIO` once it is gone.
pub(crate) fn index_to_name(index: u32) -> io::Result<String> {
    let mut buf = [0 as libc::c_char; IFNAMSIZ];
    // SAFETY: `buf` has room for IFNAMSIZ bytes, as `if_indextoname` requires.
    let found = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if found.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success `if_indextoname` wrote a NUL-terminated name into `buf`.
    let name = unsafe { CStr::from_ptr(buf.as_ptr()) };
    Ok(name.to_string_lossy().into_owned())
}

/// The index of the interface called `name` now; 0 if there is none.
pub(crate) fn name_to_index(name: &str) -> u32 {
    let Ok(name) = std::ffi::CString::new(name) else {
        return 0;
    };
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    unsafe { libc::if_nametoindex(name.as_ptr()) }
}

/// The system's interface address list (`getifaddrs`), freed on drop.
pub(crate) struct InterfaceAddresses(*mut libc::ifaddrs);

/// One entry: the interface name, and the address and netmask as the bytes of their socket
/// addresses (`sa_len` of them: byte 0 is the length, byte 1 the family).
pub(crate) struct Entry<'a> {
    pub(crate) name: &'a CStr,
    pub(crate) addr: Option<&'a [u8]>,
    pub(crate) netmask: Option<&'a [u8]>,
}

/// The bytes of the socket address at `sa` (NULL: none), as many as its `sa_len` says.
///
/// # Safety
/// `sa` must be NULL or point to a socket address of `sa_len` valid bytes that live for `'a`.
unsafe fn sockaddr_bytes<'a>(sa: *const libc::sockaddr) -> Option<&'a [u8]> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees `sa` points to a socket address; `sa_len` is its first byte.
    let len = usize::from(unsafe { (*sa).sa_len });
    // SAFETY: the caller guarantees `len` valid bytes at `sa` for `'a`.
    Some(unsafe { std::slice::from_raw_parts(sa.cast::<u8>(), len) })
}

/// The family of a socket address given as bytes.
pub(crate) fn family(sa: &[u8]) -> Option<u8> {
    sa.get(1).copied()
}

impl InterfaceAddresses {
    pub(crate) fn new() -> io::Result<InterfaceAddresses> {
        let mut list = ptr::null_mut();
        // SAFETY: `getifaddrs` writes a list head (or NULL) into `list`.
        cvt(unsafe { libc::getifaddrs(&mut list) })?;
        Ok(InterfaceAddresses(list))
    }

    /// The entries of the interface called `name`.
    pub(crate) fn of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Entry<'a>> + 'a {
        let mut next = self.0;
        std::iter::from_fn(move || {
            // SAFETY: `next` is NULL or a node of the list, which lives as long as `self`
            // (freed only on drop); the kernel's libc links every node to a valid next or NULL.
            let node = unsafe { next.as_ref()? };
            next = node.ifa_next;
            // SAFETY: `ifa_name` points to a NUL-terminated name in the list's memory;
            // `ifa_addr` and `ifa_netmask` are NULL or point to socket addresses there, each
            // `sa_len` bytes long (the list packs them so).
            Some(unsafe {
                Entry {
                    name: CStr::from_ptr(node.ifa_name),
                    addr: sockaddr_bytes(node.ifa_addr),
                    netmask: sockaddr_bytes(node.ifa_netmask),
                }
            })
        })
        .filter(move |entry| entry.name.to_bytes() == name.as_bytes())
    }
}

impl Drop for InterfaceAddresses {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the list came from `getifaddrs` and is freed once, here.
            unsafe { libc::freeifaddrs(self.0) };
        }
    }
}

/// Socket address structs made of integers and byte arrays only: every bit pattern, all zeros
/// included, is a valid value, so they may be filled from the kernel's bytes.
pub(crate) trait PlainSockaddr: Copy {}

impl PlainSockaddr for SockaddrIn {}
impl PlainSockaddr for SockaddrIn6 {}
impl PlainSockaddr for libc::sockaddr_dl {}

/// Reads a `T` (a `sockaddr_in`, `sockaddr_in6` or `sockaddr_dl`) from the bytes of a socket
/// address whose family said which it is. The kernel may shorten an address (`sa_len` below
/// `size_of::<T>()`, as link-level ones can be): the bytes it did not give read as zeros.
pub(crate) fn read_sockaddr<T: PlainSockaddr>(sa: &[u8]) -> Option<T> {
    let len = sa.len().min(mem::size_of::<T>());
    if len < 2 {
        return None;
    }
    // SAFETY: `PlainSockaddr` types are plain data, for which all zeros is a valid value.
    let mut value: T = unsafe { mem::zeroed() };
    // SAFETY: `sa` has at least `len` bytes, and `value` has room for `len <= size_of::<T>()`
    // bytes; the two do not overlap.
    unsafe { ptr::copy_nonoverlapping(sa.as_ptr(), (&mut value as *mut T).cast::<u8>(), len) };
    Some(value)
}
