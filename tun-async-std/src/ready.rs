//! Waiting for a device with async-io (async-std, smol), in one of two ways, behind one private
//! API ([`Io`]):
//!
//! - Unix: the queue is an fd, registered with async-io's reactor through [`Async`].
//! - Elsewhere: the core's `Device::poll_recv_ready`/`poll_send_ready`, which wake the task from
//!   the platform (no fd to register, no thread of ours).
//!
//! Either way: try the non-blocking operation first, wait for readiness only when it would
//! block. No `unsafe`, no system call: those are the core's.

use std::io;
use std::task::{Context, Poll};

use tun_core::Operation;

pub(crate) use self::arm::Io;

/// Which way a packet moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Recv,
    Send,
}

/// Why registering failed: the operation (registering, or starting the reactor) and the error.
pub(crate) type RegisterError = (Operation, io::Error);

/// Runs `op` until it does not say `WouldBlock`, waiting with `poll_ready` in between.
fn retry<R>(
    cx: &mut Context<'_>,
    mut poll_ready: impl FnMut(&mut Context<'_>) -> Poll<io::Result<()>>,
    mut op: impl FnMut() -> io::Result<R>,
) -> Poll<io::Result<R>> {
    loop {
        match op() {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            result => return Poll::Ready(result),
        }
        match poll_ready(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
            Poll::Pending => return Poll::Pending,
        }
    }
}

#[cfg(unix)]
mod arm {
    use std::io;
    use std::panic::{self, AssertUnwindSafe};
    use std::task::{Context, Poll};

    use async_io::Async;
    use tun_core::{Device, Operation};

    use super::{retry, Direction, RegisterError};

    /// The device registered with async-io's reactor.
    ///
    /// A deleted device reports only an error event (`EPOLLERR`), which async-io's poller counts
    /// as both readable and writable: a pending wait wakes, the retried operation returns the
    /// error.
    pub(crate) struct Io {
        fd: Async<Device>,
    }

    impl Io {
        pub(crate) fn new(device: Device) -> Result<Io, RegisterError> {
            // The first registration in a process starts async-io's reactor, which panics
            // instead of returning an error if it cannot create its epoll instance or its thread
            // (no fds or threads left). A build must fail with an error, not a panic: catch it.
            // The device is dropped (closed) by the unwinding, which keeps the build all or
            // nothing; nothing else is shared with the panicking code.
            match panic::catch_unwind(AssertUnwindSafe(|| Async::new_nonblocking(device))) {
                Ok(Ok(fd)) => Ok(Io { fd }),
                Ok(Err(err)) => Err((Operation::Register, err)),
                Err(panic) => Err((
                    Operation::StartReactor,
                    reactor_error(panic_message(panic.as_ref())),
                )),
            }
        }

        pub(crate) fn device(&self) -> &Device {
            self.fd.get_ref()
        }

        /// Deregisters and gives the device back; if the reactor refuses, the device is closed
        /// (async-io does not give it back).
        pub(crate) fn into_device(self) -> io::Result<Device> {
            self.fd.into_inner()
        }

        fn poll_ready(&self, cx: &mut Context<'_>, direction: Direction) -> Poll<io::Result<()>> {
            match direction {
                Direction::Recv => self.fd.poll_readable(cx),
                Direction::Send => self.fd.poll_writable(cx),
            }
        }

        pub(crate) async fn io_first<R>(
            &self,
            direction: Direction,
            op: impl FnMut(&Device) -> io::Result<R>,
        ) -> io::Result<R> {
            // async-io's `read_with`/`write_with` try first and wait only on `WouldBlock`.
            match direction {
                Direction::Recv => self.fd.read_with(op).await,
                Direction::Send => self.fd.write_with(op).await,
            }
        }

        pub(crate) fn try_io<R>(
            &self,
            _direction: Direction,
            mut op: impl FnMut(&Device) -> io::Result<R>,
        ) -> io::Result<R> {
            op(self.device())
        }

        pub(crate) fn poll_io<R>(
            &self,
            cx: &mut Context<'_>,
            direction: Direction,
            mut op: impl FnMut(&Device) -> io::Result<R>,
        ) -> Poll<io::Result<R>> {
            retry(
                cx,
                |cx| self.poll_ready(cx, direction),
                || op(self.device()),
            )
        }

        pub(crate) async fn ready(&self, direction: Direction) -> io::Result<()> {
            match direction {
                Direction::Recv => self.fd.readable().await,
                Direction::Send => self.fd.writable().await,
            }
        }
    }

    fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
        panic
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown panic")
    }

    /// The OS error behind a panic of async-io's reactor start-up. async-io panics with the
    /// `io::Error`'s debug text (`cannot initialize I/O event notification: Os { code: 24, .. }`);
    /// its errno is kept, so that the error gets its kind and hint (`ulimit -n` for EMFILE).
    pub(crate) fn reactor_error(message: &str) -> io::Error {
        let code = message
            .split_once("code: ")
            .map(|(_, rest)| rest)
            .and_then(|rest| {
                let digits = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                rest.get(..digits)?.parse::<i32>().ok()
            });
        match code {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::other(format!("async-io's reactor failed to start: {message}")),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_errno_of_a_reactor_panic_is_kept() {
            let err = reactor_error(
                "cannot initialize I/O event notification: Os { code: 24, kind: Uncategorized, \
                 message: \"Too many open files\" }",
            );
            assert_eq!(err.raw_os_error(), Some(24));
            let err = reactor_error("cannot spawn async-io thread");
            assert_eq!(err.raw_os_error(), None);
            assert!(err.to_string().contains("cannot spawn"), "{err}");
        }
    }
}

#[cfg(not(unix))]
mod arm {
    use std::future::poll_fn;
    use std::io;
    use std::task::{Context, Poll};

    use tun_core::Device;

    use super::{retry, Direction, RegisterError};

    /// The device; the core wakes the task when it may be ready.
    pub(crate) struct Io {
        device: Device,
    }

    impl Io {
        pub(crate) fn new(device: Device) -> Result<Io, RegisterError> {
            Ok(Io { device })
        }

        pub(crate) fn device(&self) -> &Device {
            &self.device
        }

        pub(crate) fn into_device(self) -> io::Result<Device> {
            Ok(self.device)
        }

        fn poll_ready(&self, cx: &mut Context<'_>, direction: Direction) -> Poll<io::Result<()>> {
            match direction {
                Direction::Recv => self.device.poll_recv_ready(cx),
                Direction::Send => self.device.poll_send_ready(cx),
            }
        }

        pub(crate) async fn io_first<R>(
            &self,
            direction: Direction,
            mut op: impl FnMut(&Device) -> io::Result<R>,
        ) -> io::Result<R> {
            poll_fn(|cx| self.poll_io(cx, direction, &mut op)).await
        }

        pub(crate) fn try_io<R>(
            &self,
            _direction: Direction,
            mut op: impl FnMut(&Device) -> io::Result<R>,
        ) -> io::Result<R> {
            op(&self.device)
        }

        pub(crate) fn poll_io<R>(
            &self,
            cx: &mut Context<'_>,
            direction: Direction,
            mut op: impl FnMut(&Device) -> io::Result<R>,
        ) -> Poll<io::Result<R>> {
            retry(cx, |cx| self.poll_ready(cx, direction), || op(&self.device))
        }

        pub(crate) async fn ready(&self, direction: Direction) -> io::Result<()> {
            poll_fn(|cx| self.poll_ready(cx, direction)).await
        }
    }
}
