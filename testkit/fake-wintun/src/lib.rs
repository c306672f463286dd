//! A stand-in for `wintun.dll` with the same exports and signatures (`wintun.h`, Wintun 0.14),
//! for tests only: Wine runs real Win32 but has no Wintun driver, so without it no `Device`
//! could exist there. It is a loopback adapter in memory: every packet sent into a session's
//! send ring comes back out of its receive ring, and the read event is signalled when it does.
//!
//! What it models of Wintun: NULL plus `SetLastError` on failure (`ERROR_NO_MORE_ITEMS` for an
//! empty ring, `ERROR_BUFFER_OVERFLOW` for a full one, `ERROR_FILE_NOT_FOUND` for an unknown
//! adapter name); a ring of the session's capacity that fills up while nobody reads (a
//! packet's bytes stay counted until its receive is released); an auto-reset read event.
//! What it does not: a network stack (packets go nowhere else), the driver, adapter GUIDs and
//! renaming, the ring layout. What tun-core does with real Wintun is verified only on Windows.
//!
//! A test ends a session as if its adapter were removed by sending `TERMINATE`: from then
//! on the session answers `ERROR_HANDLE_EOF`, and its read event is signalled so that a blocked
//! reader sees it (tests have no other way in: they use only tun-core's safe API).
#![cfg(windows)]
// Test support, not the library: its exports are raw C ABI by nature, documented by wintun.h.
#![allow(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![allow(clippy::missing_safety_doc, missing_docs)]

/// The packet that ends the session it is sent into.
pub const TERMINATE: &[u8] = b"FAKE-WINTUN-TERMINATE";

use std::collections::{HashMap, VecDeque};
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use windows_sys::Win32::Foundation::{
    CloseHandle, SetLastError, ERROR_BUFFER_OVERFLOW, ERROR_FILE_NOT_FOUND, ERROR_HANDLE_EOF,
    ERROR_INVALID_PARAMETER, ERROR_NO_MORE_ITEMS, HANDLE,
};
use windows_sys::Win32::NetworkManagement::Ndis::NET_LUID_LH;
use windows_sys::Win32::System::Threading::{CreateEventW, SetEvent};

/// Names of the adapters that exist (created and not yet closed).
static ADAPTERS: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());
static NEXT_LUID: AtomicU64 = AtomicU64::new(0x00fa_0000_0000_0001);

/// An adapter handle.
struct Adapter {
    name: String,
    luid: u64,
    created: bool,
}

/// The packets of one session.
#[derive(Default)]
struct Rings {
    /// Sent, waiting to be received.
    queue: VecDeque<Box<[u8]>>,
    /// Handed out by `AllocateSendPacket` or `ReceivePacket`, by address.
    lent: HashMap<usize, Box<[u8]>>,
    /// Bytes in the ring: queued or lent.
    used: usize,
}

/// A session handle.
struct Session {
    capacity: usize,
    event: HANDLE,
    rings: Mutex<Rings>,
    terminated: AtomicBool,
}

fn wide_to_string(text: *const u16) -> String {
    let mut len = 0;
    // SAFETY (test support): the caller passes a NUL-terminated UTF-16 string.
    unsafe {
        while *text.add(len) != 0 {
            len += 1;
        }
        String::from_utf16_lossy(std::slice::from_raw_parts(text, len))
    }
}

fn fail<T>(code: u32) -> *mut T {
    unsafe { SetLastError(code) };
    std::ptr::null_mut()
}

#[no_mangle]
pub unsafe extern "system" fn WintunCreateAdapter(
    name: *const u16,
    _tunnel_type: *const u16,
    _guid: *const c_void,
) -> *mut c_void {
    let name = wide_to_string(name);
    let luid = NEXT_LUID.fetch_add(1, Ordering::Relaxed);
    let mut adapters = ADAPTERS.lock().unwrap_or_else(PoisonError::into_inner);
    adapters.push((name.clone(), luid));
    Box::into_raw(Box::new(Adapter {
        name,
        luid,
        created: true,
    }))
    .cast()
}

#[no_mangle]
pub unsafe extern "system" fn WintunOpenAdapter(name: *const u16) -> *mut c_void {
    let name = wide_to_string(name);
    let adapters = ADAPTERS.lock().unwrap_or_else(PoisonError::into_inner);
    match adapters.iter().find(|(known, _)| *known == name) {
        Some(&(_, luid)) => Box::into_raw(Box::new(Adapter {
            name,
            luid,
            created: false,
        }))
        .cast(),
        None => fail(ERROR_FILE_NOT_FOUND),
    }
}

