//! [`PacketBatch`]: many packets per call, the same on every platform.
//!
//! A batch is caller-owned and reused: its packets live back to back in one buffer, so receiving
//! and sending batches allocates nothing once the buffer has grown to the device's packet size.
//! Where the kernel offers more than one packet per system call (Linux with
//! [`Builder::offload`](crate::Builder::offload): 64 KiB super-packets, split on receive and
//! coalesced on send), the platform layer fills and drains the batch itself; everywhere else the
//! loops at the bottom of this file do it with one `recv`/`send` per packet, so code written
//! against the batch API is portable.

// The plumbing below the public API serves the platform layers: Linux uses all of it (offload
// coalescing included), FreeBSD the one-packet-per-call loops, an unsupported target none.
#![cfg_attr(not(tun_offload), allow(dead_code))]

use std::error::Error as StdError;
use std::fmt;
use std::io;

use crate::offload::{Coalescer, Packets};

/// The packets a batch holds by default: wireguard-go's `IdealBatchSize`, enough to take every
/// segment of a 64 KiB super-packet at MTU 1500 (about 45) with room to spare.
pub const DEFAULT_BATCH_PACKETS: usize = 128;

/// The MTU a batch makes room for before it has seen a longer packet (Ethernet's, the default
/// of most links and of every TUN device).
pub(crate) const COMMON_MTU: usize = 1500;

/// The longest packet a batch takes: the longest IP packet (and more than any TUN device hands
/// out without offload).
pub const MAX_BATCH_PACKET_LEN: usize = 65535 + 22;

/// Where a packet lives in [`PacketBatch::data`], and what is known about it.
#[derive(Debug, Clone, Copy)]
struct Slot {
    start: usize,
    len: usize,
    /// Its transport checksum is right: made by our own segmentation or checksum completion,
    /// and not handed out mutably since. Coalescing then need not verify it.
    checksum_known_good: bool,
    /// Written by an earlier `send_batch` call that then failed or was cancelled.
    sent: bool,
}

/// A reusable batch of packets for [`Device::recv_batch`](crate::Device::recv_batch) and
/// [`Device::send_batch`](crate::Device::send_batch) (and the adapters' `recv_batch` and
/// `send_batch`).
///
/// Each packet is one whole packet as [`Device::recv`](crate::Device::recv) would return it (an
/// IP packet on TUN, a frame on TAP, with the packet information header if the device has one),
/// never a kernel super-packet: on an offload device every item is at most MTU-sized.
///
/// The batch owns its memory: one buffer for the packets' bytes, grown on first use to
/// `capacity ×` 1500 bytes (and once more if longer packets arrive) and then reused, so a relay
/// loop allocates nothing per packet or per batch.
///
/// ```no_run
/// use tun_core::{Device, PacketBatch};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let from = Device::builder().up().build()?.remove(0);
/// let to = Device::builder().up().build()?.remove(0);
/// let mut batch = PacketBatch::new();
/// loop {
///     from.recv_batch(&mut batch)?; // at least one packet
///     for packet in batch.iter_mut() {
///         packet[8] = packet[8].saturating_sub(1); // e.g. lower the IPv4 TTL
///     }
///     batch.retain(|packet| packet.len() > 20); // drop what should not pass
///     to.send_batch(&mut batch)?; // every packet; the batch is empty afterwards
/// }
/// # }
/// ```
pub struct PacketBatch {
    /// The packets' bytes, back to back from 0 to `used`; `data.len()` is the byte capacity.
    data: Vec<u8>,
    used: usize,
    slots: Vec<Slot>,
    capacity: usize,
    /// The room a receive needs for one more packet: the common MTU at first, grown to the
    /// longest packet received since.
    packet_room: usize,
    /// Where a received packet longer than the room left goes first (allocated on first need).
    spill: Vec<u8>,
    /// Coalescing's reusable plan (offload devices).
    pub(crate) coalescer: Coalescer,
    /// The unsent packets' indices, reused by `send_batch`.
    pub(crate) unsent: Vec<u16>,
}

