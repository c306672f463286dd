//! Windows: Wintun (`wintun.dll`, the driver WireGuard uses), loaded at run time.
//!
//! - `dll.rs`: loading the DLL once per process from safe places, and its entry points.
//! - `adapter.rs`: creating or opening an adapter; closing removes one this build created.
//! - `session.rs`: the session's rings as the device's one queue; blocking and non-blocking I/O.
//! - `ready.rs`: the read event as a task wake-up through the OS thread pool, for the async
//!   adapters (`poll_recv_ready`); sending has no readiness signal (`poll_send_ready`).
//! - `iphlp.rs`: addresses, MTU and link state through the IP Helper API, by LUID.
//! - `interrupt.rs`: the `Interrupter`'s latch (an event) and the wait of `recv_timeout`.
//! - `event.rs`: an owned Win32 event.
//! - Pure, so tested on every platform: `name.rs` (name rules, patterns), `guid.rs` (the GUID
//!   derived from the name), `ring.rs` (ring capacity), `errors.rs` (what Win32 codes mean).
//!
//! A build: check the settings → load the DLL → open the Wintun adapter of the exact name, or
//! create one (refusing a name that a non-Wintun interface has, which Wintun would rename) with
//! the given GUID or one derived from the name → start a session → the interface handle by LUID.
//! Any failure drops what was made: the session ends, and a created adapter is removed.
//! TUN only, one queue, no persistence (an adapter lives as long as its creator's handle).

pub(crate) mod errors;
pub(crate) mod guid;
pub(crate) mod name;
pub(crate) mod ring;

#[cfg(tun_windows)]
mod adapter;
#[cfg(tun_windows)]
mod dll;
#[cfg(tun_windows)]
pub(crate) mod event;
#[cfg(tun_windows)]
mod interrupt;
#[cfg(tun_windows)]
mod iphlp;
#[cfg(tun_windows)]
mod ready;
#[cfg(tun_windows)]
mod session;

#[cfg(tun_windows)]
pub(crate) use self::platform::*;

#[cfg(tun_windows)]
mod platform {
    use std::io;
    use std::sync::Arc;

    use super::adapter::Adapter;
    use super::dll::{self, Wintun};
    use super::errors::ERROR_ALREADY_EXISTS;
    pub(crate) use super::errors::{error_kind, hint};
    use super::guid;
    pub(crate) use super::interrupt::{wait_readable, Interrupt, Wait};
    pub(crate) use super::iphlp::Interface;
    pub(crate) use super::name::{check_name, check_tunnel_type, DEFAULT_TUNNEL_TYPE};
    use super::name::{pattern_names, plan, Plan};
    pub(crate) use super::ring::{check_ring_capacity, DEFAULT_RING_CAPACITY};
    pub(crate) use super::session::Queue;
    use crate::config::{Config, Layer};
    use crate::error::{Error, Operation, Result};
    use crate::sys::Created;

    pub(crate) fn create(config: &Config) -> Result<Created> {
        if config.layer == Layer::Tap {
            return Err(Error::unsupported(
                Operation::CheckSettings,
                "Wintun adapters carry IP packets only (TUN): Windows TAP needs another driver"
                    .into(),
            ));
        }
        let dll = dll::load(config.wintun_path.as_deref())
            .map_err(|err| Error::new(Operation::LoadDriver, &config.name, err))?;
        let (name, adapter) = open_or_create(dll, config)?;
        let adapter = Arc::new(adapter);
        // From here on, an early return drops `adapter`: one this build created is removed.
        let queue = Queue::start(
            Arc::clone(&adapter),
            config.ring_capacity,
            config.nonblocking,
        )
        .map_err(|err| Error::new(Operation::StartSession, &name, err))?;
        let interface = Interface::new(name, adapter);
        Ok(Created {
            queues: vec![queue],
            interface,
        })
    }

    /// The adapter the name asks for: the Wintun adapter of an exact name if there is one,
    /// else a new one; for a pattern, a new one with the first name no interface has.
    fn open_or_create(dll: &'static Wintun, config: &Config) -> Result<(String, Adapter)> {
        let create = |name: String| {
            let guid = config.guid.unwrap_or_else(|| guid::from_name(&name));
            match Adapter::create(dll, &name, &config.tunnel_type, guid) {
                Ok(adapter) => Ok((name, adapter)),
                Err(err) => Err(Error::new(Operation::Create, &name, err)),
            }
        };
        match plan(&config.name) {
            Plan::Exact(name) => {
                if let Ok(adapter) = Adapter::open(dll, &name) {
                    return Ok((name, adapter));
                }
                if super::iphlp::alias_exists(&name) {
                    // Not a Wintun adapter: creating would make Wintun rename it.
                    return Err(Error::new(
                        Operation::Create,
                        &name,
                        io::Error::from_raw_os_error(ERROR_ALREADY_EXISTS),
                    ));
                }
                create(name)
            }
            Plan::Pattern { prefix, suffix } => {
                let free = pattern_names(&prefix, &suffix)
                    .find(|candidate| !super::iphlp::alias_exists(candidate));
                match free {
                    Some(name) => create(name),
                    None => Err(Error::new(
                        Operation::Create,
                        &config.name,
                        io::Error::from_raw_os_error(ERROR_ALREADY_EXISTS),
                    )),
                }
            }
        }
    }
}
