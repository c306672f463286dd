//! Offload queues (`IFF_VNET_HDR`): every read and write carries a `virtio_net_hdr`, reads may be
//! 64 KiB TCP/UDP super-packets, and writes may be too. Users never see either: this file adds
//! and strips the header, splits super-packets into MTU-sized packets (one per `recv`, or many
//! per `recv_batch`) and coalesces same-flow packets of a batch into super-packets on
//! `send_batch`. The packet arithmetic is the pure `crate::offload`; here is only its I/O.
//!
//! Zero-copy where it counts: a plain packet is read straight into the caller's buffer (or its
//! batch slot) by `readv([header, buffer, scratch])`, and only a super-packet's first bytes are
//! moved next to the rest in the scratch; a coalesced write is `writev([header + the head's
//! rewritten headers, payload, payload, ...])` straight from the batch, with no payload copy.

use std::io::{self, IoSlice, IoSliceMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::batch::{retry_later, PacketBatch, Unsent};
use crate::offload::{
    complete_checksum, CoalesceOptions, Malformed, Segments, VirtioHeader, DATA_VALID, HEAD_MAX,
    NEEDS_CSUM,
};
use crate::sys::unix::{cvt, Fd, MAX_IOVECS};

/// The longest packet or super-packet a read hands out (64 KiB: the device's default
/// `gso_max_size`), and so the room on each side of the scratch: the caller's buffer takes the
/// first part of a read (at most this much), the scratch's second half the rest, and for a
/// super-packet the first part is copied into the first half, right before the rest.
const HALF: usize = 65536;

/// The offloads the kernel granted (`TUNSETOFFLOAD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Granted {
    /// TCP segmentation (TSO4 and TSO6, with checksum offload): always, on an offload queue.
    pub(crate) tcp: bool,
    /// UDP segmentation (USO4 and USO6, Linux 6.2 and later).
    pub(crate) udp: bool,
}

/// Asks for checksum and TCP segmentation offload, and UDP segmentation where the kernel has
/// it (older kernels refuse the unknown USO bits with `EINVAL`).
pub(crate) fn set_offloads(fd: &Fd) -> io::Result<Granted> {
    let tcp = libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6;
    match set_offload_mask(fd, tcp | libc::TUN_F_USO4 | libc::TUN_F_USO6) {
        Ok(()) => Ok(Granted {
            tcp: true,
            udp: true,
        }),
        Err(err) if err.raw_os_error() == Some(libc::EINVAL) => {
            set_offload_mask(fd, tcp)?;
            Ok(Granted {
                tcp: true,
                udp: false,
            })
        }
        Err(err) => Err(err),
    }
}

/// `TUNSETOFFLOAD`: the device-wide offload mask (0 turns them all off).
pub(crate) fn set_offload_mask(fd: &Fd, mask: libc::c_uint) -> io::Result<()> {
    // SAFETY: TUNSETOFFLOAD reads its argument as an integer, not as a pointer.
    cvt(unsafe {
        libc::ioctl(
            fd.raw(),
            libc::TUNSETOFFLOAD as _,
            libc::c_ulong::from(mask),
        )
    })?;
    Ok(())
}

/// The offload state of one queue.
#[derive(Debug)]
pub(crate) struct Vnet {
    granted: Granted,
    /// Coalescing on `send_batch`, per protocol. Cleared for good when the kernel refuses a
    /// coalesced write with `EINVAL` (regressions in 6.1.103, 6.6.44 and 6.10.x did).
    coalesce_tcp: AtomicBool,
    coalesce_udp: AtomicBool,
    /// Test support: the next coalesced write carries a header the kernel refuses (`EINVAL`),
    /// so that the fallback for kernels that refuse them all runs on a kernel that does not.
    refuse_next: AtomicBool,
    rx: Mutex<Rx>,
}

/// The receive side: the scratch and the segments of a super-packet not handed out yet.
#[derive(Debug, Default)]
struct Rx {
    /// `2 × HALF` bytes, made on the first read.
    scratch: Vec<u8>,
    pending: Option<Pending>,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    segments: Segments,
    next: usize,
    /// Where the super-packet lies in the scratch.
    start: usize,
    len: usize,
}

/// What one read brought.
enum Arrival {
    /// A packet, whole in the caller's buffer (its checksum completed).
    Packet {
        len: usize,
        checksum_known_good: bool,
    },
    /// A plain packet longer than the caller's buffer: whole in the scratch at `start`.
    Long { start: usize, len: usize },
    /// A super-packet, now pending in the scratch.
    Segments,
}

fn malformed(err: Malformed) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, err)
}

/// The header of a packet written as it is.
const PLAIN_HEADER: [u8; VirtioHeader::LEN] = [0; VirtioHeader::LEN];

