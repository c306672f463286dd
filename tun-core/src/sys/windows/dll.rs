//! `wintun.dll`, loaded at run time, once per process, and its entry points.
//!
//! Searched only in the application's directory and System32 (`LoadLibraryExW` with
//! `LOAD_LIBRARY_SEARCH_APPLICATION_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32`), never in the current
//! directory or `PATH`, where anyone who can write a file could plant a DLL; or from the path the
//! builder gives. The DLL is not embedded: its licence allows redistribution only alongside
//! software that uses it, which is the application's decision.
//!
//! Every signature below is `wintun.h`'s (Wintun 0.14: the API without pools). The library is
//! never unloaded: the entry points live as long as the process, so every handle can hold them
//! as `&'static`.

use std::ffi::c_void;
use std::io;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use windows_sys::core::{GUID, PCSTR, PCWSTR};
use windows_sys::Win32::Foundation::{FreeLibrary, HANDLE, HMODULE};
use windows_sys::Win32::NetworkManagement::Ndis::NET_LUID_LH;
use windows_sys::Win32::System::LibraryLoader::{
    GetProcAddress, LoadLibraryExW, LOAD_LIBRARY_SEARCH_APPLICATION_DIR,
    LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR, LOAD_LIBRARY_SEARCH_SYSTEM32,
};

use super::errors::ERROR_PROC_NOT_FOUND;
use super::name::wide;

/// `WINTUN_ADAPTER_HANDLE`.
pub(crate) type AdapterHandle = *mut c_void;
/// `WINTUN_SESSION_HANDLE`.
pub(crate) type SessionHandle = *mut c_void;

/// The entry points this crate uses, resolved once.
#[derive(Debug)]
pub(crate) struct Wintun {
    /// `WintunCreateAdapter(Name, TunnelType, RequestedGUID)`: NULL and `GetLastError` on failure.
    pub(crate) create_adapter:
        unsafe extern "system" fn(PCWSTR, PCWSTR, *const GUID) -> AdapterHandle,
    /// `WintunOpenAdapter(Name)`: NULL and `GetLastError` on failure.
    pub(crate) open_adapter: unsafe extern "system" fn(PCWSTR) -> AdapterHandle,
    /// `WintunCloseAdapter(Adapter)`: releases, and removes an adapter it created.
    pub(crate) close_adapter: unsafe extern "system" fn(AdapterHandle),
    /// `WintunGetAdapterLUID(Adapter, *Luid)`.
    pub(crate) get_adapter_luid: unsafe extern "system" fn(AdapterHandle, *mut NET_LUID_LH),
    /// `WintunStartSession(Adapter, Capacity)`: NULL and `GetLastError` on failure.
    pub(crate) start_session: unsafe extern "system" fn(AdapterHandle, u32) -> SessionHandle,
    /// `WintunEndSession(Session)`.
    pub(crate) end_session: unsafe extern "system" fn(SessionHandle),
    /// `WintunGetReadWaitEvent(Session)`: owned by the session, never closed by the caller.
    pub(crate) get_read_wait_event: unsafe extern "system" fn(SessionHandle) -> HANDLE,
    /// `WintunReceivePacket(Session, *PacketSize)`: a pointer into the ring, or NULL and
    /// `ERROR_NO_MORE_ITEMS` (empty), `ERROR_HANDLE_EOF` (terminating), `ERROR_INVALID_DATA`.
    pub(crate) receive_packet: unsafe extern "system" fn(SessionHandle, *mut u32) -> *mut u8,
    /// `WintunReleaseReceivePacket(Session, Packet)`.
    pub(crate) release_receive_packet: unsafe extern "system" fn(SessionHandle, *const u8),
    /// `WintunAllocateSendPacket(Session, PacketSize)`: a pointer into the ring, or NULL and
    /// `ERROR_BUFFER_OVERFLOW` (full) or `ERROR_HANDLE_EOF` (terminating).
    pub(crate) allocate_send_packet: unsafe extern "system" fn(SessionHandle, u32) -> *mut u8,
    /// `WintunSendPacket(Session, Packet)`.
    pub(crate) send_packet: unsafe extern "system" fn(SessionHandle, *const u8),
}

