//! A Wintun adapter handle: created or opened by name, closed on drop (which removes an adapter
//! that this handle created).
//!
//! What happens to an adapter of the same name left by a crashed process: Wintun creates its
//! adapters as software devices tied to the creating process, so Windows takes them out of
//! service when it dies, and Wintun removes such orphaned devices at the next create or close of
//! any adapter. If an adapter of the name is still present and is a Wintun adapter, the build
//! opens it (see `mod.rs`); Wintun itself would rename a live namesake to `<name> 1` when
//! creating, which is why the build never creates over a present interface of the same name.

use std::io;
use std::ptr::NonNull;

use windows_sys::core::GUID;
use windows_sys::Win32::NetworkManagement::Ndis::NET_LUID_LH;

use super::dll::{AdapterHandle, Wintun};
use super::name::wide;

/// An open adapter.
#[derive(Debug)]
pub(crate) struct Adapter {
    dll: &'static Wintun,
    handle: NonNull<std::ffi::c_void>,
}

// SAFETY: Wintun's adapter functions may be called from any thread.
unsafe impl Send for Adapter {}
// SAFETY: as above; the handle is only read.
unsafe impl Sync for Adapter {}

fn checked(handle: AdapterHandle) -> io::Result<NonNull<std::ffi::c_void>> {
    NonNull::new(handle).ok_or_else(io::Error::last_os_error)
}

impl Adapter {
    /// `WintunCreateAdapter`: a new adapter named `name`, with `guid` (text-order `u128`).
    pub(crate) fn create(
        dll: &'static Wintun,
        name: &str,
        tunnel_type: &str,
        guid: u128,
    ) -> io::Result<Adapter> {
        let guid = GUID::from_u128(guid);
        let (name, tunnel_type) = (wide(name), wide(tunnel_type));
        // SAFETY: two NUL-terminated UTF-16 strings and a GUID, alive for the call.
        let handle = unsafe { (dll.create_adapter)(name.as_ptr(), tunnel_type.as_ptr(), &guid) };
        Ok(Adapter {
            dll,
            handle: checked(handle)?,
        })
    }

    /// `WintunOpenAdapter`: the existing Wintun adapter named `name`.
    pub(crate) fn open(dll: &'static Wintun, name: &str) -> io::Result<Adapter> {
        let name = wide(name);
        // SAFETY: a NUL-terminated UTF-16 string alive for the call.
        let handle = unsafe { (dll.open_adapter)(name.as_ptr()) };
        Ok(Adapter {
            dll,
            handle: checked(handle)?,
        })
    }

    pub(crate) fn dll(&self) -> &'static Wintun {
        self.dll
    }

    pub(crate) fn handle(&self) -> AdapterHandle {
        self.handle.as_ptr()
    }

    /// The adapter's LUID, the key of every IP Helper call.
    pub(crate) fn luid(&self) -> u64 {
        let mut luid = NET_LUID_LH { Value: 0 };
        // SAFETY: an open adapter handle and a valid out pointer.
        unsafe { (self.dll.get_adapter_luid)(self.handle(), &mut luid) };
        // SAFETY: every member of the union is a 64-bit value.
        unsafe { luid.Value }
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        // SAFETY: the handle is open and closed only here.
        unsafe { (self.dll.close_adapter)(self.handle()) };
    }
}
