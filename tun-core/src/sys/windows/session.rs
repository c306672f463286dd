//! A Wintun session (its two rings) as the device's one queue: `recv` takes a packet out of the
//! receive ring, copies it and releases it; `send` allocates in the send ring, copies and sends.
//! No system call per packet: the rings are shared memory, and the driver is signalled only
//! when it sleeps.
//!
//! Blocking: `recv` waits on the session's read event and on a shutdown event that dropping
//! the queue sets. Wintun has no "ring has room" signal, so a full send ring is `WouldBlock` in
//! non-blocking mode and, in blocking mode, a retry after yielding the thread (never a sleep:
//! Windows rounds sleeps up to its ~15 ms timer tick). The async adapters run in non-blocking
//! mode; their `send` retries through `poll_send_ready`, which yields to the runtime once after
//! a full ring instead of spinning inside one poll.

use std::io::{self, IoSlice, IoSliceMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use windows_sys::Win32::Foundation::{GetLastError, HANDLE, WAIT_OBJECT_0, WAIT_TIMEOUT};
use windows_sys::Win32::System::Threading::{WaitForMultipleObjects, INFINITE};

use super::adapter::Adapter;
use super::dll::{SessionHandle, Wintun};
use super::errors::{ERROR_BUFFER_OVERFLOW, ERROR_HANDLE_EOF, ERROR_NO_MORE_ITEMS};
use super::event::Event;
use super::ready::ReadReady;
use crate::batch::{self, PacketBatch};
use crate::config::Layer;

/// `WINTUN_MAX_IP_PACKET_SIZE`.
const MAX_PACKET_LEN: usize = 0xffff;
/// The most buffers one vectored call takes, as on the Unix platforms (`IOV_MAX`).
const MAX_BUFFERS: usize = 1024;

/// A running session, ended on drop.
#[derive(Debug)]
struct Session {
    dll: &'static Wintun,
    handle: SessionHandle,
    /// Owned by the session: never closed here.
    read_event: HANDLE,
    /// Set when the queue is dropped, before the session ends.
    shutdown: Event,
    /// Kept open while the session runs (and removed after it, if this build created it).
    _adapter: Arc<Adapter>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shutdown.set();
        // SAFETY: the session is running and ended only here; its read event is not used
        // after this (the queue's `ReadReady` is dropped first).
        unsafe { (self.dll.end_session)(self.handle) };
    }
}

/// The device's one queue.
#[derive(Debug)]
pub(crate) struct Queue {
    /// Declared first: its thread-pool wait on the read event is unregistered before the
    /// session (which owns the event) ends.
    ready: ReadReady,
    session: Session,
    nonblocking: AtomicBool,
    /// The last non-blocking send found the ring full: the next `poll_send_ready` yields once.
    ring_full: AtomicBool,
}

// SAFETY: every Wintun session function is thread-safe ("This function is thread-safe",
// wintun.h), and the handles are only passed to them.
unsafe impl Send for Queue {}
// SAFETY: as above.
unsafe impl Sync for Queue {}

/// What a wait for a packet ended with.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    Readable,
    Interrupted,
    Elapsed,
}

fn terminating() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        "the Wintun adapter is terminating (removed, or its session ended)",
    )
}

fn last_error() -> i32 {
    // SAFETY: reads the calling thread's last-error value.
    unsafe { GetLastError() as i32 }
}

