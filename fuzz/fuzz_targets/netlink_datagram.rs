//! rtnetlink datagrams, and every answer in them, as a real query reads them.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| tun_core::fuzz_entry::netlink_datagram(bytes));
