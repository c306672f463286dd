//! A batch planned for coalescing, and the round trip of every merged group.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| tun_core::fuzz_entry::offload_coalesce(bytes));
