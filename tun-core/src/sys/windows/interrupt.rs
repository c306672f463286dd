//! The `Interrupter`'s latch on Windows: a manual-reset event, which once set stays set, so that
//! every current and later wait on it returns at once; and the wait of `Device::recv_timeout`
//! (the session's read and shutdown events, and the latch, in one `WaitForMultipleObjects`).

use std::io;
use std::time::Duration;

use windows_sys::Win32::Foundation::WAIT_OBJECT_0;
use windows_sys::Win32::System::Threading::WaitForSingleObject;

use super::event::Event;
use super::session::Queue;
pub(crate) use super::session::Wait;

/// A latch that wakes every [`wait_readable`] watching it.
#[derive(Debug)]
pub(crate) struct Interrupt {
    event: Event,
}

impl Interrupt {
    pub(crate) fn new() -> io::Result<Interrupt> {
        Ok(Interrupt {
            event: Event::new(true)?,
        })
    }

    /// Raises the latch. Never blocks or fails.
    pub(crate) fn raise(&self) {
        self.event.set();
    }

    /// Whether [`raise`](Self::raise) was called.
    pub(crate) fn is_raised(&self) -> bool {
        // SAFETY: an open event handle; a zero timeout only reads its state (a manual-reset
        // event is not reset by a wait).
        unsafe { WaitForSingleObject(self.event.handle(), 0) == WAIT_OBJECT_0 }
    }
}

/// Waits until the queue's read event is signalled, `interrupt` is raised or `timeout` passes
/// (`None`: no limit).
pub(crate) fn wait_readable(
    queue: &Queue,
    interrupt: Option<&Interrupt>,
    timeout: Option<Duration>,
) -> io::Result<Wait> {
    queue.wait_readable(interrupt.map(|interrupt| &interrupt.event), timeout)
}
