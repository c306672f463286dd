//! Waiting for a packet with a deadline, and ending that wait from another thread: `poll(2)` on
//! the queue fd and on the read end of a pipe that [`Interrupt::raise`] writes to.
//!
//! A pipe rather than an `eventfd` so that every Unix platform shares this file. The pipe is
//! never drained: once raised, it stays readable, so every current and later wait on it returns
//! at once (a latch, which is what a shutdown needs). Plain `recv` never looks at any of this.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::cvt;

/// A latch that wakes every [`wait_readable`] watching it.
#[derive(Debug)]
pub(crate) struct Interrupt {
    read: OwnedFd,
    write: OwnedFd,
    raised: AtomicBool,
}

impl Interrupt {
    /// A pipe, both ends close-on-exec and non-blocking.
    pub(crate) fn new() -> io::Result<Interrupt> {
        let (read, write) = pipe()?;
        Ok(Interrupt {
            read,
            write,
            raised: AtomicBool::new(false),
        })
    }

    /// Raises the latch: writes one byte the first time, nothing afterwards (so the pipe never
    /// fills and this never blocks).
    pub(crate) fn raise(&self) {
        if self.raised.swap(true, Ordering::SeqCst) {
            return;
        }
        let byte = 1u8;
        // SAFETY: `byte` is valid for reads of one byte for the duration of the call. The write
        // end is ours and open; the pipe is empty (this is the only write), so it cannot fail
        // but for EINTR, retried below.
        while cvt(unsafe { libc::write(self.write.as_raw_fd(), (&raw const byte).cast(), 1) })
            .is_err_and(|err| err.kind() == io::ErrorKind::Interrupted)
        {}
    }

    /// Whether [`raise`](Self::raise) was called.
    pub(crate) fn is_raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }
}

#[cfg(not(target_vendor = "apple"))]
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two fds `pipe2` writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) })?;
    // SAFETY: `pipe2` succeeded: both fds are open and owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Apple platforms have no `pipe2`: `pipe`, then the flags one by one (another thread's
/// `fork` + `exec` in between could inherit the fds; nothing better exists there).
#[cfg(target_vendor = "apple")]
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two fds `pipe` writes.
    cvt(unsafe { libc::pipe(fds.as_mut_ptr()) })?;
    // SAFETY: `pipe` succeeded: both fds are open and owned by nothing else.
    let ends = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    for fd in [&ends.0, &ends.1] {
        // SAFETY: F_SETFD and F_SETFL take an integer argument; the fd is open.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) })?;
        // SAFETY: as above.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) })?;
    }
    Ok(ends)
}

/// What ended a [`wait_readable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// The fd is readable, or has an error or hang-up that a read will report.
    Readable,
    /// The interrupt was raised.
    Interrupted,
    /// The timeout passed, or a signal arrived (the caller checks its deadline and may wait
    /// again).
    Elapsed,
}

/// Waits until `fd` is readable, `interrupt` is raised, or `timeout` (rounded up to whole
/// milliseconds, at most `c_int::MAX` of them; `None`: no limit) passes.
pub(crate) fn wait_readable(
    fd: BorrowedFd<'_>,
    interrupt: Option<&Interrupt>,
    timeout: Option<Duration>,
) -> io::Result<Wait> {
    let timeout_ms = match timeout {
        None => -1,
        Some(timeout) => {
            let ms = timeout.as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    };
    let watch = |fd: libc::c_int| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let mut fds = [
        watch(fd.as_raw_fd()),
        // A negative fd is ignored by poll: no interrupt to watch.
        watch(interrupt.map_or(-1, |interrupt| interrupt.read.as_raw_fd())),
    ];
    // SAFETY: `fds` is an array of two valid `pollfd`s for the duration of the call.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
    match cvt(ready) {
        Err(err) if err.kind() == io::ErrorKind::Interrupted => return Ok(Wait::Elapsed),
        Err(err) => return Err(err),
        Ok(0) => return Ok(Wait::Elapsed),
        Ok(_) => {}
    }
    let [queue, pipe] = fds;
    if pipe.revents != 0 {
        Ok(Wait::Interrupted)
    } else if queue.revents != 0 {
        Ok(Wait::Readable)
    } else {
        Ok(Wait::Elapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::time::Instant;

    #[test]
    #[cfg_attr(miri, ignore)] // pipes and poll are system calls Miri does not run
    fn an_interrupt_latches() {
        let interrupt = Interrupt::new().unwrap();
        let other = Interrupt::new().unwrap();
        let start = Instant::now();
        let wait = wait_readable(
            other.read.as_fd(),
            Some(&interrupt),
            Some(Duration::from_millis(30)),
        );
        assert_eq!(wait.unwrap(), Wait::Elapsed);
        assert!(start.elapsed() >= Duration::from_millis(30));
        interrupt.raise();
        interrupt.raise();
        for _ in 0..3 {
            let wait = wait_readable(other.read.as_fd(), Some(&interrupt), None);
            assert_eq!(wait.unwrap(), Wait::Interrupted);
        }
        assert!(interrupt.is_raised());
    }
}
