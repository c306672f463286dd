//! The one error type of the crate.
//!
//! Every failure of a build or of a configuration call says three things: what was being done
//! (`operation`), on which device, and what the OS answered, plus a hint for the causes people
//! actually hit (missing `CAP_NET_ADMIN`, a name already in use, ...). Packet I/O (`recv`/`send`)
//! stays on plain [`io::Error`]: it is the hot path and what async runtimes expect.

use std::error::Error as StdError;
use std::fmt;
use std::io;

/// A specialised `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is, for code that reacts to it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An argument was rejected before any system call (bad name, MTU, prefix, ...).
    InvalidInput,
    /// The OS refused: the process lacks `CAP_NET_ADMIN`, or the device belongs to someone else.
    PermissionDenied,
    /// The requested name is taken by a device that cannot be attached to.
    NameInUse,
    /// A device of this name exists with settings that do not match the request
    /// (TUN vs TAP, packet information, multi-queue).
    Incompatible,
    /// The device, the address or the driver does not exist (any more).
    NotFound,
    /// This platform, kernel or device does not support the operation.
    Unsupported,
    /// Any other OS error; see [`Error::os_error`].
    Other,
}

/// A failed device operation: what was attempted, on which device, what the OS said, and a hint.
///
/// Converts into [`io::Error`] (keeping its [`io::ErrorKind`]) for code that works in `io::Result`.
pub struct Error {
    kind: ErrorKind,
    operation: Operation,
    device: Option<String>,
    detail: Option<String>,
    source: Option<io::Error>,
}

impl Error {
    /// An error for `operation` on `device` (empty if no device is known yet) caused by the OS
    /// error `source`. Its kind and hint are derived from the error code.
    ///
    /// Public so that runtime adapters report their own failures (for example "no runtime") in the
    /// same type as the core.
    pub fn new(operation: Operation, device: &str, source: io::Error) -> Error {
        Error {
            kind: classify(operation, &source),
            operation,
            device: (!device.is_empty()).then(|| device.to_owned()),
            detail: None,
            source: Some(source),
        }
    }

    /// An argument rejected before any system call.
    pub(crate) fn invalid(operation: Operation, device: &str, detail: String) -> Error {
        Error {
            kind: ErrorKind::InvalidInput,
            operation,
            device: (!device.is_empty()).then(|| device.to_owned()),
            detail: Some(detail),
            source: None,
        }
    }

    /// A device exists but does not match what was asked for (for example its packet
    /// information mode), found out after the system calls succeeded. Only where a build can
    /// attach to an existing device.
    #[cfg(any(tun_persist, tun_multi_queue))]
    pub(crate) fn incompatible(operation: Operation, device: &str, detail: String) -> Error {
        Error {
            kind: ErrorKind::Incompatible,
            operation,
            device: (!device.is_empty()).then(|| device.to_owned()),
            detail: Some(detail),
            source: None,
        }
    }

    /// An operation this platform does not offer (yet).
    #[cfg_attr(tun_linux, allow(dead_code))] // Linux offers everything it declares
    pub(crate) fn unsupported(operation: Operation, detail: String) -> Error {
        Error {
            kind: ErrorKind::Unsupported,
            operation,
            device: None,
            detail: Some(detail),
            source: None,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What was being done, for example [`Operation::SetMtu`] (displayed as "set MTU").
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The device concerned, if one was known (the requested name during a build).
    pub fn device(&self) -> Option<&str> {
        self.device.as_deref()
    }

    /// The OS error behind this error, if any.
    pub fn os_error(&self) -> Option<&io::Error> {
        self.source.as_ref()
    }

    /// The errno behind this error, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.as_ref().and_then(io::Error::raw_os_error)
    }

    /// Advice for the common causes of this error, if there is any.
    pub fn hint(&self) -> Option<&'static str> {
        crate::sys::hint(self.operation, self.source.as_ref()?)
    }
}

