//! What FreeBSD's errno values mean for TUN/TAP operations: the error kind, and a hint for the
//! causes people actually hit.

use std::io;

use crate::error::{ErrorKind, Operation};

pub(crate) fn error_kind(operation: Operation, err: &io::Error) -> Option<ErrorKind> {
    Some(match err.raw_os_error()? {
        libc::EPERM | libc::EACCES => ErrorKind::PermissionDenied,
        // One open per device: the device is in use (by another program, or by this one).
        libc::EBUSY => ErrorKind::NameInUse,
        libc::EEXIST if matches!(operation, Operation::Create) => ErrorKind::NameInUse,
        // TUNSIFHEAD on a TAP device: attached to the other kind.
        libc::ENOTTY if matches!(operation, Operation::Attach) => ErrorKind::Incompatible,
        libc::ENXIO | libc::ENODEV | libc::ENOENT | libc::EADDRNOTAVAIL => ErrorKind::NotFound,
        libc::ENOTTY | libc::EOPNOTSUPP | libc::EAFNOSUPPORT | libc::ENOSYS => {
            ErrorKind::Unsupported
        }
        libc::EINVAL | libc::ENAMETOOLONG => ErrorKind::InvalidInput,
        _ => ErrorKind::Other,
    })
}

pub(crate) fn hint(operation: Operation, err: &io::Error) -> Option<&'static str> {
    Some(match err.raw_os_error()? {
        libc::EPERM | libc::EACCES => {
            "creating and configuring interfaces needs root (PRIV_NET_IFCREATE and the \
             interface privileges), and opening /dev/tunN or /dev/tapN needs access to the node"
        }
        libc::EBUSY if matches!(operation, Operation::Create | Operation::Attach) => {
            "the device is open already: FreeBSD allows one open per TUN/TAP device (no \
             multi-queue); close the other user or choose another name"
        }
        libc::EEXIST if matches!(operation, Operation::Create) => {
            "an interface of this name exists: choose another name, or leave it empty for the \
             kernel to pick"
        }
        libc::ENOTTY if matches!(operation, Operation::Attach) => {
            "the existing interface is of the other kind (TUN vs TAP): match its layer or \
             choose another name"
        }
        libc::EINVAL if matches!(operation, Operation::Create) => {
            "the kernel refused the name (see `Builder::name`), or the if_tuntap driver is not \
             loaded (`kldload if_tuntap`)"
        }
        libc::ENXIO | libc::ENODEV => {
            "the interface no longer exists: it was destroyed (for example with \
             `ifconfig <name> destroy`)"
        }
        libc::ENOENT if matches!(operation, Operation::Open | Operation::Attach) => {
            "no /dev node for this interface: it is not a tun or tap interface"
        }
        libc::EEXIST => "the address is already assigned to this device",
        libc::EADDRNOTAVAIL => "no such address on this device",
        libc::EAFNOSUPPORT => "IPv6 is not available in this kernel",
        libc::EMFILE | libc::ENFILE => "too many open files: raise the fd limit (`ulimit -n`)",
        _ => return None,
    })
}
