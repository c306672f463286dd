//! Interface names from arbitrary bytes: checked (when UTF-8) without a panic, and never
//! accepted too long.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| tun_core::fuzz_entry::interface_name(bytes));