/// A group coalesced into one write has at most this many members (their payload slices and
/// the head fit one `writev`, on the stack); a longer one (tiny TCP segments) goes member by
/// member.
const MAX_GROUP: usize = 127;

impl Vnet {
    pub(crate) fn new(granted: Granted) -> Vnet {
        Vnet {
            granted,
            coalesce_tcp: AtomicBool::new(granted.tcp),
            coalesce_udp: AtomicBool::new(granted.udp),
            refuse_next: AtomicBool::new(false),
            rx: Mutex::new(Rx::default()),
        }
    }

    pub(crate) fn granted(&self) -> Granted {
        self.granted
    }

    /// Whether `send_batch` coalesces TCP and UDP.
    pub(crate) fn coalescing(&self) -> (bool, bool) {
        (
            self.coalesce_tcp.load(Ordering::Relaxed),
            self.coalesce_udp.load(Ordering::Relaxed),
        )
    }

    /// Turns coalescing on or off, per protocol, as far as the kernel granted it.
    pub(crate) fn set_coalescing(&self, tcp: bool, udp: bool) {
        self.coalesce_tcp
            .store(tcp && self.granted.tcp, Ordering::Relaxed);
        self.coalesce_udp
            .store(udp && self.granted.udp, Ordering::Relaxed);
    }

    /// Makes the next coalesced write carry a checksum offset beyond the packet, which the
    /// kernel refuses with `EINVAL` (test support).
    pub(crate) fn refuse_next_coalesced_write(&self) {
        self.refuse_next.store(true, Ordering::Relaxed);
    }

    fn rx(&self) -> MutexGuard<'_, Rx> {
        // A panic while the lock was held leaves at worst a spent super-packet behind.
        self.rx.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // --- receive -------------------------------------------------------------------------------

    /// Whether segments of a super-packet wait to be handed out (then a receive needs no read,
    /// and the fd need not be readable).
    pub(crate) fn has_pending(&self) -> bool {
        self.rx().pending.is_some()
    }

    /// One packet into `buf`: the next pending segment, or a new read.
    pub(crate) fn recv(&self, fd: &Fd, buf: &mut [u8]) -> io::Result<usize> {
        let mut rx = self.rx();
        if let Some(len) = rx.next_segment(buf)? {
            return Ok(len);
        }
        match rx.read(fd, buf, false)? {
            Arrival::Packet { len, .. } => Ok(len),
            // Too long for `buf`: like a plain read, the first `buf.len()` bytes (already there).
            Arrival::Long { .. } => Ok(buf.len()),
            Arrival::Segments => Ok(rx.next_segment(buf)?.unwrap_or(0)),
        }
    }

    /// One packet scattered over `bufs`: received whole into a buffer of its own, then copied
    /// (the vectored form is for callers who need the layout, not the fast path).
    pub(crate) fn recv_vectored(&self, fd: &Fd, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let mut packet = vec![0; HALF];
        let len = self.recv(fd, &mut packet)?;
        let mut rest = packet.get(..len).unwrap_or_default();
        let mut copied = 0;
        for buf in bufs.iter_mut() {
            let take = buf.len().min(rest.len());
            let (part, after) = rest.split_at(take);
            if let Some(room) = buf.get_mut(..take) {
                room.copy_from_slice(part);
            }
            rest = after;
            copied += take;
        }
        Ok(copied)
    }

    /// Fills `batch` (prepared by the caller): pending segments first, then reads, splitting
    /// super-packets into the batch; segments that do not fit stay pending for the next call.
    pub(crate) fn recv_batch(
        &self,
        fd: &Fd,
        batch: &mut PacketBatch,
        nonblocking: bool,
    ) -> io::Result<usize> {
        let mut rx = self.rx();
        rx.drain_into(batch)?;
        while batch.has_room() {
            // In blocking mode only a read into an empty batch may wait: the others take what
            // is queued (`RWF_NOWAIT`). A plain packet needs at most the usual room; more would
            // only make a super-packet's first part (moved into the scratch) longer.
            let nowait = !nonblocking && !batch.is_empty();
            let room = batch.packet_room();
            let tail = batch.tail_mut();
            let (dst, _) = tail.split_at_mut(tail.len().min(room));
            match rx.read(fd, dst, nowait) {
                Ok(Arrival::Packet {
                    len,
                    checksum_known_good,
                }) => batch.commit(len, checksum_known_good),
                Ok(Arrival::Long { start, len }) => batch.commit_copy(rx.packet(start, len), false),
                Ok(Arrival::Segments) => rx.drain_into(batch)?,
                // What was received so far is handed out; a lasting error comes again next call
                // (a malformed super-packet is dropped).
                Err(_) if !batch.is_empty() => break,
                Err(err) => return Err(err),
            }
        }
        Ok(batch.len())
    }

