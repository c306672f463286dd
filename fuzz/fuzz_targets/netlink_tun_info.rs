//! One RTM_NEWLINK answer (the tun driver's details).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| tun_core::fuzz_entry::netlink_tun_info(bytes));
