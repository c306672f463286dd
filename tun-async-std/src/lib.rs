//! # tun-async-std
//!
//! Async TUN/TAP devices for [async-std](https://docs.rs/async-std),
//! [smol](https://docs.rs/smol) and anything else built on
//! [async-io](https://docs.rs/async-io): a [`tun_core::Device`] registered with async-io's reactor
//! (through `Async` on Unix; elsewhere through the core's `poll_*_ready`). Everything about
//! devices (creating, configuring, the system calls) lives in `tun-core`; this crate only tries an
//! operation, and waits for readiness when it would block.
//! No operation goes through a blocking thread pool.
//!
//! ```no_run
//! use std::sync::Arc;
//! use tun_async_std::Tun;
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
//! async_std::task::spawn(async move { writer.send_all(b"data to be written").await });
//! let mut buf = [0u8; 1024];
//! let n = tun.recv(&mut buf).await?;
//! # Ok(()) }
//! ```
//!
//! A packet device is a datagram device: one `recv` returns one packet, one `send` writes one
//! packet, and the `AsyncRead`/`AsyncWrite` implementations keep exactly those boundaries.
//!
//! ## A deleted device
//! When the device is deleted under an open queue (`ip link del`), the kernel reports only an
//! error event (`EPOLLERR`) and every read fails (`EBADFD`). async-io's poller counts an error
//! event as both readable and writable, so a pending `recv` (or `poll_recv`, or `send`) wakes,
//! retries, and returns that error.
//!
//! ## No runtime needed to build
//! async-io's reactor is global and starts its own thread on first use, so [`Tun::builder`]'s
//! `build()` works in any thread, inside or outside an executor, and the `Tun` may then be used
//! from any async-io based executor.
#![forbid(unsafe_code)]
// Library code never panics on input or kernel answers (tests may).
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod ready;

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

// Everything of tun-core, so that no program needs both crates for a type or a constant
// (`MAX_MTU`, `PACKET_INFO_LEN`, `MAX_QUEUES`, ... where the platform has them).
pub use tun_core::*;

use crate::ready::{Direction, Io};

/// A TUN/TAP device queue for async-std, smol and other async-io based executors.
///
/// `Send + Sync`: share it between a reader and a writer task with `Arc<Tun>`. Every operation
/// takes `&self`. The device's settings (MTU, addresses, link state, ...) are on
/// [`device()`](Self::device), which uses the same queue and control socket.
pub struct Tun {
    io: Io,
}

impl fmt::Debug for Tun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Tun").field(self.io.device()).finish()
    }
}

impl FromDevice for Tun {
    /// Switches the device to non-blocking mode and registers it with async-io's reactor.
    fn from_device(device: Device) -> Result<Tun> {
        device.set_nonblocking(true)?;
        let name = device.name().to_owned();
        let io = Io::new(device).map_err(|(operation, err)| Error::new(operation, &name, err))?;
        Ok(Tun { io })
    }
}

impl Tun {
    /// The device builder (the one of `tun-core`), whose `build()` returns one `Tun` per queue.
    /// It may be called in any thread: async-io's reactor is global.
    pub fn builder() -> Builder<Tun> {
        Builder::new()
    }

    /// Wraps a device, for example one adopted with `Device::from_fd`.
    pub fn new(device: Device) -> Result<Tun> {
        Tun::from_device(device)
    }

    /// The device, for its settings: `tun.device().set_mtu(1400)`, `tun.device().addresses()`.
    /// Its blocking I/O methods would return `WouldBlock` here: use the async ones of `Tun`.
    pub fn device(&self) -> &Device {
        self.io.device()
    }

    /// Deregisters from async-io and returns the device (still in non-blocking mode).
    ///
    /// Fails only if the reactor refuses to deregister the fd; the device is then closed (async-io
    /// does not give it back).
    pub fn into_device(self) -> Result<Device> {
        let name = self.name().to_owned();
        self.io
            .into_device()
            .map_err(|err| Error::new(Operation::Deregister, &name, err))
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        self.io.device().name()
    }