#[no_mangle]
pub unsafe extern "system" fn WintunCloseAdapter(adapter: *mut c_void) {
    if adapter.is_null() {
        return;
    }
    let adapter = Box::from_raw(adapter.cast::<Adapter>());
    if adapter.created {
        let mut adapters = ADAPTERS.lock().unwrap_or_else(PoisonError::into_inner);
        adapters.retain(|(name, _)| *name != adapter.name);
    }
}

#[no_mangle]
pub unsafe extern "system" fn WintunDeleteDriver() -> i32 {
    1
}

#[no_mangle]
pub unsafe extern "system" fn WintunGetAdapterLUID(adapter: *mut c_void, luid: *mut NET_LUID_LH) {
    let adapter = &*adapter.cast::<Adapter>();
    *luid = NET_LUID_LH {
        Value: adapter.luid,
    };
}

#[no_mangle]
pub unsafe extern "system" fn WintunGetRunningDriverVersion() -> u32 {
    0x000e_0000
}

#[no_mangle]
pub unsafe extern "system" fn WintunSetLogger(_logger: *const c_void) {}

#[no_mangle]
pub unsafe extern "system" fn WintunStartSession(
    _adapter: *mut c_void,
    capacity: u32,
) -> *mut c_void {
    if !(0x20000..=0x400_0000).contains(&capacity) || !capacity.is_power_of_two() {
        return fail(ERROR_INVALID_PARAMETER);
    }
    let event = CreateEventW(std::ptr::null(), 0, 0, std::ptr::null());
    Box::into_raw(Box::new(Session {
        capacity: capacity as usize,
        event,
        rings: Mutex::new(Rings::default()),
        terminated: AtomicBool::new(false),
    }))
    .cast()
}

#[no_mangle]
pub unsafe extern "system" fn WintunEndSession(session: *mut c_void) {
    let session = Box::from_raw(session.cast::<Session>());
    CloseHandle(session.event);
}

#[no_mangle]
pub unsafe extern "system" fn WintunGetReadWaitEvent(session: *mut c_void) -> HANDLE {
    (*session.cast::<Session>()).event
}

unsafe fn session<'a>(session: *mut c_void) -> &'a Session {
    &*session.cast::<Session>()
}

fn rings(session: &Session) -> std::sync::MutexGuard<'_, Rings> {
    session.rings.lock().unwrap_or_else(PoisonError::into_inner)
}

#[no_mangle]
pub unsafe extern "system" fn WintunReceivePacket(
    session_handle: *mut c_void,
    size: *mut u32,
) -> *mut u8 {
    let session = session(session_handle);
    if session.terminated.load(Ordering::Acquire) {
        return fail(ERROR_HANDLE_EOF);
    }
    let mut rings = rings(session);
    let Some(mut packet) = rings.queue.pop_front() else {
        return fail(ERROR_NO_MORE_ITEMS);
    };
    *size = packet.len() as u32;
    let address = packet.as_mut_ptr();
    rings.lent.insert(address as usize, packet);
    address
}

#[no_mangle]
pub unsafe extern "system" fn WintunReleaseReceivePacket(
    session_handle: *mut c_void,
    packet: *const u8,
) {
    let session = session(session_handle);
    let mut rings = rings(session);
    if let Some(packet) = rings.lent.remove(&(packet as usize)) {
        rings.used -= packet.len();
    }
}

#[no_mangle]
pub unsafe extern "system" fn WintunAllocateSendPacket(
    session_handle: *mut c_void,
    size: u32,
) -> *mut u8 {
    let session = session(session_handle);
    if session.terminated.load(Ordering::Acquire) {
        return fail(ERROR_HANDLE_EOF);
    }
    let mut rings = rings(session);
    let size = size as usize;
    if rings.used + size > session.capacity {
        return fail(ERROR_BUFFER_OVERFLOW);
    }
    rings.used += size;
    let mut packet = vec![0u8; size].into_boxed_slice();
    let address = packet.as_mut_ptr();
    rings.lent.insert(address as usize, packet);
    address
}

#[no_mangle]
pub unsafe extern "system" fn WintunSendPacket(session_handle: *mut c_void, packet: *const u8) {
    let session = session(session_handle);
    let mut rings = rings(session);
    if let Some(packet) = rings.lent.remove(&(packet as usize)) {
        rings.used -= packet.len();
        if &*packet == TERMINATE {
            session.terminated.store(true, Ordering::Release);
        } else {
            // Loopback: what is sent comes back.
            rings.used += packet.len();
            rings.queue.push_back(packet);
        }
        SetEvent(session.event);
    }
}
