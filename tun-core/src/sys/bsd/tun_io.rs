//! Packet I/O through the address-family header: the header lives on the stack and goes to the
//! kernel as the first iovec of a `readv`/`writev`, so the user's packet is read and written in
//! place, never copied, and no call allocates (the iovec array for vectored calls is a stack
//! array, filled only as far as it is used).

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;

use super::framing::{first_byte, received_len, sent_len, AddressFamilies, HEADER_LEN};
use crate::sys::unix::{Fd, MAX_IOVECS};

/// Fails unless `count` user buffers and the header fit one call.
fn check_count(count: usize) -> io::Result<()> {
    if count < MAX_IOVECS {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "one packet in {count} buffers: at most {} fit one call here ({MAX_IOVECS}, IOV_MAX, \
             less one for the address-family header); gather the packet into fewer buffers",
            MAX_IOVECS - 1
        ),
    ))
}

/// Receives one packet into `buf`, without its header.
pub(crate) fn recv(fd: &Fd, buf: &mut [u8]) -> io::Result<usize> {
    let mut header = [0; HEADER_LEN];
    let read = fd.readv(&mut [IoSliceMut::new(&mut header), IoSliceMut::new(buf)])?;
    received_len(read, HEADER_LEN)
}

/// Sends one packet, with the header its IP version calls for.
pub(crate) fn send(fd: &Fd, families: AddressFamilies, packet: &[u8]) -> io::Result<usize> {
    let header = families.header_for(packet.first().copied())?;
    let written = fd.writev(&[IoSlice::new(&header), IoSlice::new(packet)])?;
    sent_len(written, HEADER_LEN)
}

/// Receives one packet scattered over `bufs`, without its header.
pub(crate) fn recv_vectored(fd: &Fd, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    check_count(bufs.len())?;
    let mut header = [0; HEADER_LEN];
    let mut slots: [MaybeUninit<IoSliceMut<'_>>; MAX_IOVECS] =
        [const { MaybeUninit::uninit() }; MAX_IOVECS];
    let mut used = 0;
    for (slot, buf) in slots
        .iter_mut()
        .zip(std::iter::once(&mut header[..]).chain(bufs.iter_mut().map(|buf| &mut **buf)))
    {
        slot.write(IoSliceMut::new(buf));
        used += 1;
    }
    // SAFETY: the first `used` slots were initialized just above (`MaybeUninit<T>` has the
    // layout of `T`), and `IoSliceMut` needs no drop, so the rest may stay uninitialized.
    let iovecs = unsafe { std::slice::from_raw_parts_mut(slots.as_mut_ptr().cast(), used) };
    let read = fd.readv(iovecs)?;
    received_len(read, HEADER_LEN)
}

/// Sends one packet gathered from `bufs`, with the header its IP version calls for.
pub(crate) fn send_vectored(
    fd: &Fd,
    families: AddressFamilies,
    bufs: &[IoSlice<'_>],
) -> io::Result<usize> {
    check_count(bufs.len())?;
    let header = families.header_for(first_byte(bufs.iter().map(|buf| &**buf)))?;
    let mut slots: [MaybeUninit<IoSlice<'_>>; MAX_IOVECS] =
        [const { MaybeUninit::uninit() }; MAX_IOVECS];
    let mut used = 0;
    for (slot, buf) in slots
        .iter_mut()
        .zip(std::iter::once(IoSlice::new(&header)).chain(bufs.iter().copied()))
    {
        slot.write(buf);
        used += 1;
    }
    // SAFETY: as in `recv_vectored`: the first `used` slots are initialized, `IoSlice` needs no
    // drop.
    let iovecs = unsafe { std::slice::from_raw_parts(slots.as_ptr().cast(), used) };
    let written = fd.writev(iovecs)?;
    sent_len(written, HEADER_LEN)
}
