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

/// Receives one packet into `buf`, without its header; a packet of another family than
/// IPv4 or IPv6 is an error.
pub(crate) fn recv(fd: &Fd, families: AddressFamilies, buf: &mut [u8]) -> io::Result<usize> {
    recv_with_version(fd, families, buf).map(|(len, _)| len)
}

/// [`recv`], with the IP version the header announced.
pub(crate) fn recv_with_version(
    fd: &Fd,
    families: AddressFamilies,
    buf: &mut [u8],
) -> io::Result<(usize, u8)> {
    let mut header = [0; HEADER_LEN];
    let read = fd.readv(&mut [IoSliceMut::new(&mut header), IoSliceMut::new(buf)])?;
    let len = received_len(read, HEADER_LEN)?;
    Ok((len, families.version_of(header)?))
}

/// Sends one packet, with the header its IP version calls for.
pub(crate) fn send(fd: &Fd, families: AddressFamilies, packet: &[u8]) -> io::Result<usize> {
    let header = families.header_for(packet.first().copied())?;
    let written = fd.writev(&[IoSlice::new(&header), IoSlice::new(packet)])?;
    sent_len(written, HEADER_LEN)
}

/// Receives one packet scattered over `bufs`, without its header; checked like [`recv`].
pub(crate) fn recv_vectored(
    fd: &Fd,
    families: AddressFamilies,
    bufs: &mut [IoSliceMut<'_>],
) -> io::Result<usize> {
    let count = bufs.len();
    let bufs = bufs.iter_mut().map(|buf| &mut **buf);
    recv_scattered(fd, families, bufs, count).map(|(len, _)| len)
}

/// Receives one packet into the `count` buffers of `bufs`, after its header: the length
/// without the header, and the IP version the header announced.
pub(crate) fn recv_scattered<'a>(
    fd: &Fd,
    families: AddressFamilies,
    bufs: impl Iterator<Item = &'a mut [u8]>,
    count: usize,
) -> io::Result<(usize, u8)> {
    check_count(count)?;
    let mut header = [0; HEADER_LEN];
    let mut slots: [MaybeUninit<IoSliceMut<'_>>; MAX_IOVECS] =
        [const { MaybeUninit::uninit() }; MAX_IOVECS];
    // The header first, then the user's buffers (reborrowed for as long as `slots` lives).
    let [first, rest @ ..] = &mut slots;
    first.write(IoSliceMut::new(&mut header));
    let mut used = 1;
    for (slot, buf) in rest.iter_mut().zip(bufs) {
        slot.write(IoSliceMut::new(buf));
        used += 1;
    }
    // SAFETY: the first `used` slots were initialized just above (`MaybeUninit<T>` has the
    // layout of `T`), and `IoSliceMut` needs no drop, so the rest may stay uninitialized.
    let iovecs = unsafe { std::slice::from_raw_parts_mut(slots.as_mut_ptr().cast(), used) };
    let read = fd.readv(iovecs)?;
    let len = received_len(read, HEADER_LEN)?;
    Ok((len, families.version_of(header)?))
}

/// Sends one packet gathered from `bufs`, with the header its IP version calls for.
pub(crate) fn send_vectored(
    fd: &Fd,
    families: AddressFamilies,
    bufs: &[IoSlice<'_>],
) -> io::Result<usize> {
    let header = families.header_for(first_byte(bufs.iter().map(|buf| &**buf)))?;
    send_gathered(fd, header, bufs.iter().map(|buf| &**buf), bufs.len())
}

/// Sends `header` and the `count` buffers of `bufs` as one packet; the length without the
/// header.
pub(crate) fn send_gathered<'a>(
    fd: &Fd,
    header: [u8; HEADER_LEN],
    bufs: impl Iterator<Item = &'a [u8]>,
    count: usize,
) -> io::Result<usize> {
    check_count(count)?;
    let mut slots: [MaybeUninit<IoSlice<'_>>; MAX_IOVECS] =
        [const { MaybeUninit::uninit() }; MAX_IOVECS];
    let [first, rest @ ..] = &mut slots;
    first.write(IoSlice::new(&header));
    let mut used = 1;
    for (slot, buf) in rest.iter_mut().zip(bufs) {
        slot.write(IoSlice::new(buf));
        used += 1;
    }
    // SAFETY: as in `recv_scattered`: the first `used` slots are initialized, `IoSlice` needs
    // no drop.
    let iovecs = unsafe { std::slice::from_raw_parts(slots.as_ptr().cast(), used) };
    let written = fd.writev(iovecs)?;
    sent_len(written, HEADER_LEN)
}