fn classify(operation: Operation, err: &io::Error) -> ErrorKind {
    if let Some(kind) = crate::sys::error_kind(operation, err) {
        return kind;
    }
    match err.kind() {
        io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
        io::ErrorKind::NotFound => ErrorKind::NotFound,
        io::ErrorKind::InvalidInput => ErrorKind::InvalidInput,
        io::ErrorKind::Unsupported => ErrorKind::Unsupported,
        _ => ErrorKind::Other,
    }
}

/// What an [`Error`] was doing. Displayed as a short phrase ("set MTU"); matched by code that
/// reacts to particular failures, and by the platform layer to interpret error codes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Checking the builder's settings, before any system call.
    CheckSettings,
    /// Opening the platform's device node or control channel (`/dev/net/tun` on Linux).
    Open,
    /// Creating a new device (`TUNSETIFF` where no device of the name existed).
    Create,
    /// Attaching a queue to an existing device (`TUNSETIFF` on its name).
    Attach,
    /// Adopting an fd that was opened elsewhere.
    AdoptFd,
    /// Opening the control sockets through which the device is configured.
    OpenControlSocket,
    /// Switching between blocking and non-blocking I/O.
    SetNonblocking,
    /// Reading the interface index.
    GetIndex,
    /// Reading the MTU.
    GetMtu,
    /// Setting the MTU.
    SetMtu,
    /// Reading whether the link is up.
    GetLinkState,
    /// Bringing the link up.
    SetLinkUp,
    /// Taking the link down.
    SetLinkDown,
    /// Reading the MAC address.
    GetMac,
    /// Setting the MAC address.
    SetMac,
    /// Reading the primary IPv4 address.
    GetIpv4Address,
    /// Setting the primary IPv4 address.
    SetIpv4Address,
    /// Reading the IPv4 netmask.
    GetNetmask,
    /// Setting the IPv4 netmask.
    SetNetmask,
    /// Reading the point-to-point peer address.
    GetDestination,
    /// Setting the point-to-point peer address.
    SetDestination,
    /// Reading the IPv4 broadcast address.
    GetBroadcast,
    /// Setting the IPv4 broadcast address.
    SetBroadcast,
    /// Adding an IPv4 network (address and prefix).
    AddIpv4,
    /// Removing an IPv4 network.
    RemoveIpv4,
    /// Adding an IPv6 address.
    AddIpv6,
    /// Removing an IPv6 address.
    RemoveIpv6,
    /// Listing the interface's addresses.
    ListAddresses,
    /// Opening one more queue of a multi-queue device.
    AddQueue,
    /// Putting a detached queue back into the device's packet distribution.
    AttachQueue,
    /// Taking a queue out of the device's packet distribution.
    DetachQueue,
    /// Reading whether the device is persistent.
    GetPersist,
    /// Making the device persistent, or not.
    SetPersist,
    /// Reading the user allowed to attach.
    GetOwner,
    /// Setting the user allowed to attach.
    SetOwner,
    /// Reading the group allowed to attach.
    GetGroup,
    /// Setting the group allowed to attach.
    SetGroup,
    /// Reading whether the device is multi-queue.
    GetQueueMode,
    /// Counting the device's queues.
    CountQueues,
    /// Reading the transmit queue length.
    GetTxQueueLen,
    /// Setting the transmit queue length.
    SetTxQueueLen,
    /// Registering the device with an async runtime's reactor (the adapters).
    Register,
    /// Taking the device back from an async runtime's reactor (the adapters).
    Deregister,
    /// Starting an async runtime's reactor (the adapters).
    StartReactor,
    /// Making the pipe behind a device's `Interrupter`.
    CreateInterrupter,
    /// Turning segmentation and checksum offload on (or, for a device that had it, off).
    SetOffload,
}