    /// The interface index ([`Device::index`]; the other settings are on
    /// [`device()`](Self::device)).
    pub fn index(&self) -> Result<u32> {
        self.io.device().index()
    }

    /// The MTU ([`Device::mtu`]).
    pub fn mtu(&self) -> Result<u32> {
        self.io.device().mtu()
    }

    /// The buffer size with which [`recv`](Self::recv) never truncates a packet
    /// ([`Device::max_packet_len`]).
    pub fn max_packet_len(&self) -> Result<usize> {
        self.io.device().max_packet_len()
    }

    /// Receives one packet. See [`Device::recv`] for buffers shorter than the packet.
    ///
    /// Cancel safe: a packet is taken from the kernel only in the poll that returns it.
    /// If the device is deleted, returns the error ([`io::ErrorKind::NotFound`]) instead of
    /// waiting forever.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .io_first(Direction::Recv, |device| device.recv(buf))
            .await
    }

    /// Receives one packet scattered over `bufs`. Cancel safe, like [`recv`](Self::recv).
    pub async fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io
            .io_first(Direction::Recv, |device| device.recv_vectored(bufs))
            .await
    }

    /// Sends one packet and returns its length.
    ///
    /// Cancel safe: a packet is either written whole by the poll that returns, or not at all.
    pub async fn send(&self, packet: &[u8]) -> io::Result<usize> {
        self.io
            .io_first(Direction::Send, |device| device.send(packet))
            .await
    }

    /// Sends one packet gathered from `bufs`. Cancel safe, like [`send`](Self::send).
    pub async fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io
            .io_first(Direction::Send, |device| device.send_vectored(bufs))
            .await
    }

    /// Sends one packet, failing if the kernel took less than all of it (it never splits a
    /// packet, so this is [`send`](Self::send) with the check done). Cancel safe.
    pub async fn send_all(&self, packet: &[u8]) -> io::Result<()> {
        self.io
            .io_first(Direction::Send, |device| device.send_all(packet))
            .await
    }

    /// Sends one packet gathered from `bufs`, failing if it was not taken whole. Cancel safe.
    pub async fn send_vectored_all(&self, bufs: &[IoSlice<'_>]) -> io::Result<()> {
        self.io
            .io_first(Direction::Send, |device| device.send_vectored_all(bufs))
            .await
    }

    /// Receives one packet if one is waiting, `WouldBlock` otherwise.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Recv, |device| device.recv(buf))
    }

    /// Receives one packet into `bufs` if one is waiting, `WouldBlock` otherwise.
    pub fn try_recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Recv, |device| device.recv_vectored(bufs))
    }

    /// Sends one packet if the device is writable, `WouldBlock` otherwise.
    pub fn try_send(&self, packet: &[u8]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Send, |device| device.send(packet))
    }

    /// Sends one packet gathered from `bufs` if the device is writable, `WouldBlock` otherwise.
    pub fn try_send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Send, |device| device.send_vectored(bufs))
    }

    /// Receives packets into `batch` (cleared first) and returns how many it holds, at least
    /// one: every packet waiting, up to the batch's capacity, with super-packets of an offload
    /// device split ([`Device::recv_batch`]). Waits only when none is waiting.
    ///
    /// Cancel safe: packets are taken from the kernel only in the poll that returns them
    /// (segments of a super-packet that did not fit stay pending in the device).
    pub async fn recv_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        self.io
            .io_first(Direction::Recv, |device| device.recv_batch(batch))
            .await
    }

    /// Sends every packet of `batch`, coalesced on an offload device
    /// ([`Device::send_batch`]), and returns how many this call wrote; the batch is empty
    /// afterwards.
    ///
    /// Cancel safe and retry safe: progress is kept in the batch, so calling again after a
    /// cancelled or failed call sends only the packets not yet written, never one twice.
    pub async fn send_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        self.io
            .io_first(Direction::Send, |device| device.send_batch(batch))
            .await
    }

    /// [`recv_batch`](Self::recv_batch) if a packet is waiting, `WouldBlock` otherwise.
    pub fn try_recv_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        self.io
            .try_io(Direction::Recv, |device| device.recv_batch(batch))
    }

    /// [`send_batch`](Self::send_batch) if the device is writable, `WouldBlock` otherwise
    /// (with the progress kept in the batch).
    pub fn try_send_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        self.io
            .try_io(Direction::Send, |device| device.send_batch(batch))
    }

    /// Polls to receive packets into `batch` ([`recv_batch`](Self::recv_batch)).
    pub fn poll_recv_batch(
        &self,
        cx: &mut Context<'_>,
        batch: &mut PacketBatch,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Recv, |device| device.recv_batch(batch))
    }

    /// Polls to send every packet of `batch` ([`send_batch`](Self::send_batch)).
    pub fn poll_send_batch(
        &self,
        cx: &mut Context<'_>,
        batch: &mut PacketBatch,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Send, |device| device.send_batch(batch))
    }

    /// Waits until a packet may be waiting (or the device failed). Follow with
    /// [`try_recv`](Self::try_recv), which may still return `WouldBlock`. Cancel safe.
    ///
    /// This waits for the next readiness event from the reactor; prefer
    /// [`recv`](Self::recv), which first tries to read.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready(Direction::Recv).await
    }

    /// Waits until the device may be written. Follow with [`try_send`](Self::try_send). Cancel
    /// safe.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready(Direction::Send).await
    }

    /// Polls for one packet into `buf` (the base of `AsyncRead`). Tries to read first and waits
    /// for readiness only when no packet is waiting.
    ///
    /// Only the task of the latest call is woken. Like [`recv`](Self::recv), this wakes with the
    /// error ([`io::ErrorKind::NotFound`]) when the device is deleted.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Recv, |device| device.recv(buf))
    }

    /// Polls to receive one packet scattered over `bufs`.
    pub fn poll_recv_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Recv, |device| device.recv_vectored(bufs))
    }

    /// Polls to send one packet (the base of `AsyncWrite`). Only the task of the latest call is
    /// woken.
    pub fn poll_send(&self, cx: &mut Context<'_>, packet: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Send, |device| device.send(packet))
    }

    /// Polls to send one packet gathered from `bufs`.
    pub fn poll_send_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Send, |device| device.send_vectored(bufs))
    }
}

