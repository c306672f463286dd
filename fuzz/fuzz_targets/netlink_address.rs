//! One RTM_NEWADDR answer (an interface address).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| tun_core::fuzz_entry::netlink_address(bytes));