impl Queue {
    /// `WintunStartSession` on `adapter` with rings of `capacity` bytes.
    pub(crate) fn start(
        adapter: Arc<Adapter>,
        capacity: u32,
        nonblocking: bool,
    ) -> io::Result<Queue> {
        let dll = adapter.dll();
        let shutdown = Event::new(true)?;
        // SAFETY: an open adapter handle; the capacity was checked (`ring.rs`).
        let handle = unsafe { (dll.start_session)(adapter.handle(), capacity) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a running session.
        let read_event = unsafe { (dll.get_read_wait_event)(handle) };
        let session = Session {
            dll,
            handle,
            read_event,
            shutdown,
            _adapter: adapter,
        };
        Ok(Queue {
            // SAFETY: the read event stays open while the session runs, which is longer than
            // `ready` lives (field order).
            ready: unsafe { ReadReady::new(read_event) },
            session,
            nonblocking: AtomicBool::new(nonblocking),
            ring_full: AtomicBool::new(false),
        })
    }

    pub(crate) fn layer(&self) -> Layer {
        Layer::Tun
    }

    pub(crate) fn has_packet_info(&self) -> bool {
        false
    }

    /// Wintun's packets are bare IP packets: nothing beyond the MTU.
    pub(crate) fn frame_overhead(&self) -> usize {
        0
    }

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    /// Takes one packet out of the ring, if there is one, through `copy` (which returns how
    /// many bytes it kept).
    fn take(&self, copy: impl FnOnce(&[u8]) -> usize) -> io::Result<Option<usize>> {
        let Session { dll, handle, .. } = self.session;
        let mut len = 0u32;
        // SAFETY: a running session and a valid out pointer.
        let packet = unsafe { (dll.receive_packet)(handle, &mut len) };
        if packet.is_null() {
            return match last_error() {
                ERROR_NO_MORE_ITEMS => Ok(None),
                ERROR_HANDLE_EOF => Err(terminating()),
                code => Err(io::Error::from_raw_os_error(code)),
            };
        }
        // SAFETY: Wintun returned `len` readable bytes at `packet`, ours until released.
        let bytes = unsafe { std::slice::from_raw_parts(packet, len as usize) };
        let kept = copy(bytes);
        // SAFETY: the packet came from this session's `receive_packet` and is released once.
        unsafe { (dll.release_receive_packet)(handle, packet) };
        Ok(Some(kept))
    }

    /// Waits for the read event or the shutdown event (or `interrupt`), at most `timeout`.
    pub(crate) fn wait_readable(
        &self,
        interrupt: Option<&Event>,
        timeout: Option<Duration>,
    ) -> io::Result<Wait> {
        let handles = [
            self.session.read_event,
            self.session.shutdown.handle(),
            interrupt.map_or(std::ptr::null_mut(), Event::handle),
        ];
        let count = if interrupt.is_some() { 3 } else { 2 };
        let millis = match timeout {
            // Rounded up, so that a short timeout does not become a busy loop.
            Some(timeout) => u32::try_from(timeout.as_nanos().div_ceil(1_000_000))
                .unwrap_or(INFINITE - 1)
                .min(INFINITE - 1),
            None => INFINITE,
        };
        // SAFETY: the first `count` handles are open, and none is closed during the wait (the
        // session and the interrupt outlive this call).
        let woken = unsafe { WaitForMultipleObjects(count, handles.as_ptr(), 0, millis) };
        match woken {
            WAIT_OBJECT_0 => Ok(Wait::Readable),
            WAIT_TIMEOUT => Ok(Wait::Elapsed),
            _ if woken == WAIT_OBJECT_0 + 1 => Err(terminating()),
            _ if woken == WAIT_OBJECT_0 + 2 => Ok(Wait::Interrupted),
            _ => Err(io::Error::last_os_error()),
        }
    }

    /// Takes a packet through `copy`, waiting for one in blocking mode.
    fn recv_with(&self, mut copy: impl FnMut(&[u8]) -> usize) -> io::Result<usize> {
        loop {
            if let Some(len) = self.take(&mut copy)? {
                return Ok(len);
            }
            if self.nonblocking.load(Ordering::Relaxed) {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.wait_readable(None, None)?;
        }
    }

    /// One packet into `buf`, truncated to its length (the rest is dropped, as on Linux).
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_with(|packet| copy_into(packet, buf))
    }

    /// A waiting packet, or `WouldBlock`, in blocking mode too (for `Device::recv_timeout`).
    pub(crate) fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self.take(|packet| copy_into(packet, buf))? {
            Some(len) => Ok(len),
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    pub(crate) fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        check_buffers(bufs.len())?;
        self.recv_with(|packet| scatter(packet, bufs))
    }

    /// Fills a batch: the first packet as `recv` takes it (waiting in blocking mode), then every
    /// packet already waiting in the ring, which costs no system call and never waits.
    pub(crate) fn recv_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        let mut first = true;
        batch::recv_each(batch, true, |tail, spill| {
            let mut bufs = [IoSliceMut::new(tail), IoSliceMut::new(spill)];
            if std::mem::take(&mut first) {
                return self.recv_with(|packet| scatter(packet, &mut bufs));
            }
            match self.take(|packet| scatter(packet, &mut bufs))? {
                Some(len) => Ok(len),
                None => Err(io::ErrorKind::WouldBlock.into()),
            }
        })
    }

