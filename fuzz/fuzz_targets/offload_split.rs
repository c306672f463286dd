//! One read from an offload device: virtio header and packet, split or checksum-completed.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| tun_core::fuzz_entry::offload_split(bytes));
