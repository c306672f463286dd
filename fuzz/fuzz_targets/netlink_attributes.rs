//! Runs of netlink attributes, nested ones included.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| tun_core::fuzz_entry::netlink_attributes(bytes));