impl fmt::Debug for PacketBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketBatch")
            .field("len", &self.slots.len())
            .field("capacity", &self.capacity)
            .field("bytes", &self.used)
            .finish()
    }
}

impl Default for PacketBatch {
    fn default() -> Self {
        PacketBatch::new()
    }
}

/// Why [`PacketBatch::push`] refused a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushError {
    /// The batch holds [`capacity`](PacketBatch::capacity) packets already: send it (or
    /// [`clear`](PacketBatch::clear) it) first.
    Full,
    /// An empty packet: no device takes one.
    Empty,
    /// Longer than [`MAX_BATCH_PACKET_LEN`]: no device takes one.
    TooLong,
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PushError::Full => "the batch is full: send or clear it before pushing more packets",
            PushError::Empty => "an empty packet cannot be sent: a packet has at least one byte",
            PushError::TooLong => "the packet is longer than any device takes (65535 + 22 bytes)",
        })
    }
}

impl StdError for PushError {}

impl From<PushError> for io::Error {
    fn from(err: PushError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, err)
    }
}

impl PacketBatch {
    /// A batch of up to [`DEFAULT_BATCH_PACKETS`] (128) packets.
    pub fn new() -> PacketBatch {
        PacketBatch::with_capacity(DEFAULT_BATCH_PACKETS)
    }

    /// A batch of up to `packets` packets (at least 1, at most 65535).
    pub fn with_capacity(packets: usize) -> PacketBatch {
        let capacity = packets.clamp(1, usize::from(u16::MAX));
        PacketBatch {
            data: Vec::new(),
            used: 0,
            slots: Vec::with_capacity(capacity),
            capacity,
            packet_room: 0,
            spill: Vec::new(),
            coalescer: Coalescer::new(),
            unsent: Vec::new(),
        }
    }

    /// The most packets the batch holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The packets it holds.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether it holds no packet.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Whether it holds [`capacity`](Self::capacity) packets.
    pub fn is_full(&self) -> bool {
        self.slots.len() >= self.capacity
    }

