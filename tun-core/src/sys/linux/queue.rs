//! One queue: an fd of `/dev/net/tun` attached to a device with `TUNSETIFF`.

use std::ffi::CString;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::cvt;
use super::interface::{ifreq_name, ifreq_with_name};
use crate::error::op;

/// How to open a queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenOptions {
    pub(crate) flags: libc::c_short,
    pub(crate) close_on_exec: bool,
    pub(crate) nonblocking: bool,
}

/// An fd attached to a TUN/TAP device.
#[derive(Debug)]
pub(crate) struct Queue {
    fd: OwnedFd,
}

/// The most buffers one `readv`/`writev` takes (`IOV_MAX` on Linux).
const MAX_IOVECS: usize = 1024;

/// The iovec count for `readv`/`writev`. More than [`MAX_IOVECS`] would make the kernel take only
/// the first part of a packet (or fill only part of the buffers): refused before the call.
fn iovec_count(len: usize) -> io::Result<libc::c_int> {
    if len > MAX_IOVECS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "one packet in {len} buffers: at most {MAX_IOVECS} (IOV_MAX) are taken in one \
                 call; gather the packet into fewer buffers"
            ),
        ));
    }
    // At most 1024: fits a `c_int`.
    Ok(len as libc::c_int)
}

/// Whether a device of this name exists in the calling thread's namespace (where `/dev/net/tun`
/// looks names up too).
fn interface_exists(name: &str) -> bool {
    let Ok(name) = CString::new(name) else {
        return false;
    };
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    unsafe { libc::if_nametoindex(name.as_ptr()) != 0 }
}

/// The error behind [`io::ErrorKind::NotFound`] from packet I/O on a deleted device.
#[derive(Debug)]
struct DeviceGone(io::Error);

impl fmt::Display for DeviceGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the TUN/TAP device no longer exists (it was deleted, for example with \
             `ip link del`): {}",
            self.0
        )
    }
}

impl std::error::Error for DeviceGone {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl Queue {
    /// Opens `/dev/net/tun` and attaches it to the device `name` (empty or a `%d` pattern: the
    /// kernel picks). Returns the queue and the device's actual name; on error, which step failed.
    pub(crate) fn open(
        name: &str,
        options: OpenOptions,
    ) -> Result<(Queue, String), (&'static str, io::Error)> {
        let mut open_flags = libc::O_RDWR;
        if options.close_on_exec {
            open_flags |= libc::O_CLOEXEC;
        }
        if options.nonblocking {
            open_flags |= libc::O_NONBLOCK;
        }
        // SAFETY: the path is a NUL-terminated string literal and `open` takes no other pointer.
        let raw = cvt(unsafe { libc::open(c"/dev/net/tun".as_ptr(), open_flags) })
            .map_err(|err| (op::OPEN, err))?;
        // SAFETY: `open` just returned this fd; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let queue = Queue { fd };
        let mut ifr = ifreq_with_name(name).map_err(|err| (op::CREATE, err))?;
        ifr.ifr_ifru.ifru_flags = options.flags;
        // SAFETY: TUNSETIFF reads and writes one `struct ifreq`, which `ifr` is.
        cvt(unsafe { libc::ioctl(queue.raw(), libc::TUNSETIFF as _, &mut ifr) }).map_err(
            |err| {
                // The same errno means different things for a new and an existing device (EINVAL:
                // a refused name, or a device of another kind), so say which it was.
                let operation = if interface_exists(name) {
                    op::ATTACH
                } else {
                    op::CREATE
                };
                (operation, err)
            },
        )?;
        Ok((queue, ifreq_name(&ifr)))
    }

    fn raw(&self) -> libc::c_int {
        self.fd.as_raw_fd()
    }

    #[inline]
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the duration of the call.
        let n = cvt(unsafe { libc::read(self.raw(), buf.as_mut_ptr().cast(), buf.len()) })
            .map_err(|err| self.packet_error(err))?;
        // `read` returns at most `buf.len()`, and -1 was handled above.
        Ok(n as usize)
    }

    #[inline]
    pub(crate) fn send(&self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the duration of the call.
        let n = cvt(unsafe { libc::write(self.raw(), buf.as_ptr().cast(), buf.len()) })
            .map_err(|err| self.packet_error(err))?;
        Ok(n as usize)
    }

