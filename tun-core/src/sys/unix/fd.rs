//! A queue fd: packet I/O (one call, one packet), `readv`/`writev` bounded by `IOV_MAX`, the
//! non-blocking switch, and duplication.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::cvt;

/// The most buffers one `readv`/`writev` takes (`IOV_MAX`: 1024 on Linux, macOS and FreeBSD).
pub(crate) const MAX_IOVECS: usize = 1024;

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

/// An open queue fd.
#[derive(Debug)]
pub(crate) struct Fd(OwnedFd);

impl Fd {
    pub(crate) fn raw(&self) -> libc::c_int {
        self.0.as_raw_fd()
    }

    #[inline]
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the duration of the call.
        let n = cvt(unsafe { libc::read(self.raw(), buf.as_mut_ptr().cast(), buf.len()) })?;
        // `read` returns at most `buf.len()`, and -1 was handled above.
        Ok(n as usize)
    }

    #[inline]
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the duration of the call.
        let n = cvt(unsafe { libc::write(self.raw(), buf.as_ptr().cast(), buf.len()) })?;
        Ok(n as usize)
    }

    #[inline]
    pub(crate) fn readv(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let count = iovec_count(bufs.len())?;
        // SAFETY: `IoSliceMut` is ABI-compatible with `struct iovec` on Unix, and each one is a
        // valid writable buffer for the duration of the call; `count` is `bufs.len()`.
        let n = cvt(unsafe { libc::readv(self.raw(), bufs.as_mut_ptr().cast(), count) })?;
        Ok(n as usize)
    }

    /// [`readv`](Self::readv) that never waits, even on a blocking fd: `preadv2` with
    /// `RWF_NOWAIT` (Linux 4.14; the tun driver honours it), `WouldBlock` when nothing is
    /// queued. A kernel without it answers `EOPNOTSUPP` rather than waiting.
    #[cfg(tun_linux)]
    #[inline]
    pub(crate) fn readv_nowait(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        /// `RWF_NOWAIT` of `linux/fs.h` (not in the libc crate).
        const RWF_NOWAIT: libc::c_int = 0x8;
        let count = iovec_count(bufs.len())?;
        // SAFETY: as for `readv` (the iovecs are valid writable buffers, `count` of them). The
        // offset is -1 in both halves: "the file's position", ignored by a character device.
        let n = unsafe {
            libc::syscall(
                libc::SYS_preadv2,
                self.raw(),
                bufs.as_mut_ptr(),
                count,
                -1 as libc::c_long,
                -1 as libc::c_long,
                RWF_NOWAIT,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        // Non-negative, at most the buffers' total length.
        Ok(n as usize)
    }

    #[inline]
    pub(crate) fn writev(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let count = iovec_count(bufs.len())?;
        // SAFETY: `IoSlice` is ABI-compatible with `struct iovec` on Unix, and each one is a
        // valid readable buffer for the duration of the call; `count` is `bufs.len()`.
        let n = cvt(unsafe { libc::writev(self.raw(), bufs.as_ptr().cast(), count) })?;
        Ok(n as usize)
    }

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        let mut value = libc::c_int::from(nonblocking);
        // SAFETY: FIONBIO reads one `int`, which `value` is.
        cvt(unsafe { libc::ioctl(self.raw(), libc::FIONBIO as _, &mut value) })?;
        Ok(())
    }

    /// Whether the open file is in non-blocking mode (`O_NONBLOCK`).
    pub(crate) fn is_nonblocking(&self) -> io::Result<bool> {
        // SAFETY: F_GETFL takes no argument and reads nothing from memory.
        let flags = cvt(unsafe { libc::fcntl(self.raw(), libc::F_GETFL) })?;
        Ok(flags & libc::O_NONBLOCK != 0)
    }

    /// A second fd for the same open file (close-on-exec).
    pub(crate) fn try_clone(&self) -> io::Result<Fd> {
        self.0.try_clone().map(Fd)
    }
}

impl From<OwnedFd> for Fd {
    fn from(fd: OwnedFd) -> Fd {
        Fd(fd)
    }
}

impl From<Fd> for OwnedFd {
    fn from(fd: Fd) -> OwnedFd {
        fd.0
    }
}

impl AsFd for Fd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}