    /// Removes every packet (and what a failed `send_batch` remembered of them); keeps the
    /// memory.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.used = 0;
    }

    /// Appends a copy of `packet`.
    pub fn push(&mut self, packet: &[u8]) -> Result<(), PushError> {
        if self.is_full() {
            return Err(PushError::Full);
        }
        if packet.is_empty() {
            return Err(PushError::Empty);
        }
        if packet.len() > MAX_BATCH_PACKET_LEN {
            return Err(PushError::TooLong);
        }
        let start = self.used;
        let end = start + packet.len();
        if self.data.len() < end {
            // Amortised growth; a reused batch stops growing.
            let grown = end.max(self.data.len() * 2);
            self.data.resize(grown, 0);
        }
        if let Some(room) = self.data.get_mut(start..end) {
            room.copy_from_slice(packet);
        }
        self.commit(packet.len(), false);
        Ok(())
    }

    /// The packet at `index`.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.slots.get(index).map(|slot| self.bytes(slot))
    }

    /// The packet at `index`, to change in place (its length stays).
    pub fn get_mut(&mut self, index: usize) -> Option<&mut [u8]> {
        let slot = self.slots.get_mut(index)?;
        slot.checksum_known_good = false;
        self.data.get_mut(slot.start..slot.start + slot.len)
    }

    /// The packets, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.slots.iter().map(|slot| self.bytes(slot))
    }

    /// The packets, in order, to change in place (their lengths stay).
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = &mut [u8]> + '_ {
        let mut rest: &mut [u8] = self.data.get_mut(..self.used).unwrap_or_default();
        let mut offset = 0;
        self.slots.iter_mut().map(move |slot| {
            slot.checksum_known_good = false;
            // Slots are in increasing, non-overlapping order (`retain` keeps the order), so
            // each split moves forward; `take` keeps `rest` owned by the closure between calls.
            let tail = std::mem::take(&mut rest);
            let Some((_, from_start)) = tail.split_at_mut_checked(slot.start - offset) else {
                return &mut [][..];
            };
            let Some((packet, after)) = from_start.split_at_mut_checked(slot.len) else {
                return &mut [][..];
            };
            rest = after;
            offset = slot.start + slot.len;
            packet
        })
    }

    /// Keeps only the packets for which `keep` returns `true`, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        let data = &self.data;
        self.slots.retain(|slot| {
            keep(
                data.get(slot.start..slot.start + slot.len)
                    .unwrap_or_default(),
            )
        });
    }

    fn bytes(&self, slot: &Slot) -> &[u8] {
        // Every slot lies within `data` (made by `commit`): never the default.
        self.data
            .get(slot.start..slot.start + slot.len)
            .unwrap_or_default()
    }

    // --- for the receive and send loops (this file and the platform layer) --------------------

    /// Clears the batch for a receive and makes sure it has room for `capacity` packets of
    /// `packet_room` bytes (the first receive, or a device with a larger MTU, grows it once).
    pub(crate) fn prepare_recv(&mut self, packet_room: usize) {
        self.clear();
        if packet_room > self.packet_room {
            self.packet_room = packet_room.min(MAX_BATCH_PACKET_LEN);
        }
        let bytes = self.capacity * self.packet_room;
        if self.data.len() < bytes {
            self.data.resize(bytes, 0);
        }
    }

    /// The room a receive gives one packet (it grows with longer packets).
    pub(crate) fn packet_room(&self) -> usize {
        self.packet_room
    }

    /// Whether another packet of the usual room fits.
    pub(crate) fn has_room(&self) -> bool {
        !self.is_full() && self.data.len() - self.used >= self.packet_room
    }

    /// Whether `len` more bytes fit, as one more packet.
    pub(crate) fn fits(&self, len: usize) -> bool {
        !self.is_full() && self.data.len() - self.used >= len
    }

    /// The free bytes after the last packet, where the next one is received.
    pub(crate) fn tail_mut(&mut self) -> &mut [u8] {
        self.data.get_mut(self.used..).unwrap_or_default()
    }

    /// The free bytes and the spill area behind them (64 KiB, made on first use): a vectored
    /// read into both never truncates a packet.
    pub(crate) fn tail_and_spill(&mut self) -> (&mut [u8], &mut [u8]) {
        if self.spill.is_empty() {
            self.spill = vec![0; MAX_BATCH_PACKET_LEN];
        }
        (
            self.data.get_mut(self.used..).unwrap_or_default(),
            &mut self.spill,
        )
    }

    /// A packet of `len` bytes was received into [`tail_and_spill`](Self::tail_and_spill) and
    /// did not fit the tail: grows the batch so that it does, moves the spilled part after the
    /// tail's, and keeps it.
    pub(crate) fn commit_spilled(&mut self, len: usize) {
        let in_tail = self.data.len() - self.used;
        let spilled = len - in_tail;
        self.packet_room = self.packet_room.max(len);
        let bytes = (self.capacity * self.packet_room).max(self.used + len);
        self.data.resize(bytes, 0);
        let start = self.used + in_tail;
        if let (Some(room), Some(spilled)) = (
            self.data.get_mut(start..start + spilled),
            self.spill.get(..spilled),
        ) {
            room.copy_from_slice(spilled);
        }
        self.commit(len, false);
    }

    /// Keeps a copy of `packet`, received elsewhere because it was longer than the room left,
    /// growing the batch so that packets this long fit from now on.
    pub(crate) fn commit_copy(&mut self, packet: &[u8], checksum_known_good: bool) {
        let len = packet.len();
        self.packet_room = self.packet_room.max(len);
        let bytes = (self.capacity * self.packet_room).max(self.used + len);
        if self.data.len() < bytes {
            self.data.resize(bytes, 0);
        }
        if let Some(room) = self.data.get_mut(self.used..self.used + len) {
            room.copy_from_slice(packet);
        }
        self.commit(len, checksum_known_good);
    }

    /// Keeps the `len` bytes just written at the tail as the next packet.
    pub(crate) fn commit(&mut self, len: usize, checksum_known_good: bool) {
        self.slots.push(Slot {
            start: self.used,
            len,
            checksum_known_good,
            sent: false,
        });
        self.used += len;
    }

    /// Marks packet `index` as written (by a send that may yet fail on a later packet).
    pub(crate) fn mark_sent(&mut self, index: usize) {
        if let Some(slot) = self.slots.get_mut(index) {
            slot.sent = true;
        }
    }

    /// Collects the indices of the packets not yet written into `self.unsent`.
    pub(crate) fn collect_unsent(&mut self) {
        self.unsent.clear();
        // `with_capacity` limits the batch to u16::MAX packets.
        self.unsent.extend(
            self.slots
                .iter()
                .enumerate()
                .filter(|(_, slot)| !slot.sent)
                .map(|(index, _)| index as u16),
        );
    }
}

