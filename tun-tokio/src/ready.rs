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
    use std::sync::atomic::{AtomicU32, Ordering};
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

    /// Operations in a row that found the device ready after which the reactor registration is
    /// given up (when no task is waiting on it).
    ///
    /// Why: tokio registers an fd edge-triggered, and a TUN queue raises an edge for every packet
    /// it queues. While one task keeps draining a busy queue those edges are of use to nobody,
    /// and on a multi-thread runtime they are not free: the cooperative yield of that task (the
    /// budget in [`Io::io_first`]) makes its worker search for work and, finding the task again,
    /// wake an idle worker, which then parks in `epoll_wait` and is woken by every packet of the
    /// queue the busy task drains. In a 64-byte flood that was 0.13 context switches and 0.12
    /// `epoll_wait` calls per packet and a third more CPU per packet than plain `read`/`write`
    /// (docs/performance.md). Without the registration the queue wakes nobody; the idle worker
    /// still polls the reactor for everything else. The registration is made again (`epoll_ctl`
    /// ADD, which reports a packet already queued, so none is missed) the next time an operation
    /// would block: two `epoll_ctl` calls per streak of at least this many packets. Smaller
    /// means less storm before the registration goes and more re-registrations in bursty
    /// traffic; 32 to 256 measured the same in the flood.
    const BUSY_STREAK: u32 = 128;

    /// The registration with tokio's reactor. It holds the device through an `Arc`, so the fd it
    /// registered stays open for as long as the registration lives.
    type Registration = Arc<AsyncFd<Arc<Device>>>;

    /// A wait for readiness kept from one `poll_*` call to the next.
    ///
    /// tokio's poll-style readiness (`poll_read_ready`) wakes only for readable events, and a
    /// deleted device reports an error event alone, so `poll_recv` would sleep forever. Its waits
    /// are therefore [`AsyncFd::ready`] futures (which take the `ERROR` interest), kept here
    /// between polls. They are made only when an operation would block: a poll that finds a
    /// packet waiting neither allocates nor locks.
    type Wait = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    /// The device, registered with tokio's reactor while some task may have to wait for it.
    pub(crate) struct Io {
        /// `None` while the device is not registered: until the first operation that would
        /// block, and after a busy streak (see [`BUSY_STREAK`]). Every clone is made under this
        /// lock, so a count of one under it means nobody else holds or waits on it.
        registration: Mutex<Option<Registration>>,
        recv_wait: Mutex<Option<Wait>>,
        send_wait: Mutex<Option<Wait>>,
        /// Operations since the last one that would have blocked.
        streak: AtomicU32,
        /// The runtime the device was registered with: registered again there, whichever
        /// thread or executor polls (outside a runtime tokio would panic).
        runtime: tokio::runtime::Handle,
        /// Declared last, so dropped after the registrations above.
        device: Arc<Device>,
    }

    fn lock<T>(slot: &Mutex<T>) -> MutexGuard<'_, T> {
        // A panic while the lock was held leaves at worst a spent wait or a registration that
        // is still valid, both harmless.
        slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    impl Io {
        pub(crate) fn new(device: Device) -> io::Result<Io> {
            let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
            let io = Io {
                runtime,
                registration: Mutex::new(None),
                recv_wait: Mutex::new(None),
                send_wait: Mutex::new(None),
                streak: AtomicU32::new(0),
                device: Arc::new(device),
            };
            // Registered at once, so that a device tokio cannot register fails here (and
            // `from_device` reports it) rather than at the first wait.
            io.registration()?;
            Ok(io)
        }

        pub(crate) fn device(&self) -> &Device {
            &self.device
        }

        /// Deregisters and gives the device back. Cannot fail in practice: the only other
        /// holders of the device are this `Io`'s registration and waits, dropped first.
        pub(crate) fn into_device(self) -> io::Result<Device> {
            let Io {
                registration,
                recv_wait,
                send_wait,
                device,
                ..
            } = self;
            drop((recv_wait, send_wait, registration));
            Arc::try_unwrap(device)
                .map_err(|_| io::Error::other("the device is still registered by a pending wait"))
        }

        /// The registration, made if there is none.
        fn registration(&self) -> io::Result<Registration> {
            let mut slot = lock(&self.registration);
            if let Some(registration) = &*slot {
                return Ok(Arc::clone(registration));
            }
            // tokio deprecates the safe `AsyncFd::new` (in favour of the `unsafe fn register`)
            // because an arbitrary `T: AsRawFd` might close or swap its fd while registered.
            // `Device` owns its fd for its whole life and always returns that same fd, and the
            // `Arc` keeps the device alive as long as the registration, so the concern does not
            // apply, and this keeps the adapter free of `unsafe`.
            let _entered = self.runtime.enter();
            #[allow(deprecated)]
            let registration = Arc::new(AsyncFd::new(Arc::clone(&self.device))?);
            *slot = Some(Arc::clone(&registration));
            Ok(registration)
        }

        /// Counts an operation that did not have to wait; after [`BUSY_STREAK`] of them, gives
        /// up the registration if nobody holds it (tried again every `BUSY_STREAK`).
        fn went_ahead(&self) {
            let streak = self.streak.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            if streak % BUSY_STREAK == 0 {
                let mut slot = lock(&self.registration);
                if slot.as_ref().is_some_and(|r| Arc::strong_count(r) == 1) {
                    // Dropped under the lock: the fd leaves epoll before anyone can register
                    // it again.
                    drop(slot.take());
                }
            }
        }

        /// Records that an operation would block (a streak ends).
        fn would_block(&self) {
            self.streak.store(0, Ordering::Relaxed);
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
            match op(&self.device) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.would_block();
                    let registration = self.registration()?;
                    registration
                        .async_io(Self::interest(direction).1, |device| op(device))
                        .await
                }
                result => {
                    if result.is_ok() {
                        self.went_ahead();
                    }
                    result
                }
            }
        }

        /// `AsyncFd::try_io` checks the readiness of a single interest (a combined one never
        /// matches), so try the direction first and then the error readiness, which is all a
        /// deleted device reports. A `WouldBlock` clears the readiness it was tried under.
        /// Without a registration (a busy streak) there is no readiness to consult: try `op`.
        pub(crate) fn try_io<R>(
            &self,
            direction: Direction,
            mut op: impl FnMut(&Device) -> io::Result<R>,
        ) -> io::Result<R> {
            let registration = lock(&self.registration).as_ref().map(Arc::clone);
            let Some(registration) = registration else {
                return op(&self.device);
            };
            match registration.try_io(Self::interest(direction).0, |device| op(device)) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    registration.try_io(Interest::ERROR, |device| op(device))
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
                    let mut pending = match wait.take() {
                        Some(pending) => pending,
                        None => {
                            let registration = self.registration()?;
                            Box::pin(async move { registration.ready(interest).await.map(drop) })
                        }
                    };
                    let woken = pending.as_mut().poll(cx);
                    if woken.is_pending() {
                        // Kept for the next poll; once ready it is spent and dropped here.
                        *wait = Some(pending);
                    }
                    woken
                },
                || {
                    let result = self.try_io(direction, &mut op);
                    match &result {
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => self.would_block(),
                        Ok(_) => self.went_ahead(),
                        Err(_) => {}
                    }
                    result
                },
            )
        }

        /// Waits until the direction may go ahead (or the device failed).
        pub(crate) async fn ready(&self, direction: Direction) -> io::Result<()> {
            let registration = self.registration()?;
            registration
                .ready(Self::interest(direction).1)
                .await
                .map(drop)
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
