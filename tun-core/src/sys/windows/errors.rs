//! What Win32 error codes mean for Wintun and IP Helper operations: the error kind, and a hint
//! for the causes people actually hit. The codes are written here (`winerror.h`) rather than
//! taken from windows-sys, so that this pure mapping is tested on every platform.

use std::io;

use crate::error::{ErrorKind, Operation};

pub(crate) const ERROR_FILE_NOT_FOUND: i32 = 2;
pub(crate) const ERROR_PATH_NOT_FOUND: i32 = 3;
pub(crate) const ERROR_ACCESS_DENIED: i32 = 5;
pub(crate) const ERROR_INVALID_HANDLE: i32 = 6;
pub(crate) const ERROR_SHARING_VIOLATION: i32 = 32;
pub(crate) const ERROR_HANDLE_EOF: i32 = 38;
pub(crate) const ERROR_NOT_SUPPORTED: i32 = 50;
pub(crate) const ERROR_DUP_NAME: i32 = 52;
pub(crate) const ERROR_INVALID_PARAMETER: i32 = 87;
pub(crate) const ERROR_BUFFER_OVERFLOW: i32 = 111;
pub(crate) const ERROR_MOD_NOT_FOUND: i32 = 126;
pub(crate) const ERROR_PROC_NOT_FOUND: i32 = 127;
pub(crate) const ERROR_BUSY: i32 = 170;
pub(crate) const ERROR_ALREADY_EXISTS: i32 = 183;
pub(crate) const ERROR_BAD_EXE_FORMAT: i32 = 193;
pub(crate) const ERROR_NO_MORE_ITEMS: i32 = 259;
pub(crate) const ERROR_NOT_FOUND: i32 = 1168;
pub(crate) const ERROR_OBJECT_ALREADY_EXISTS: i32 = 5010;

/// What `wintun.dll` failing to load means, and where to put it.
const DLL_HINT: &str = "wintun.dll was not found: download Wintun from https://www.wintun.net, \
                        and put the wintun.dll of this program's architecture (bin/amd64, \
                        bin/arm64, ...) next to the executable, or in System32, or give its \
                        path with `Builder::wintun_path` (the current directory and PATH are \
                        not searched, against DLL planting)";

pub(crate) fn error_kind(operation: Operation, err: &io::Error) -> Option<ErrorKind> {
    Some(kind_of(operation, err.raw_os_error()?))
}

pub(crate) fn hint(operation: Operation, err: &io::Error) -> Option<&'static str> {
    hint_of(operation, err.raw_os_error()?)
}

fn kind_of(operation: Operation, code: i32) -> ErrorKind {
    match code {
        ERROR_ACCESS_DENIED => ErrorKind::PermissionDenied,
        ERROR_MOD_NOT_FOUND | ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND
            if operation == Operation::LoadDriver =>
        {
            ErrorKind::NotFound
        }
        // The DLL of another architecture, or one without Wintun's entry points.
        ERROR_BAD_EXE_FORMAT | ERROR_PROC_NOT_FOUND => ErrorKind::Incompatible,
        ERROR_DUP_NAME | ERROR_SHARING_VIOLATION | ERROR_BUSY => ErrorKind::NameInUse,
        ERROR_ALREADY_EXISTS | ERROR_OBJECT_ALREADY_EXISTS
            if matches!(operation, Operation::Create | Operation::StartSession) =>
        {
            ErrorKind::NameInUse
        }
        ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND | ERROR_NOT_FOUND | ERROR_INVALID_HANDLE
        | ERROR_HANDLE_EOF => ErrorKind::NotFound,
        ERROR_NOT_SUPPORTED => ErrorKind::Unsupported,
        ERROR_INVALID_PARAMETER => ErrorKind::InvalidInput,
        _ => ErrorKind::Other,
    }
}

fn hint_of(operation: Operation, code: i32) -> Option<&'static str> {
    Some(match code {
        ERROR_MOD_NOT_FOUND | ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND
            if operation == Operation::LoadDriver =>
        {
            DLL_HINT
        }
        ERROR_BAD_EXE_FORMAT => {
            "wintun.dll is for another architecture than this program: use the one from the \
             matching bin/ directory of the Wintun package"
        }
        ERROR_PROC_NOT_FOUND => {
            "wintun.dll lacks an entry point this crate uses (WintunCreateAdapter, \
             WintunStartSession, ...): use Wintun 0.14 or later"
        }
        ERROR_ACCESS_DENIED => {
            "creating a Wintun adapter (and installing its driver the first time) and changing \
             its addresses or MTU need Administrator rights: run the program elevated"
        }
        ERROR_ALREADY_EXISTS | ERROR_SHARING_VIOLATION | ERROR_BUSY
            if operation == Operation::StartSession =>
        {
            "another program has a session on this adapter: Wintun allows one at a time"
        }
        ERROR_DUP_NAME | ERROR_ALREADY_EXISTS | ERROR_OBJECT_ALREADY_EXISTS
            if operation == Operation::Create =>
        {
            "an interface of this name exists and is not a Wintun adapter: choose another name"
        }
        ERROR_NOT_FOUND if operation == Operation::SetMtu => {
            "the adapter has neither IPv4 nor IPv6 enabled, so there is no MTU to set"
        }
        ERROR_NOT_FOUND | ERROR_INVALID_HANDLE | ERROR_HANDLE_EOF => {
            "the adapter no longer exists: it was removed (or its session ended)"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn win32_codes_map_to_kinds() {
        use Operation::*;
        let cases = [
            (LoadDriver, ERROR_MOD_NOT_FOUND, ErrorKind::NotFound),
            (LoadDriver, ERROR_BAD_EXE_FORMAT, ErrorKind::Incompatible),
            (LoadDriver, ERROR_PROC_NOT_FOUND, ErrorKind::Incompatible),
            (Create, ERROR_ACCESS_DENIED, ErrorKind::PermissionDenied),
            (Create, ERROR_ALREADY_EXISTS, ErrorKind::NameInUse),
            (StartSession, ERROR_ALREADY_EXISTS, ErrorKind::NameInUse),
            (AddIpv4, ERROR_NOT_FOUND, ErrorKind::NotFound),
            (GetMtu, ERROR_INVALID_PARAMETER, ErrorKind::InvalidInput),
            (SetLinkDown, ERROR_NOT_SUPPORTED, ErrorKind::Unsupported),
            (GetIndex, 1234, ErrorKind::Other),
        ];
        for (operation, code, kind) in cases {
            assert_eq!(kind_of(operation, code), kind, "{operation:?} {code}");
        }
    }

    #[test]
    fn a_missing_dll_hint_says_where_to_put_it() {
        let hint = hint_of(Operation::LoadDriver, ERROR_MOD_NOT_FOUND).unwrap_or_default();
        assert!(hint.contains("wintun.dll"), "{hint}");
        assert!(hint.contains("next to the executable"), "{hint}");
        assert!(hint.contains("wintun_path"), "{hint}");
        assert!(hint_of(Operation::Create, ERROR_ACCESS_DENIED)
            .is_some_and(|hint| hint.contains("Administrator")));
        // The same code means something else elsewhere: no DLL hint for a missing address.
        assert!(hint_of(Operation::RemoveIpv4, ERROR_FILE_NOT_FOUND).is_none());
    }
}