/// The loaded library. A failed load is not remembered: the user may install the DLL and
/// build again.
static LOADED: Mutex<Option<&'static Wintun>> = Mutex::new(None);

/// The entry points, loading the DLL on first use (from `path` if given).
pub(crate) fn load(path: Option<&Path>) -> io::Result<&'static Wintun> {
    let mut loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(wintun) = *loaded {
        return Ok(wintun);
    }
    let module = load_library(path)?;
    match resolve(module) {
        Ok(wintun) => {
            let wintun: &'static Wintun = Box::leak(Box::new(wintun));
            *loaded = Some(wintun);
            Ok(wintun)
        }
        Err(err) => {
            // SAFETY: `module` was loaded above and none of its functions is referenced.
            unsafe { FreeLibrary(module) };
            Err(err)
        }
    }
}

fn load_library(path: Option<&Path>) -> io::Result<HMODULE> {
    let (file, flags) = match path {
        // The DLL's own directory (for its dependencies) and System32. The flag needs an
        // absolute path.
        Some(path) => (
            std::path::absolute(path)?,
            LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32,
        ),
        None => (
            "wintun.dll".into(),
            LOAD_LIBRARY_SEARCH_APPLICATION_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32,
        ),
    };
    let file = file.to_str().map(wide).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path of wintun.dll is not valid Unicode",
        )
    })?;
    // SAFETY: `file` is a NUL-terminated UTF-16 string alive for the call; the reserved handle
    // is null as required.
    let module = unsafe { LoadLibraryExW(file.as_ptr(), std::ptr::null_mut(), flags) };
    if module.is_null() {
        return Err(io::Error::last_os_error());
    }
    Ok(module)
}

/// `GetProcAddress` for one entry point, as the function type `T` its header declares.
///
/// # Safety
/// `T` must be the `extern "system" fn` type of the export `name` (NUL-terminated).
unsafe fn entry<T>(module: HMODULE, name: &'static [u8]) -> io::Result<T> {
    // SAFETY: `module` is a loaded module and `name` a NUL-terminated ASCII string.
    let address = unsafe { GetProcAddress(module, name.as_ptr() as PCSTR) };
    match address {
        // SAFETY: the caller promises that `T` is this export's function pointer type, which
        // has the size of the `FARPROC` it is read from.
        Some(function) => Ok(unsafe { std::mem::transmute_copy(&function) }),
        None => Err(io::Error::from_raw_os_error(ERROR_PROC_NOT_FOUND)),
    }
}

fn resolve(module: HMODULE) -> io::Result<Wintun> {
    const _: () = assert!(size_of::<unsafe extern "system" fn()>() == size_of::<usize>());
    // SAFETY: each type is the one `wintun.h` declares for that export (see the fields' docs).
    unsafe {
        Ok(Wintun {
            create_adapter: entry(module, b"WintunCreateAdapter\0")?,
            open_adapter: entry(module, b"WintunOpenAdapter\0")?,
            close_adapter: entry(module, b"WintunCloseAdapter\0")?,
            get_adapter_luid: entry(module, b"WintunGetAdapterLUID\0")?,
            start_session: entry(module, b"WintunStartSession\0")?,
            end_session: entry(module, b"WintunEndSession\0")?,
            get_read_wait_event: entry(module, b"WintunGetReadWaitEvent\0")?,
            receive_packet: entry(module, b"WintunReceivePacket\0")?,
            release_receive_packet: entry(module, b"WintunReleaseReceivePacket\0")?,
            allocate_send_packet: entry(module, b"WintunAllocateSendPacket\0")?,
            send_packet: entry(module, b"WintunSendPacket\0")?,
        })
    }
}
