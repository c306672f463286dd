//! An owned Win32 event: the shutdown signal of a session, and what the tests signal.

use std::io;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::Threading::{CreateEventW, SetEvent};

/// A manual-reset or auto-reset event, closed on drop.
#[derive(Debug)]
pub(crate) struct Event(HANDLE);

// SAFETY: an event handle may be used and closed from any thread.
unsafe impl Send for Event {}
// SAFETY: SetEvent, ResetEvent and waits are thread-safe.
unsafe impl Sync for Event {}

impl Event {
    /// A new, unsignalled, unnamed event.
    pub(crate) fn new(manual_reset: bool) -> io::Result<Event> {
        // SAFETY: default security, no name: plain arguments only.
        let handle = unsafe {
            CreateEventW(
                std::ptr::null(),
                i32::from(manual_reset),
                0,
                std::ptr::null(),
            )
        };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(Event(handle))
    }

    pub(crate) fn handle(&self) -> HANDLE {
        self.0
    }

    /// Signals the event. Cannot fail on an open event handle.
    pub(crate) fn set(&self) {
        // SAFETY: `self.0` is an open event handle.
        unsafe { SetEvent(self.0) };
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: the handle is open and owned by this value alone.
        unsafe { CloseHandle(self.0) };
    }
}
