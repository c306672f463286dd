//! What Linux's errno values mean for TUN/TAP operations: the error kind, and a hint for the
//! causes people actually hit.

use std::io;

use crate::error::{ErrorKind, Operation};

/// Whether `operation` changes IPv6 addresses.
fn is_ipv6_change(operation: Operation) -> bool {
    matches!(operation, Operation::AddIpv6 | Operation::RemoveIpv6)
}

/// Whether `operation` is a `TUNSETIFF` (creating a device, or attaching to one).
fn is_tunsetiff(operation: Operation) -> bool {
    matches!(operation, Operation::Create | Operation::Attach)
}

/// Whether `operation` changes an interface setting (which Android leaves to `VpnService`).
fn is_setting(operation: Operation) -> bool {
    use Operation::*;
    matches!(
        operation,
        SetMtu
            | SetLinkUp
            | SetLinkDown
            | SetMac
            | SetIpv4Address
            | SetNetmask
            | SetDestination
            | SetBroadcast
            | AddIpv4
            | RemoveIpv4
            | AddIpv6
            | RemoveIpv6
            | SetTxQueueLen
    )
}

/// Android apps configure their tunnel on `VpnService.Builder`; the kernel refuses them the
/// ioctls and rtnetlink requests.
const ANDROID_SETTING_HINT: &str = "Android apps may not change interface settings: set them on      VpnService.Builder (addAddress, setMtu, addRoute) before establish()";
pub(crate) fn error_kind(operation: Operation, err: &io::Error) -> Option<ErrorKind> {
    // The one offload failure without an errno: the device's other queues use the other mode.
    if operation == Operation::SetOffload && err.raw_os_error().is_none() {
        return Some(ErrorKind::Incompatible);
    }
    Some(match err.raw_os_error()? {
        // EINVAL means "another kind of device" only when one of that name exists (the build
        // checks, and reports ATTACH then); otherwise the kernel refused the name or the flags.
        libc::EINVAL if operation == Operation::Attach => ErrorKind::Incompatible,
        // The kernel answers EACCES to IPv6 address changes on an interface without IPv6.
        libc::EACCES if is_ipv6_change(operation) => ErrorKind::Unsupported,
        libc::EPERM | libc::EACCES => ErrorKind::PermissionDenied,
        libc::EBUSY => ErrorKind::NameInUse,
        libc::ENODEV | libc::ENXIO | libc::ENOENT | libc::EBADFD | libc::EADDRNOTAVAIL => {
            ErrorKind::NotFound
        }
        libc::ENOTTY | libc::EOPNOTSUPP | libc::EAFNOSUPPORT | libc::ENOSYS => {
            ErrorKind::Unsupported
        }
        libc::EINVAL => ErrorKind::InvalidInput,
        _ => ErrorKind::Other,
    })
}

pub(crate) fn hint(operation: Operation, err: &io::Error) -> Option<&'static str> {
    Some(match err.raw_os_error()? {
        libc::EINVAL | libc::ENOTTY if operation == Operation::SetOffload => {
            "the kernel refused checksum and TCP segmentation offload (TUNSETOFFLOAD) for this \
             device: build it without `Builder::offload`"
        }
        libc::EACCES if is_ipv6_change(operation) => {
            "IPv6 is disabled on this device (sysctl net.ipv6.conf.<name>.disable_ipv6 = 1, \
             or IPv6 is off system-wide), or its MTU is below 1280"
        }
        libc::EACCES if operation == Operation::Open => {
            "the permissions of /dev/net/tun deny this user (it is mode 0600, root only, on many \
             distributions): run as root, or give the user access to the node (a udev rule \
             setting its group and mode 0660); creating a device then still needs \
             CAP_NET_ADMIN, unless it attaches to a persistent device owned by the user or group"
        }
        libc::EPERM | libc::EACCES if cfg!(target_os = "android") && is_setting(operation) => {
            ANDROID_SETTING_HINT
        }
        libc::EPERM | libc::EACCES => {
            "needs CAP_NET_ADMIN (run as root or `setcap cap_net_admin+ep` on the binary), \
             or a persistent device owned by this user or group"
        }
        libc::EBUSY if is_tunsetiff(operation) => {
            "the name is in use by a device that cannot be attached to (another program holds \
             it, or all its queues are taken): choose another name or leave it empty for the \
             kernel to pick"
        }
        libc::EINVAL if operation == Operation::Attach => {
            "a device of this name already exists as another kind (TUN vs TAP, packet \
             information on/off, single vs multi-queue) or is not a TUN/TAP device: match its \
             settings or choose another name"
        }
        libc::EINVAL if operation == Operation::Create => {
            "the kernel refused the name or the flags: check the name against the kernel's \
             rules (see `Builder::name`)"
        }
        libc::E2BIG if is_tunsetiff(operation) => {
            "the device already has the most queues a TUN/TAP device may have (256)"
        }
        libc::ENOENT | libc::ENODEV if operation == Operation::Open => {
            "the TUN/TAP driver is missing: `modprobe tun`, or create the node with \
             `mknod /dev/net/tun c 10 200`"
        }
        libc::ENOTTY | libc::EBADFD if operation == Operation::AdoptFd => {
            "the fd is not an attached TUN/TAP queue"
        }
        libc::ENODEV | libc::ENXIO | libc::EBADFD => {
            "the device no longer exists: it was deleted (for example with `ip link del`)"
        }
        libc::EEXIST => "the address is already assigned to this device",
        libc::EADDRNOTAVAIL => "no such address on this device (or a multicast MAC address)",
        libc::EAFNOSUPPORT => "IPv6 is disabled on this system (or in this network namespace)",
        libc::EMFILE | libc::ENFILE => "too many open files: raise the fd limit (`ulimit -n`)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint_of(operation: Operation, errno: i32) -> &'static str {
        hint(operation, &io::Error::from_raw_os_error(errno)).unwrap_or("")
    }

    #[test]
    fn a_closed_clone_device_node_is_named() {
        let text = hint_of(Operation::Open, libc::EACCES);
        assert!(text.contains("permissions of /dev/net/tun"), "{text}");
        assert!(text.contains("udev"), "{text}");
        // TUNSETIFF's EPERM stays the capability.
        assert!(hint_of(Operation::Create, libc::EPERM).contains("CAP_NET_ADMIN"));
    }

    #[test]
    fn einval_is_incompatible_only_when_attaching() {
        let einval = io::Error::from_raw_os_error(libc::EINVAL);
        assert_eq!(
            error_kind(Operation::Attach, &einval),
            Some(ErrorKind::Incompatible)
        );
        assert_eq!(
            error_kind(Operation::Create, &einval),
            Some(ErrorKind::InvalidInput)
        );
        assert!(!hint_of(Operation::Create, libc::EINVAL).contains("another kind"));
    }

    #[test]
    fn android_refusals_point_to_vpnservice() {
        assert!(ANDROID_SETTING_HINT.contains("VpnService.Builder"));
        assert!(is_setting(Operation::SetMtu) && !is_setting(Operation::GetMtu));
    }

    #[test]
    fn the_queue_limit_is_named() {
        assert!(hint_of(Operation::Attach, libc::E2BIG).contains("256"));
    }
}
