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

#[cfg(test)]
mod tests {
    use super::*;

    fn os(errno: i32) -> io::Error {
        io::Error::from_raw_os_error(errno)
    }

    #[test]
    fn macos_errno_kinds() {
        let kind = |operation, errno| error_kind(operation, &os(errno));
        assert_eq!(
            kind(Operation::Create, libc::EPERM),
            Some(ErrorKind::PermissionDenied)
        );
        // A taken unit: the utun exists and belongs to another socket.
        assert_eq!(
            kind(Operation::Create, libc::EBUSY),
            Some(ErrorKind::NameInUse)
        );
        assert_eq!(
            kind(Operation::AddIpv4, libc::EBUSY),
            Some(ErrorKind::Other)
        );
        assert_eq!(
            kind(Operation::AdoptFd, libc::ENOTSOCK),
            Some(ErrorKind::Incompatible)
        );
        assert_eq!(
            kind(Operation::GetMtu, libc::ENXIO),
            Some(ErrorKind::NotFound)
        );
        assert_eq!(
            kind(Operation::AddIpv6, libc::EAFNOSUPPORT),
            Some(ErrorKind::Unsupported)
        );
        assert_eq!(
            kind(Operation::SetMtu, libc::EINVAL),
            Some(ErrorKind::InvalidInput)
        );
        // Not an OS error (iOS's "the system configures this"): the io kind decides.
        let managed = io::Error::new(io::ErrorKind::Unsupported, "managed");
        assert_eq!(error_kind(Operation::SetMtu, &managed), None);
    }

    #[test]
    fn macos_hints_name_the_cause() {
        let hint_of = |operation, errno| hint(operation, &os(errno)).unwrap_or_default();
        assert!(hint_of(Operation::Create, libc::EPERM).contains("root"));
        assert!(hint_of(Operation::Create, libc::EPERM).contains("from_system_tunnel"));
        assert!(hint_of(Operation::Create, libc::EBUSY).contains("empty"));
        assert!(hint_of(Operation::AdoptFd, libc::ENOTSOCK).contains("utun"));
        assert!(hint_of(Operation::GetMtu, libc::ENXIO).contains("no longer exists"));
        assert_eq!(hint(Operation::GetMtu, &os(libc::EIO)), None);
    }
}
