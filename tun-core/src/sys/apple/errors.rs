//! What Darwin's errno values mean for utun operations: the error kind, and a hint for the
//! causes people actually hit.

use std::io;

use crate::error::{ErrorKind, Operation};

pub(crate) fn error_kind(operation: Operation, err: &io::Error) -> Option<ErrorKind> {
    Some(match err.raw_os_error()? {
        libc::EPERM | libc::EACCES => ErrorKind::PermissionDenied,
        // `connect` to a unit that is taken: the utun of that name exists, and a utun has one
        // socket, so it cannot be attached to.
        libc::EBUSY | libc::EADDRINUSE if matches!(operation, Operation::Create) => {
            ErrorKind::NameInUse
        }
        libc::EEXIST if matches!(operation, Operation::Create) => ErrorKind::NameInUse,
        // `getpeername` on an fd that is no kernel control socket (adoption).
        libc::ENOTSOCK | libc::ENOTCONN if matches!(operation, Operation::AdoptFd) => {
            ErrorKind::Incompatible
        }
        libc::ENXIO | libc::ENODEV | libc::ENOENT | libc::EADDRNOTAVAIL | libc::ESRCH => {
            ErrorKind::NotFound
        }
        libc::ENOTTY
        | libc::EOPNOTSUPP
        | libc::EAFNOSUPPORT
        | libc::EPROTONOSUPPORT
        | libc::ENOSYS => ErrorKind::Unsupported,
        libc::EINVAL | libc::ENAMETOOLONG => ErrorKind::InvalidInput,
        _ => ErrorKind::Other,
    })
}

pub(crate) fn hint(operation: Operation, err: &io::Error) -> Option<&'static str> {
    Some(match err.raw_os_error()? {
        libc::EPERM | libc::EACCES if matches!(operation, Operation::Create) => {
            "creating a utun needs root on macOS; on iOS only the system creates one (adopt it \
             with `Device::from_system_tunnel` in a packet tunnel provider)"
        }
        libc::EPERM | libc::EACCES => "configuring an interface needs root on macOS",
        libc::EBUSY | libc::EADDRINUSE | libc::EEXIST if matches!(operation, Operation::Create) => {
            "this utun exists already, and a utun belongs to the one socket that created it: \
             choose another number, or leave the name empty for the first free one"
        }
        libc::ENOENT if matches!(operation, Operation::Open) => {
            "the kernel has no utun control (com.apple.net.utun_control)"
        }
        libc::ENOTSOCK | libc::ENOTCONN if matches!(operation, Operation::AdoptFd) => {
            "the fd is not a utun control socket"
        }
        libc::ENXIO | libc::ENODEV => {
            "the interface no longer exists: a utun goes away with the socket that created it"
        }
        libc::EEXIST => "the address is already assigned to this device",
        libc::EADDRNOTAVAIL => "no such address on this device",
        libc::EAFNOSUPPORT => "IPv6 is not available",
        libc::EMFILE | libc::ENFILE => "too many open files: raise the fd limit (`ulimit -n`)",
        _ => return None,
    })
}
