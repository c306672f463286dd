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
    operation: &'static str,
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
    pub fn new(operation: &'static str, device: &str, source: io::Error) -> Error {
        Error {
            kind: classify(operation, &source),
            operation,
            device: (!device.is_empty()).then(|| device.to_owned()),
            detail: None,
            source: Some(source),
        }
    }

    /// An argument rejected before any system call.
    pub(crate) fn invalid(operation: &'static str, device: &str, detail: String) -> Error {
        Error {
            kind: ErrorKind::InvalidInput,
            operation,
            device: (!device.is_empty()).then(|| device.to_owned()),
            detail: Some(detail),
            source: None,
        }
    }

    /// A device exists but does not match what was asked for (for example its packet
    /// information mode), found out after the system calls succeeded.
    pub(crate) fn incompatible(operation: &'static str, device: &str, detail: String) -> Error {
        Error {
            kind: ErrorKind::Incompatible,
            operation,
            device: (!device.is_empty()).then(|| device.to_owned()),
            detail: Some(detail),
            source: None,
        }
    }

    /// An operation this platform does not offer (yet).
    #[allow(dead_code)] // used by the platform modules that lack a feature
    pub(crate) fn unsupported(operation: &'static str, detail: String) -> Error {
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

    /// What was being done, for example `"set MTU"`.
    pub fn operation(&self) -> &'static str {
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

fn classify(operation: &str, err: &io::Error) -> ErrorKind {
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

/// Operation names shared by the code that creates devices and the platforms' hints.
pub(crate) mod op {
    /// Opening the clone device (`/dev/net/tun`).
    pub const OPEN: &str = "open /dev/net/tun";
    /// `TUNSETIFF` where no device of the name existed: creating one.
    pub const CREATE: &str = "create device (TUNSETIFF)";
    /// `TUNSETIFF` on the name of an existing device: attaching a queue to it.
    pub const ATTACH: &str = "attach to existing device (TUNSETIFF)";
    /// Adopting an fd that was opened elsewhere.
    pub const FROM_FD: &str = "adopt a TUN/TAP fd";
    /// Adding an IPv6 address (the kernel answers EACCES where IPv6 is off).
    pub const ADD_IPV6: &str = "add IPv6 address";
    /// Removing an IPv6 address (likewise).
    pub const REMOVE_IPV6: &str = "remove IPv6 address";
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
            op::CREATE,
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