/// The unsent packets of a batch, as the coalescer sees them (index `i` is the `i`-th unsent
/// packet).
pub(crate) struct Unsent<'a> {
    pub(crate) batch: &'a PacketBatch,
    pub(crate) indices: &'a [u16],
}

impl Unsent<'_> {
    /// The `i`-th unsent packet's slot.
    fn slot(&self, index: usize) -> Option<&Slot> {
        let &batch_index = self.indices.get(index)?;
        self.batch.slots.get(usize::from(batch_index))
    }
}

impl Packets for Unsent<'_> {
    fn len(&self) -> usize {
        self.indices.len()
    }

    fn packet(&self, index: usize) -> &[u8] {
        self.slot(index)
            .map_or(&[][..], |slot| self.batch.bytes(slot))
    }

    fn checksum_known_good(&self, index: usize) -> bool {
        self.slot(index)
            .is_some_and(|slot| slot.checksum_known_good)
    }
}

/// `recv_batch` where the kernel hands out one packet per read: reads until the batch is full,
/// or (in non-blocking mode) until the device has nothing more; in blocking mode one read, since
/// a second could wait without limit. `read(buf, spill)` reads one packet into both (a vectored
/// read) and returns its length.
pub(crate) fn recv_each(
    batch: &mut PacketBatch,
    nonblocking: bool,
    mut read: impl FnMut(&mut [u8], &mut [u8]) -> io::Result<usize>,
) -> io::Result<usize> {
    while batch.has_room() {
        let (tail, spill) = batch.tail_and_spill();
        let tail_len = tail.len();
        match read(tail, spill) {
            Ok(len) if len > tail_len => batch.commit_spilled(len),
            Ok(len) => batch.commit(len, false),
            // What was received so far is handed out; the error (if it lasts) comes next call.
            Err(_) if !batch.is_empty() => break,
            Err(err) => return Err(err),
        }
        if !nonblocking {
            break;
        }
    }
    Ok(batch.len())
}

/// `send_batch` where the kernel takes one packet per write: sends the packets not yet sent,
/// in order. A packet the kernel refused counts as done (it would be refused again); a
/// `WouldBlock` or `Interrupted` one does not. Returns how many packets this call wrote; the
/// batch is empty on `Ok`.
pub(crate) fn send_each(
    batch: &mut PacketBatch,
    mut write: impl FnMut(&[u8]) -> io::Result<usize>,
) -> io::Result<usize> {
    let mut written = 0;
    for index in 0..batch.slots.len() {
        let Some(&slot) = batch.slots.get(index) else {
            break;
        };
        if slot.sent {
            continue;
        }
        let result = write(batch.bytes(&slot));
        match result {
            Ok(_) => written += 1,
            Err(err) => {
                if !retry_later(&err) {
                    batch.mark_sent(index);
                }
                return Err(err);
            }
        }
        batch.mark_sent(index);
    }
    batch.clear();
    Ok(written)
}

