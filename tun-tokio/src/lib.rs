//! # tun-tokio
//!
//! Async TUN/TAP devices for [tokio](https://tokio.rs): a [`tun_core::Device`] registered with
//! tokio's reactor through [`AsyncFd`]. Everything about devices (creating, configuring, the
//! system calls) lives in `tun-core`; this crate only waits for readiness and retries, the way
//! tokio's own `UdpSocket` does.
//!
//! ```no_run
//! use std::sync::Arc;
//! use tun_tokio::Tun;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let tun = Arc::new(
//!     Tun::builder()
//!         .name("")            // empty: the kernel picks the name
//!         .tap()               // TAP instead of TUN (the default)
//!         .packet_info()       // keep the packet information header (clears IFF_NO_PI)
//!         .up()                // bring the link up
//!         .build()?            // Result<Vec<Tun>>: one Tun per queue
//!         .pop()
//!         .unwrap(),
//! );
//! println!("tun created, name: {}, fd: {}", tun.name(), tun.as_raw_fd());
//! let writer = tun.clone();
//! tokio::spawn(async move { writer.send_all(b"data to be written").await });
//! let mut buf = [0u8; 1024];
//! let n = tun.recv(&mut buf).await?;
//! # Ok(()) }
//! ```
//!
//! A packet device is a datagram device: one `recv` returns one packet, one `send` writes one
//! packet, and the `AsyncRead`/`AsyncWrite` implementations keep exactly those boundaries.

#![forbid(unsafe_code)]
// Library code never panics on input or kernel answers (tests may).
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};

pub use tun_core::{
    Builder, Device, Error, ErrorKind, FromDevice, InterfaceAddress, Layer, Result,
};

/// Readiness that lets a receive go ahead. A deleted device reports only an error event
/// (`EPOLLERR`), which tokio does not count as readable: without `ERROR` a pending `recv` would
/// never wake.
const RECV: Interest = Interest::READABLE.add(Interest::ERROR);
/// Readiness that lets a send go ahead (see [`RECV`]).
const SEND: Interest = Interest::WRITABLE.add(Interest::ERROR);

/// A wait for readiness kept from one `poll_*` call to the next.
///
/// tokio's poll-style readiness (`poll_read_ready`) wakes only for readable events, and a deleted
/// device reports an error event alone, so `poll_recv` would sleep forever. Its waits are
/// therefore [`AsyncFd::ready`] futures (which take the `ERROR` interest), kept here between
/// polls. They are made only when an operation would block: a poll that finds a packet waiting
/// neither allocates nor locks.
type Wait = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

/// A TUN/TAP device queue for tokio.
///
/// `Send + Sync`: share it between a reader and a writer task with `Arc<Tun>`. Every operation
/// takes `&self`. The device's settings (MTU, addresses, link state, ...) are on
/// [`device()`](Self::device), which uses the same fd and control socket.
pub struct Tun {
    /// Shared with the pending waits, which outlive the `poll_*` call that made them.
    io: Arc<AsyncFd<Device>>,
    recv_wait: Mutex<Option<Wait>>,
    send_wait: Mutex<Option<Wait>>,
}

impl fmt::Debug for Tun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Tun").field(self.io.get_ref()).finish()
    }
}

impl FromDevice for Tun {
    /// Switches the device to non-blocking mode and registers it with the current tokio runtime;
    /// fails (without panicking) when called outside one.
    fn from_device(device: Device) -> Result<Tun> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::new(
                "register with tokio",
                device.name(),
                io::Error::other(
                    "no tokio runtime is running: call build() from inside a runtime \
                     (#[tokio::main], Runtime::block_on or Runtime::enter)",
                ),
            ));
        }
        device.set_nonblocking(true)?;
        let name = device.name().to_owned();
        // tokio deprecates the safe `AsyncFd::new` (in favour of the `unsafe fn register`) because
        // an arbitrary `T: AsRawFd` might close or swap its fd while registered. `Device` owns its
        // fd for its whole life and always returns that same fd, so the concern does not apply,
        // and this keeps the adapter free of `unsafe` and working with every tokio 1.x release.
        #[allow(deprecated)]
        let io =
            AsyncFd::new(device).map_err(|err| Error::new("register with tokio", &name, err))?;
        Ok(Tun {
            io: Arc::new(io),
            recv_wait: Mutex::new(None),
            send_wait: Mutex::new(None),
        })
    }

    fn device(&self) -> &Device {
        self.io.get_ref()
    }
}