    // --- send ----------------------------------------------------------------------------------

    /// One packet, behind a header that asks for nothing: `writev`, no copy.
    pub(crate) fn send(fd: &Fd, packet: &[u8]) -> io::Result<usize> {
        let written = fd.writev(&[IoSlice::new(&PLAIN_HEADER), IoSlice::new(packet)])?;
        Ok(written.saturating_sub(VirtioHeader::LEN))
    }

    /// One packet gathered from `bufs`, behind a plain header.
    pub(crate) fn send_vectored(fd: &Fd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if bufs.len() >= MAX_IOVECS {
            // Refused by the same check as without offload (the header takes one iovec).
            return fd.writev(bufs);
        }
        let mut iovecs = Vec::with_capacity(bufs.len() + 1);
        iovecs.push(IoSlice::new(&PLAIN_HEADER));
        iovecs.extend_from_slice(bufs);
        let written = fd.writev(&iovecs)?;
        Ok(written.saturating_sub(VirtioHeader::LEN))
    }

    /// Sends every unsent packet of `batch`, coalescing what the kernel's GRO would merge;
    /// progress is recorded in the batch so that a failed or cancelled call can be repeated.
    pub(crate) fn send_batch(&self, fd: &Fd, batch: &mut PacketBatch) -> io::Result<usize> {
        let (tcp, udp) = self.coalescing();
        if !tcp && !udp {
            return crate::batch::send_each(batch, |packet| Vnet::send(fd, packet));
        }
        batch.collect_unsent();
        // Out of the batch while the plan borrows it; put back before returning.
        let mut coalescer = std::mem::take(&mut batch.coalescer);
        let unsent = std::mem::take(&mut batch.unsent);
        let view = Unsent {
            batch,
            indices: &unsent,
        };
        coalescer.plan(&view, CoalesceOptions { tcp, udp });
        // Groups go in order: all before `done_groups` are written, and the first
        // `done_in_group` members of the next.
        let mut done_groups = 0;
        let mut done_in_group = 0;
        let mut written = 0;
        let mut result = Ok(());
        'groups: for group in coalescer.groups() {
            let members = coalescer.members(group);
            if members.len() > 1
                && members.len() <= MAX_GROUP
                && self.coalescing() != (false, false)
            {
                let mut head = [0; HEAD_MAX];
                let head_len = coalescer.write_head(group, &view, &mut head);
                if self.refuse_next.swap(false, Ordering::Relaxed) {
                    // `csum_offset` (bytes 8 and 9 of the virtio header) far past the packet.
                    head[8..10].copy_from_slice(&u16::MAX.to_ne_bytes());
                }
                let header_len = group.header_len();
                let mut iovecs = [IoSlice::new(&[]); MAX_GROUP + 1];
                iovecs[0] = IoSlice::new(head.get(..head_len).unwrap_or_default());
                for (iovec, &member) in iovecs.iter_mut().skip(1).zip(members) {
                    let packet = view.packet_at(usize::from(member));
                    *iovec = IoSlice::new(packet.get(header_len..).unwrap_or_default());
                }
                // At most MAX_GROUP members (checked above): never the default.
                let iovecs = iovecs.get(..=members.len()).unwrap_or_default();
                match fd.writev(iovecs) {
                    Ok(_) => {
                        written += members.len();
                        done_groups += 1;
                        continue;
                    }
                    // This kernel refuses coalesced writes: never again on this queue, and these
                    // members go one by one below.
                    Err(err) if err.raw_os_error() == Some(libc::EINVAL) => {
                        self.set_coalescing(false, false);
                    }
                    Err(err) => {
                        if !retry_later(&err) {
                            done_groups += 1;
                        }
                        result = Err(err);
                        break 'groups;
                    }
                }
            }
            for &member in members {
                match Vnet::send(fd, view.packet_at(usize::from(member))) {
                    Ok(_) => written += 1,
                    Err(err) => {
                        // A packet the kernel refused counts as done (it would be refused again).
                        if !retry_later(&err) {
                            done_in_group += 1;
                        }
                        result = Err(err);
                        break 'groups;
                    }
                }
                done_in_group += 1;
            }
            done_groups += 1;
            done_in_group = 0;
        }
        // Record the progress (the members written) before handing the batch back.
        let groups = coalescer.groups();
        let mut sent = Vec::new();
        if result.is_err() {
            for group in groups.iter().take(done_groups) {
                sent.extend_from_slice(coalescer.members(group));
            }
            if let Some(group) = groups.get(done_groups) {
                let members = coalescer.members(group);
                sent.extend(members.iter().take(done_in_group));
            }
        }
        for member in sent {
            if let Some(&index) = unsent.get(usize::from(member)) {
                batch.mark_sent(usize::from(index));
            }
        }
        batch.coalescer = coalescer;
        batch.unsent = unsent;
        result?;
        batch.clear();
        Ok(written)
    }
}