/// The queue's fd, where a queue is one (Unix).
#[cfg(unix)]
mod fd {
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

    use super::Tun;

    impl Tun {
        /// The queue's fd (also available through `AsRawFd`/`AsFd`). Unix.
        pub fn as_raw_fd(&self) -> RawFd {
            self.device().as_raw_fd()
        }
    }

    impl AsFd for Tun {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.device().as_fd()
        }
    }

    impl AsRawFd for Tun {
        fn as_raw_fd(&self) -> RawFd {
            self.device().as_raw_fd()
        }
    }
}

/// `AsyncRead` and `AsyncWrite` for `Tun` and `&Tun`, written once (as in `tun-tokio`): every
/// method forwards to the `poll_*` method of `Tun`, so both keep the packet boundaries (one read
/// returns exactly one packet, one write sends exactly one packet; flush and close do nothing).
macro_rules! packet_io {
    ($($tun:ty),*) => {$(
        /// One `read` returns exactly one packet (truncated to the buffer, see
        /// [`Device::recv`]).
        impl AsyncRead for $tun {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_recv(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.poll_recv_vectored(cx, bufs)
            }
        }

        /// One `write` sends exactly one packet; flush and close do nothing.
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

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
        }
    )*};
}

packet_io!(Tun, &Tun);

/// The README's code blocks (this crate's, which ships in the package), compiled as doctests so
/// they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