impl Tun {
    /// The device builder (the one of `tun-core`), whose `build()` returns one `Tun` per queue.
    /// Call `build()` inside a tokio runtime.
    pub fn builder() -> Builder<Tun> {
        Builder::new()
    }

    /// Wraps a device, for example one adopted with [`Device::from_fd`]. Must be called inside a
    /// tokio runtime.
    pub fn new(device: Device) -> Result<Tun> {
        Tun::from_device(device)
    }

    /// The device, for its settings: `tun.device().set_mtu(1400)`, `tun.device().addresses()`.
    /// Its blocking I/O methods would return `WouldBlock` here: use the async ones of `Tun`.
    pub fn device(&self) -> &Device {
        self.io.get_ref()
    }

    /// Deregisters from tokio and returns the device (still in non-blocking mode).
    ///
    /// Cannot fail today (the only other holders of the registration are this `Tun`'s own pending
    /// waits, dropped first); it returns a `Result` like `tun_async_std::Tun::into_device`, whose
    /// reactor may refuse.
    pub fn into_device(self) -> Result<Device> {
        let Tun {
            io,
            recv_wait,
            send_wait,
        } = self;
        drop((recv_wait, send_wait));
        let name = io.get_ref().name().to_owned();
        Arc::try_unwrap(io).map(AsyncFd::into_inner).map_err(|_| {
            Error::new(
                "deregister from tokio",
                &name,
                io::Error::other("the device is still registered by a pending operation"),
            )
        })
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        self.io.get_ref().name()
    }