impl Operation {
    /// The phrase this operation is displayed as.
    pub fn as_str(self) -> &'static str {
        use Operation::*;
        match self {
            CheckSettings => "check settings",
            Open => "open the device node",
            Create => "create device",
            Attach => "attach to existing device",
            AdoptFd => "adopt a TUN/TAP fd",
            OpenControlSocket => "open control socket",
            SetNonblocking => "set non-blocking mode",
            SetOffload => "set offloads",
            GetIndex => "get interface index",
            GetMtu => "get MTU",
            SetMtu => "set MTU",
            GetLinkState => "get link state",
            SetLinkUp => "bring link up",
            SetLinkDown => "bring link down",
            GetMac => "get MAC address",
            SetMac => "set MAC address",
            GetIpv4Address => "get IPv4 address",
            SetIpv4Address => "set IPv4 address",
            GetNetmask => "get IPv4 netmask",
            SetNetmask => "set IPv4 netmask",
            GetDestination => "get IPv4 destination",
            SetDestination => "set IPv4 destination",
            GetBroadcast => "get IPv4 broadcast address",
            SetBroadcast => "set IPv4 broadcast address",
            AddIpv4 => "add IPv4 address",
            RemoveIpv4 => "remove IPv4 address",
            AddIpv6 => "add IPv6 address",
            RemoveIpv6 => "remove IPv6 address",
            ListAddresses => "list addresses",
            AddQueue => "add queue",
            AttachQueue => "attach queue",
            DetachQueue => "detach queue",
            GetPersist => "get persistence",
            SetPersist => "set persistence",
            GetOwner => "get owner",
            SetOwner => "set owner",
            GetGroup => "get group",
            SetGroup => "set group",
            GetQueueMode => "get queue mode",
            CountQueues => "count queues",
            GetTxQueueLen => "get txqueuelen",
            SetTxQueueLen => "set txqueuelen",
            Register => "register with the runtime's reactor",
            Deregister => "deregister from the runtime's reactor",
            StartReactor => "start the runtime's reactor",
            CreateInterrupter => "create the interrupter",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operation)?;
        if let Some(device) = &self.device {
            write!(f, " on device `{device}`")?;
        }
        match (&self.detail, &self.source) {
            (Some(detail), _) => write!(f, ": {detail}")?,
            (None, Some(source)) => write!(f, ": {source}")?,
            (None, None) => {}
        }
        if let Some(hint) = self.hint() {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("operation", &self.operation)
            .field("device", &self.device)
            .field("detail", &self.detail)
            .field("source", &self.source)
            .field("hint", &self.hint())
            .finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_ref().map(|e| e as &(dyn StdError + 'static))
    }
}

/// The [`io::ErrorKind`] of each [`ErrorKind`] that has one, so that code working in
/// `io::Result` can match the same cases (a deleted device is `NotFound` on every path).
impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        let kind = match (err.kind, &err.source) {
            (ErrorKind::InvalidInput, _) => io::ErrorKind::InvalidInput,
            (ErrorKind::PermissionDenied, _) => io::ErrorKind::PermissionDenied,
            (ErrorKind::NotFound, _) => io::ErrorKind::NotFound,
            (ErrorKind::Unsupported, _) => io::ErrorKind::Unsupported,
            (ErrorKind::NameInUse, _) => io::ErrorKind::AddrInUse,
            (_, Some(source)) => source.kind(),
            (_, None) => io::ErrorKind::Other,
        };
        io::Error::new(kind, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_denied_names_the_capability() {
        let err = Error::new(
            Operation::Create,
            "tun7",
            io::Error::from_raw_os_error(libc::EPERM),
        );
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        let text = err.to_string();
        assert!(text.contains("tun7"), "{text}");
        assert!(text.contains("CAP_NET_ADMIN"), "{text}");
        let io: io::Error = err.into();
        assert_eq!(io.kind(), io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn errors_are_send_sync_static() {
        fn check<T: Send + Sync + 'static + StdError>() {}
        check::<Error>();
    }
}
