//! Linux TUN offload (`IFF_VNET_HDR`), the pure part: the virtio header, the Internet checksum,
//! cutting the kernel's super-packets into packets on read, and planning which packets to merge
//! into super-packets on write.
//!
//! No `unsafe`, no I/O, nothing platform-specific: the Linux queue (`sys/linux`) and
//! `PacketBatch` do the reading and writing, and this module tells them what to put where. That
//! keeps the part where offload code classically goes wrong (checksum arithmetic, merge rules)
//! testable everywhere, under Miri and under the fuzzer.
//!
//! - [`VirtioHeader`]: the 10-byte header in front of every packet.
//! - [`complete_checksum`] finishes a partial checksum (`NEEDS_CSUM`) in place; [`Segments`]
//!   cuts a super-packet into packets, copying and summing each payload in one pass.
//! - [`Coalescer`] plans the writes of a batch by the kernel's GRO rules and writes the head of
//!   each super-packet; the payloads are never copied (the caller uses `writev`).
//!
//! Kernel facts, the peers' designs and their bugs: `PLATFORMS-AND-OFFLOAD.md` §1 in the
//! project notes; the kernel's `include/uapi/linux/virtio_net.h` and
//! `tools/testing/selftests/net/gro.c` are the reference for the fields and the merge rules.
#![cfg_attr(not(tun_linux), allow(dead_code))]
// Until the Linux queue and `PacketBatch` call into this module (issue 10's integration), only
// the tests and the fuzz targets do: remove this line then.
#![allow(dead_code, unused_imports)]

mod checksum;
mod coalesce;
mod packet;
mod split;
#[cfg(any(test, fuzzing))]
pub(crate) mod testing;
mod virtio;

pub(crate) use coalesce::{CoalesceOptions, Coalescer, Group, Packets, HEAD_MAX};
pub(crate) use packet::Malformed;
pub(crate) use split::{complete_checksum, Segments};
pub(crate) use virtio::{
    VirtioHeader, DATA_VALID, GSO_ECN, GSO_NONE, GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4, NEEDS_CSUM,
};
