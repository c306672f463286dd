//! One frame sent to a simulated TAP device (macOS): stripped, answered or dropped.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| tun_core::fuzz_entry::ethernet_frame(bytes));
