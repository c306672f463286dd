//! Windows through the public API, runnable without a Wintun driver (under Wine in CI:
//! `scripts/wine-test`): what a build does when `wintun.dll` is missing or is not Wintun, and
//! what it refuses before loading anything.
#![cfg(windows)]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use tun_core::{Device, ErrorKind, Operation};

fn build_error(builder: tun_core::Builder) -> tun_core::Error {
    match builder.build() {
        Ok(_) => panic!("the build succeeded"),
        Err(err) => err,
    }
}

#[test]
fn a_missing_wintun_dll_is_not_found_with_a_hint_saying_where_to_put_it() {
    // Neither next to the test executable nor in System32 (Wine has no Wintun): the default
    // search fails like an explicit path that does not exist.
    let missing = std::env::temp_dir().join("no-such-dir").join("wintun.dll");
    for builder in [
        Device::builder().name("wine0"),
        Device::builder().name("wine0").wintun_path(&missing),
    ] {
        let err = build_error(builder);
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert_eq!(err.operation(), Operation::LoadDriver, "{err}");
        let hint = err.hint().expect("no hint");
        assert!(hint.contains("wintun.dll"), "{hint}");
        assert!(hint.contains("next to the executable"), "{hint}");
        assert!(hint.contains("wintun_path"), "{hint}");
        let text = err.to_string();
        assert!(text.contains("load the driver library"), "{text}");
        assert!(text.contains("wine0"), "{text}");
    }
}

#[test]
fn a_dll_that_is_not_wintun_is_refused() {
    // A real DLL without Wintun's entry points.
    let system = std::env::var_os("SystemRoot").expect("SystemRoot is not set");
    let kernel32 = std::path::Path::new(&system)
        .join("System32")
        .join("kernel32.dll");
    let err = build_error(Device::builder().wintun_path(kernel32));
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
    assert!(
        err.hint().is_some_and(|hint| hint.contains("Wintun 0.14")),
        "{err}"
    );
    // A file that is no DLL at all.
    let not_a_dll = std::env::temp_dir().join("tun-core-not-a-dll.dll");
    std::fs::write(&not_a_dll, b"not a portable executable").unwrap();
    let err = build_error(Device::builder().wintun_path(&not_a_dll));
    std::fs::remove_file(&not_a_dll).unwrap();
    assert_eq!(err.operation(), Operation::LoadDriver, "{err}");
    assert_ne!(err.kind(), ErrorKind::Other, "{err:?}");
}

#[test]
fn what_windows_cannot_do_is_refused_before_loading_the_dll() {
    let missing = std::env::temp_dir().join("no-such-dir").join("wintun.dll");
    // TAP: Wintun is layer 3 only.
    let err = build_error(Device::builder().tap().wintun_path(&missing));
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert_eq!(err.operation(), Operation::CheckSettings, "{err}");
    // Bad Wintun settings and names: refused by the checks, before the DLL is looked for.
    for builder in [
        Device::builder().ring_capacity(1 << 16),
        Device::builder().ring_capacity((1 << 20) + 1),
        Device::builder().tunnel_type(""),
        Device::builder().name(&"x".repeat(128)),
        Device::builder().name("two%d%d"),
        Device::builder().name(" padded"),
    ] {
        let err = build_error(builder.wintun_path(&missing));
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(err.operation(), Operation::CheckSettings, "{err}");
    }
}