    /// One packet per ring slot, in order.
    pub(crate) fn send_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        batch::send_each(batch, |packet| self.send(packet))
    }

    /// Allocates `len` bytes in the send ring, fills them with `fill` and sends them.
    fn send_with(&self, len: usize, fill: impl FnOnce(&mut [u8])) -> io::Result<usize> {
        if len > MAX_PACKET_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a packet of {len} bytes: Wintun takes at most {MAX_PACKET_LEN}"),
            ));
        }
        let Session { dll, handle, .. } = self.session;
        let slot = loop {
            // SAFETY: a running session; `len` fits a u32 (checked above).
            let slot = unsafe { (dll.allocate_send_packet)(handle, len as u32) };
            if !slot.is_null() {
                break slot;
            }
            match last_error() {
                ERROR_BUFFER_OVERFLOW if self.nonblocking.load(Ordering::Relaxed) => {
                    self.ring_full.store(true, Ordering::Relaxed);
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                // The driver drains the ring continuously: let it run, then try again.
                ERROR_BUFFER_OVERFLOW => std::thread::yield_now(),
                ERROR_HANDLE_EOF => return Err(terminating()),
                code => return Err(io::Error::from_raw_os_error(code)),
            }
        };
        // SAFETY: Wintun allocated `len` writable bytes at `slot`, ours until sent.
        fill(unsafe { std::slice::from_raw_parts_mut(slot, len) });
        // SAFETY: the slot came from this session's `allocate_send_packet` and is sent once.
        unsafe { (dll.send_packet)(handle, slot) };
        Ok(len)
    }

    pub(crate) fn send(&self, packet: &[u8]) -> io::Result<usize> {
        self.send_with(packet.len(), |slot| slot.copy_from_slice(packet))
    }

    pub(crate) fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        check_buffers(bufs.len())?;
        let len = bufs.iter().map(|buf| buf.len()).sum();
        self.send_with(len, |slot| gather(bufs, slot))
    }

    /// Ready when the read event was signalled since the last time; see `ready.rs`.
    pub(crate) fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ready.poll(cx)
    }

    /// Always ready (Wintun has no signal for room in the send ring), except right after a
    /// send found the ring full: then the task is woken at once and yields to the runtime, so
    /// that retrying does not spin inside one poll while the driver drains the ring.
    pub(crate) fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.ring_full.swap(false, Ordering::Relaxed) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(Ok(()))
    }
}

/// Copies what fits of `packet` into `buf`; returns how much.
fn copy_into(packet: &[u8], buf: &mut [u8]) -> usize {
    let len = packet.len().min(buf.len());
    if let (Some(to), Some(from)) = (buf.get_mut(..len), packet.get(..len)) {
        to.copy_from_slice(from);
    }
    len
}

fn check_buffers(count: usize) -> io::Result<()> {
    if count > MAX_BUFFERS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("one packet in {count} buffers: at most {MAX_BUFFERS} are taken in one call"),
        ));
    }
    Ok(())
}

/// Copies `packet` over `bufs` in order; returns the bytes copied (less than the packet's
/// length if the buffers are smaller: the rest is dropped).
fn scatter(packet: &[u8], bufs: &mut [IoSliceMut<'_>]) -> usize {
    let mut rest = packet;
    for buf in bufs.iter_mut() {
        let len = rest.len().min(buf.len());
        let (now, later) = rest.split_at(len);
        if let Some(to) = buf.get_mut(..len) {
            to.copy_from_slice(now);
        }
        rest = later;
    }
    packet.len() - rest.len()
}

/// Copies `bufs` one after another into `slot`, which has their total length.
fn gather(bufs: &[IoSlice<'_>], slot: &mut [u8]) {
    let mut rest = slot;
    for buf in bufs {
        let taken = std::mem::take(&mut rest);
        let len = buf.len().min(taken.len());
        let (now, later) = taken.split_at_mut(len);
        now.copy_from_slice(buf.get(..len).unwrap_or_default());
        rest = later;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scatter_and_gather_keep_the_byte_order() {
        let packet: Vec<u8> = (0..10).collect();
        let (mut a, mut b) = ([0u8; 3], [0u8; 4]);
        let mut bufs = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
        assert_eq!(scatter(&packet, &mut bufs), 7, "truncated to the buffers");
        assert_eq!((a, b), ([0, 1, 2], [3, 4, 5, 6]));
        let mut slot = [0u8; 7];
        gather(&[IoSlice::new(&a), IoSlice::new(&b)], &mut slot);
        assert_eq!(slot, [0, 1, 2, 3, 4, 5, 6]);
        assert!(check_buffers(MAX_BUFFERS).is_ok());
        assert!(check_buffers(MAX_BUFFERS + 1).is_err());
    }
}