    /// The queue's fd (also available through `AsRawFd`/`AsFd`).
    pub fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }

    /// Receives one packet. See [`Device::recv`] for buffers shorter than the packet.
    ///
    /// Cancel safe: a packet is taken from the kernel only in the poll that returns it.
    /// If the device is deleted, returns the error instead of waiting forever.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io_first(RECV, |device| device.recv(buf)).await
    }

    /// Receives one packet scattered over `bufs`. Cancel safe, like [`recv`](Self::recv).
    pub async fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io_first(RECV, |device| device.recv_vectored(bufs))
            .await
    }

    /// Sends one packet and returns its length.
    ///
    /// Cancel safe: a packet is either written whole by the poll that returns, or not at all.
    pub async fn send(&self, packet: &[u8]) -> io::Result<usize> {
        self.io_first(SEND, |device| device.send(packet)).await
    }

    /// Sends one packet gathered from `bufs`. Cancel safe, like [`send`](Self::send).
    pub async fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io_first(SEND, |device| device.send_vectored(bufs))
            .await
    }

    /// Sends one packet, failing if the kernel took less than all of it (it never splits a
    /// packet, so this is [`send`](Self::send) with the check done). Cancel safe.
    pub async fn send_all(&self, packet: &[u8]) -> io::Result<()> {
        self.io_first(SEND, |device| device.send_all(packet)).await
    }

    /// Sends one packet gathered from `bufs`, failing if it was not taken whole. Cancel safe.
    pub async fn send_vectored_all(&self, bufs: &[IoSlice<'_>]) -> io::Result<()> {
        self.io_first(SEND, |device| device.send_vectored_all(bufs))
            .await
    }

    /// Receives one packet if one is waiting, `WouldBlock` otherwise.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_io(Interest::READABLE, |device| device.recv(buf))
    }

    /// Receives one packet into `bufs` if one is waiting, `WouldBlock` otherwise.
    pub fn try_recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.try_io(Interest::READABLE, |device| device.recv_vectored(bufs))
    }

    /// Sends one packet if the device is writable, `WouldBlock` otherwise.
    pub fn try_send(&self, packet: &[u8]) -> io::Result<usize> {
        self.try_io(Interest::WRITABLE, |device| device.send(packet))
    }

    /// Sends one packet gathered from `bufs` if the device is writable, `WouldBlock` otherwise.
    pub fn try_send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.try_io(Interest::WRITABLE, |device| device.send_vectored(bufs))
    }

    /// Runs `io` at once and waits for readiness only when it would block. A packet that arrived
    /// since the last `WouldBlock` is then taken without a round trip through the reactor (which
    /// would only learn of it at its next `epoll_wait`). The direct call bypasses tokio's
    /// cooperative budget, so the budget is spent here: a task that always finds a packet waiting
    /// still yields to the others now and then.
    async fn io_first<R>(
        &self,
        interest: Interest,
        mut io: impl FnMut(&Device) -> io::Result<R>,
    ) -> io::Result<R> {
        tokio::task::coop::consume_budget().await;
        match io(self.io.get_ref()) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.io.async_io(interest, io).await
            }
            result => result,
        }
    }

    /// `AsyncFd::try_io` checks the readiness of a single interest (a combined one never
    /// matches), so try the direction first and then the error readiness, which is all a deleted
    /// device reports.
    fn try_io<R>(
        &self,
        direction: Interest,
        mut io: impl FnMut(&Device) -> io::Result<R>,
    ) -> io::Result<R> {
        match self.io.try_io(direction, &mut io) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.io.try_io(Interest::ERROR, io)
            }
            result => result,
        }
    }

    /// Waits until a packet may be waiting (or the device failed). Follow with
    /// [`try_recv`](Self::try_recv), which may still return `WouldBlock`. Cancel safe.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready(RECV).await.map(|_| ())
    }

    /// Waits until the device may be written. Follow with [`try_send`](Self::try_send). Cancel
    /// safe.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready(SEND).await.map(|_| ())
    }

    /// Polls for one packet into `buf` (the base of `AsyncRead`). Tries to read first and waits
    /// for readiness only when no packet is waiting.
    ///
    /// Only the task of the latest call is woken. Like [`recv`](Self::recv), this wakes with the
    /// error ([`io::ErrorKind::NotFound`]) when the device is deleted.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        let n = ready!(self.poll_io(cx, Interest::READABLE, |device| device.recv(unfilled)))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    /// Polls to send one packet (the base of `AsyncWrite`). Only the task of the latest call is
    /// woken.
    pub fn poll_send(&self, cx: &mut Context<'_>, packet: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_io(cx, Interest::WRITABLE, |device| device.send(packet))
    }

    /// Polls to send one packet gathered from `bufs`.
    pub fn poll_send_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(cx, Interest::WRITABLE, |device| device.send_vectored(bufs))
    }

    /// Polls to receive one packet scattered over `bufs`.
    pub fn poll_recv_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(cx, Interest::READABLE, |device| device.recv_vectored(bufs))
    }

    /// The poll-style [`io_first`](Self::io_first): tries `op` (through [`try_io`](Self::try_io),
    /// which clears a stale readiness on `WouldBlock`), and otherwise polls the direction's kept
    /// [`Wait`], which also ends on an error event.
    fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Interest,
        mut op: impl FnMut(&Device) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let (slot, interest) = if direction.is_readable() {
            (&self.recv_wait, RECV)
        } else {
            (&self.send_wait, SEND)
        };
        loop {
            match self.try_io(direction, &mut op) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                result => return Poll::Ready(result),
            }
            let mut wait = lock(slot);
            let pending = wait.get_or_insert_with(|| {
                let io = Arc::clone(&self.io);
                Box::pin(async move { io.ready(interest).await.map(drop) })
            });
            let woken = ready!(pending.as_mut().poll(cx));
            // Spent: the next wait must be a fresh one.
            *wait = None;
            woken?;
        }
    }
}

fn lock(wait: &Mutex<Option<Wait>>) -> MutexGuard<'_, Option<Wait>> {
    // A panic while the lock was held leaves at worst a spent wait, which is harmless.
    wait.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AsFd for Tun {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for Tun {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

/// `AsyncRead` and `AsyncWrite` for `Tun` and `&Tun`, written once: every method forwards to
/// the `poll_*` method of `Tun`, so both keep the packet boundaries (one read returns exactly
/// one packet, one write sends exactly one packet; flush and shutdown do nothing).
macro_rules! packet_io {
    ($($tun:ty),*) => {$(
        /// One `read` returns exactly one packet.
        impl AsyncRead for $tun {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                self.poll_recv(cx, buf)
            }
        }

        /// One `write` sends exactly one packet; flush and shutdown do nothing.
        impl AsyncWrite for $tun {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                packet: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_send(cx, packet)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.poll_send_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
        }
    )*};
}

packet_io!(Tun, &Tun);

/// The README's code blocks, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