impl Unsent<'_> {
    fn packet_at(&self, index: usize) -> &[u8] {
        crate::offload::Packets::packet(self, index)
    }
}

impl Rx {
    fn scratch(&mut self) -> &mut [u8] {
        if self.scratch.is_empty() {
            self.scratch = vec![0; 2 * HALF];
        }
        &mut self.scratch
    }

    /// The bytes of the scratch from `start`, `len` long (empty if that is not in it, which
    /// `read` never makes).
    fn packet(&self, start: usize, len: usize) -> &[u8] {
        self.scratch.get(start..start + len).unwrap_or_default()
    }

    /// Reads one packet or super-packet (`nowait`: only if one is queued); its first bytes land
    /// in `dst`.
    fn read(&mut self, fd: &Fd, dst: &mut [u8], nowait: bool) -> io::Result<Arrival> {
        let dst_len = dst.len().min(HALF);
        let (dst, _) = dst.split_at_mut(dst_len);
        let mut header = [0; VirtioHeader::LEN];
        let (front, back) = self.scratch().split_at_mut(HALF);
        let bufs = &mut [
            IoSliceMut::new(&mut header),
            IoSliceMut::new(dst),
            IoSliceMut::new(back),
        ];
        let read = if nowait {
            fd.readv_nowait(bufs)?
        } else {
            fd.readv(bufs)?
        };
        let Some(len) = read.checked_sub(VirtioHeader::LEN) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("an offload read of {read} bytes, shorter than its virtio header"),
            ));
        };
        let header = VirtioHeader::decode(header);
        let in_dst = len.min(dst_len);
        let (received, _) = dst.split_at_mut(in_dst);
        if !header.is_gso() && len <= dst_len {
            complete_checksum(&header, received).map_err(malformed)?;
            return Ok(Arrival::Packet {
                len,
                checksum_known_good: header.flags & (NEEDS_CSUM | DATA_VALID) != 0,
            });
        }
        // Make it contiguous: its first part goes right before the rest, at the end of the
        // first half.
        let start = HALF - in_dst;
        let (_, before_rest) = front.split_at_mut(start);
        before_rest.copy_from_slice(received);
        let packet = self.scratch.get_mut(start..start + len).unwrap_or_default();
        if !header.is_gso() {
            complete_checksum(&header, packet).map_err(malformed)?;
            return Ok(Arrival::Long { start, len });
        }
        let segments = Segments::parse(&header, packet).map_err(malformed)?;
        self.pending = Some(Pending {
            segments,
            next: 0,
            start,
            len,
        });
        Ok(Arrival::Segments)
    }

    /// The length of the next pending segment, if there is one.
    fn next_len(&self) -> Option<usize> {
        let pending = self.pending.as_ref()?;
        Some(pending.segments.segment_len(pending.next))
    }

    /// Writes the next pending segment into `out` (long enough: `next_len`) and moves on,
    /// forgetting the super-packet after its last segment.
    fn write_next(&mut self, out: &mut [u8]) -> io::Result<Option<usize>> {
        let Some(pending) = self.pending.as_mut() else {
            return Ok(None);
        };
        let Pending {
            segments,
            next,
            start,
            len,
        } = *pending;
        pending.next += 1;
        if next + 1 >= segments.count() {
            self.pending = None;
        }
        let written = segments
            .write_segment(self.packet(start, len), next, out)
            .map_err(malformed)?;
        Ok(Some(written))
    }

    /// Writes the next pending segment into `buf` (its first `buf.len()` bytes if it is
    /// longer, like a plain read into a short buffer).
    fn next_segment(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let Some(segment_len) = self.next_len() else {
            return Ok(None);
        };
        if buf.len() >= segment_len {
            return self.write_next(buf);
        }
        let mut whole = vec![0; segment_len];
        self.write_next(&mut whole)?;
        let (part, _) = whole.split_at(buf.len());
        buf.copy_from_slice(part);
        Ok(Some(buf.len()))
    }

    /// Moves pending segments into `batch` while they fit.
    fn drain_into(&mut self, batch: &mut PacketBatch) -> io::Result<()> {
        while let Some(segment_len) = self.next_len() {
            if !batch.fits(segment_len) {
                break;
            }
            if let Some(written) = self.write_next(batch.tail_mut())? {
                batch.commit(written, true);
            }
        }
        Ok(())
    }
}
