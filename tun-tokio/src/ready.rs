//! Waiting for a device with tokio, in one of two ways, behind one private API ([`Io`]):
//!
//! - Unix: the queue is an fd, registered with tokio's reactor through [`AsyncFd`].
//! - Elsewhere: the core's `Device::poll_recv_ready`/`poll_send_ready`, which wake the task from
//!   the platform (no fd to register, no thread of ours).
//!
//! Either way the pattern is tokio's `UdpSocket`'s: try the non-blocking operation first, wait
//! for readiness only when it would block. No `unsafe`, no system call: those are the core's.

use std::io;
use std::task::{Context, Poll};

pub(crate) use self::arm::Io;

/// Which way a packet moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Recv,
    Send,
}

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
    use std::future::Future;
    use std::io;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
    use std::task::{Context, Poll};

    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;
    use tun_core::Device;

    use super::{retry, Direction};

    /// Readiness that lets a receive go ahead. A deleted device reports only an error event
    /// (`EPOLLERR`), which tokio does not count as readable: without `ERROR` a pending `recv`
    /// would never wake.
    const RECV: Interest = Interest::READABLE.add(Interest::ERROR);
    /// Readiness that lets a send go ahead (see [`RECV`]).
    const SEND: Interest = Interest::WRITABLE.add(Interest::ERROR);

    /// A wait for readiness kept from one `poll_*` call to the next.
    ///
    /// tokio's poll-style readiness (`poll_read_ready`) wakes only for readable events, and a
    /// deleted device reports an error event alone, so `poll_recv` would sleep forever. Its waits
    /// are therefore [`AsyncFd::ready`] futures (which take the `ERROR` interest), kept here
    /// between polls. They are made only when an operation would block: a poll that finds a
    /// packet waiting neither allocates nor locks.
    type Wait = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    /// The device registered with tokio's reactor.
    pub(crate) struct Io {
        /// Shared with the pending waits, which outlive the `poll_*` call that made them.
        fd: Arc<AsyncFd<Device>>,
        recv_wait: Mutex<Option<Wait>>,
        send_wait: Mutex<Option<Wait>>,
    }

    fn lock(wait: &Mutex<Option<Wait>>) -> MutexGuard<'_, Option<Wait>> {
        // A panic while the lock was held leaves at worst a spent wait, which is harmless.
        wait.lock().unwrap_or_else(PoisonError::into_inner)
    }

    impl Io {
        pub(crate) fn new(device: Device) -> io::Result<Io> {
            // tokio deprecates the safe `AsyncFd::new` (in favour of the `unsafe fn register`)
            // because an arbitrary `T: AsRawFd` might close or swap its fd while registered.
            // `Device` owns its fd for its whole life and always returns that same fd, so the
            // concern does not apply, and this keeps the adapter free of `unsafe`.
            #[allow(deprecated)]
            let fd = AsyncFd::new(device)?;
            Ok(Io {
                fd: Arc::new(fd),
                recv_wait: Mutex::new(None),
                send_wait: Mutex::new(None),
            })
        }

        pub(crate) fn device(&self) -> &Device {
            self.fd.get_ref()
        }

        /// Deregisters and gives the device back. Cannot fail in practice: the only other
        /// holders of the registration are this `Io`'s own waits, dropped first.
        pub(crate) fn into_device(self) -> io::Result<Device> {
            let Io {
                fd,
                recv_wait,
                send_wait,
            } = self;
            drop((recv_wait, send_wait));
            Arc::try_unwrap(fd)
                .map(AsyncFd::into_inner)
                .map_err(|_| io::Error::other("the device is still registered by a pending wait"))
        }

        fn interest(direction: Direction) -> (Interest, Interest) {
            match direction {
                Direction::Recv => (Interest::READABLE, RECV),
                Direction::Send => (Interest::WRITABLE, SEND),
            }
        }

        /// Runs `op` at once and waits for readiness only when it would block. A packet that
        /// arrived since the last `WouldBlock` is then taken without a round trip through the
        /// reactor (which would only learn of it at its next `epoll_wait`). The direct call
        /// bypasses tokio's cooperative budget, so the budget is spent here: a task that always
        /// finds a packet waiting still yields to the others now and then.
        pub(crate) async fn io_first<R>(
            &self,
            direction: Direction,
            mut op: impl FnMut(&Device) -> io::Result<R>,
        ) -> io::Result<R> {
            tokio::task::coop::consume_budget().await;
            match op(self.device()) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.fd.async_io(Self::interest(direction).1, op).await
                }
                result => result,
            }
        }

        /// `AsyncFd::try_io` checks the readiness of a single interest (a combined one never
        /// matches), so try the direction first and then the error readiness, which is all a
        /// deleted device reports. A `WouldBlock` clears the readiness it was tried under.
        pub(crate) fn try_io<R>(
            &self,
            direction: Direction,
            mut op: impl FnMut(&Device) -> io::Result<R>,
        ) -> io::Result<R> {
            match self.fd.try_io(Self::interest(direction).0, &mut op) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.fd.try_io(Interest::ERROR, op)
                }
                result => result,
            }
        }

        /// The poll-style [`io_first`](Self::io_first): tries `op` (through
        /// [`try_io`](Self::try_io)), and otherwise polls the direction's kept [`Wait`], which
        /// also ends on an error event.
        pub(crate) fn poll_io<R>(
            &self,
            cx: &mut Context<'_>,
            direction: Direction,
            mut op: impl FnMut(&Device) -> io::Result<R>,
        ) -> Poll<io::Result<R>> {
            let slot = match direction {
                Direction::Recv => &self.recv_wait,
                Direction::Send => &self.send_wait,
            };
            let interest = Self::interest(direction).1;
            retry(
                cx,
                |cx| {
                    let mut wait = lock(slot);
                    let pending = wait.get_or_insert_with(|| {
                        let fd = Arc::clone(&self.fd);
                        Box::pin(async move { fd.ready(interest).await.map(drop) })
                    });
                    let woken = pending.as_mut().poll(cx);
                    if woken.is_ready() {
                        // Spent: the next wait must be a fresh one.
                        *wait = None;
                    }
                    woken
                },
                || self.try_io(direction, &mut op),
            )
        }

        /// Waits until the direction may go ahead (or the device failed).
        pub(crate) async fn ready(&self, direction: Direction) -> io::Result<()> {
            self.fd.ready(Self::interest(direction).1).await.map(drop)
        }
    }
}

#[cfg(not(unix))]
mod arm {
    use std::future::poll_fn;
    use std::io;
    use std::task::{Context, Poll};

    use tun_core::Device;

    use super::{retry, Direction};

    /// The device; the core wakes the task when it may be ready.
    pub(crate) struct Io {
        device: Device,
    }

    impl Io {
        pub(crate) fn new(device: Device) -> io::Result<Io> {
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
            tokio::task::coop::consume_budget().await;
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

/// For `Debug` of the adapter's `Tun`.
impl std::fmt::Debug for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Io").field(self.device()).finish()
    }
}