    #[inline]
    pub(crate) fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let count = iovec_count(bufs.len())?;
        // SAFETY: `IoSliceMut` is ABI-compatible with `struct iovec` on Unix, and each one is a
        // valid writable buffer for the duration of the call; `count` is `bufs.len()`.
        let n = cvt(unsafe { libc::readv(self.raw(), bufs.as_mut_ptr().cast(), count) })
            .map_err(|err| self.packet_error(err))?;
        Ok(n as usize)
    }

    #[inline]
    pub(crate) fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let count = iovec_count(bufs.len())?;
        // SAFETY: `IoSlice` is ABI-compatible with `struct iovec` on Unix, and each one is a
        // valid readable buffer for the duration of the call; `count` is `bufs.len()`.
        let n = cvt(unsafe { libc::writev(self.raw(), bufs.as_ptr().cast(), count) })
            .map_err(|err| self.packet_error(err))?;
        Ok(n as usize)
    }

    /// Packet I/O on a queue whose device was deleted fails with `EBADFD` (a read that was
    /// already waiting: `EFAULT`; rarely `EIO`): all of them become one matchable
    /// [`io::ErrorKind::NotFound`], keeping the OS error as the source.
    #[cold]
    fn packet_error(&self, err: io::Error) -> io::Error {
        let gone = match err.raw_os_error() {
            Some(libc::EBADFD | libc::EFAULT) => true,
            // EIO has other causes too: ask the fd whether it still has a device.
            Some(libc::EIO) => {
                self.get_iff().err().and_then(|e| e.raw_os_error()) == Some(libc::EBADFD)
            }
            _ => false,
        };
        if gone {
            io::Error::new(io::ErrorKind::NotFound, DeviceGone(err))
        } else {
            err
        }
    }

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        let mut value = libc::c_int::from(nonblocking);
        // SAFETY: FIONBIO reads one `int`, which `value` is.
        cvt(unsafe { libc::ioctl(self.raw(), libc::FIONBIO as _, &mut value) })?;
        Ok(())
    }

    /// `TUNGETIFF`: the device's name and its `IFF_*` flags.
    pub(crate) fn get_iff(&self) -> io::Result<(String, libc::c_short)> {
        let mut ifr = ifreq_with_name("")?;
        // SAFETY: TUNGETIFF writes one `struct ifreq`, which `ifr` is.
        cvt(unsafe { libc::ioctl(self.raw(), libc::TUNGETIFF as _, &mut ifr) })?;
        // SAFETY: TUNGETIFF filled `ifru_flags`; every bit pattern is a valid `c_short`.
        let flags = unsafe { ifr.ifr_ifru.ifru_flags };
        Ok((ifreq_name(&ifr), flags))
    }

    pub(crate) fn is_persistent(&self) -> io::Result<bool> {
        let (_, flags) = self.get_iff()?;
        Ok(i32::from(flags) & libc::IFF_PERSIST != 0)
    }

    pub(crate) fn is_multi_queue(&self) -> io::Result<bool> {
        let (_, flags) = self.get_iff()?;
        Ok(i32::from(flags) & libc::IFF_MULTI_QUEUE != 0)
    }

    /// The `TUN*` ioctls that take their argument by value.
    fn set_value(&self, request: libc::Ioctl, value: libc::c_ulong) -> io::Result<()> {
        // SAFETY: TUNSETPERSIST, TUNSETOWNER and TUNSETGROUP (the only requests passed here) read
        // their argument as an integer, not as a pointer.
        cvt(unsafe { libc::ioctl(self.raw(), request, value) })?;
        Ok(())
    }

    pub(crate) fn set_persist(&self, persist: bool) -> io::Result<()> {
        self.set_value(libc::TUNSETPERSIST, libc::c_ulong::from(persist))
    }

    pub(crate) fn set_owner(&self, uid: u32) -> io::Result<()> {
        self.set_value(libc::TUNSETOWNER, libc::c_ulong::from(uid))
    }

    pub(crate) fn set_group(&self, gid: u32) -> io::Result<()> {
        self.set_value(libc::TUNSETGROUP, libc::c_ulong::from(gid))
    }

    /// `TUNSETQUEUE`: puts this queue back into (or takes it out of) the device's distribution.
    pub(crate) fn set_attached(&self, attached: bool) -> io::Result<()> {
        let mut ifr = ifreq_with_name("")?;
        let flags = if attached {
            libc::IFF_ATTACH_QUEUE
        } else {
            libc::IFF_DETACH_QUEUE
        };
        ifr.ifr_ifru.ifru_flags = flags as libc::c_short;
        // SAFETY: TUNSETQUEUE reads one `struct ifreq`, which `ifr` is.
        cvt(unsafe { libc::ioctl(self.raw(), libc::TUNSETQUEUE as _, &mut ifr) })?;
        Ok(())
    }
}

impl From<OwnedFd> for Queue {
    fn from(fd: OwnedFd) -> Queue {
        Queue { fd }
    }
}

impl From<Queue> for OwnedFd {
    fn from(queue: Queue) -> OwnedFd {
        queue.fd
    }
}

impl AsFd for Queue {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