/// Errors after which the same packet should be written again (rather than skipped).
pub(crate) fn retry_later(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_iterate_and_change_in_place() {
        let mut batch = PacketBatch::with_capacity(3);
        assert!(batch.is_empty());
        batch.push(&[1, 2, 3]).unwrap();
        batch.push(&[4]).unwrap();
        batch.push(&[5, 6]).unwrap();
        assert_eq!(batch.push(&[7]), Err(PushError::Full));
        assert_eq!(batch.len(), 3);
        let seen: Vec<&[u8]> = batch.iter().collect();
        assert_eq!(seen, [&[1, 2, 3][..], &[4], &[5, 6]]);
        for packet in batch.iter_mut() {
            packet[0] += 10;
        }
        assert_eq!(batch.get(2), Some(&[15, 6][..]));
        batch.retain(|packet| packet.len() != 1);
        let seen: Vec<&[u8]> = batch.iter().collect();
        assert_eq!(seen, [&[11, 2, 3][..], &[15, 6]]);
        // iter_mut after retain walks the gaps left behind.
        for packet in batch.iter_mut() {
            packet[0] = 0;
        }
        assert_eq!(batch.get(1), Some(&[0, 6][..]));
        batch.clear();
        assert!(batch.is_empty());
        assert_eq!(batch.push(&[]), Err(PushError::Empty));
        assert_eq!(
            batch.push(&vec![0; MAX_BATCH_PACKET_LEN + 1]),
            Err(PushError::TooLong)
        );
    }

    #[test]
    fn receive_loops_grow_for_long_packets_and_stop_when_blocked() {
        let mut batch = PacketBatch::with_capacity(4);
        batch.prepare_recv(100);
        let mut lengths = [50usize, 500, 60].into_iter();
        let n = recv_each(&mut batch, true, |tail, spill| {
            let Some(len) = lengths.next() else {
                return Err(io::ErrorKind::WouldBlock.into());
            };
            let value = len as u8;
            let in_tail = len.min(tail.len());
            tail[..in_tail].fill(value);
            spill[..len - in_tail].fill(value);
            Ok(len)
        })
        .unwrap();
        assert_eq!(n, 3);
        let lengths: Vec<usize> = batch.iter().map(<[u8]>::len).collect();
        assert_eq!(lengths, [50, 500, 60]);
        for packet in batch.iter() {
            assert!(packet.iter().all(|&b| usize::from(b) == packet.len() % 256));
        }
        // Blocking mode: one read per call.
        batch.prepare_recv(100);
        let n = recv_each(&mut batch, false, |tail, _| {
            tail[0] = 9;
            Ok(1)
        })
        .unwrap();
        assert_eq!(n, 1);
        // Nothing at all: the error itself.
        batch.prepare_recv(100);
        let err = recv_each(&mut batch, true, |_, _| {
            Err(io::ErrorKind::WouldBlock.into())
        });
        assert_eq!(err.unwrap_err().kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn a_failed_send_resumes_without_sending_a_packet_twice() {
        let mut batch = PacketBatch::new();
        for i in 1..=4u8 {
            batch.push(&[i]).unwrap();
        }
        let mut wire = Vec::new();
        // Blocks at the third packet.
        let err = send_each(&mut batch, |p| {
            if p == [3] && !wire.contains(&99) {
                wire.push(99);
                return Err(io::ErrorKind::WouldBlock.into());
            }
            wire.push(p[0]);
            Ok(1)
        })
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(batch.len(), 4, "kept for the retry");
        // The kernel refuses the fourth: it counts as done.
        let err = send_each(&mut batch, |p| {
            if p == [4] {
                return Err(io::Error::from_raw_os_error(22));
            }
            wire.push(p[0]);
            Ok(1)
        })
        .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(22));
        assert_eq!(send_each(&mut batch, |_| unreachable!()).unwrap(), 0);
        assert!(batch.is_empty());
        assert_eq!(wire, [1, 2, 99, 3]);
    }
}
