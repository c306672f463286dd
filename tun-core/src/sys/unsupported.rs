//! Targets without TUN/TAP support yet: everything compiles, `create` says it is unsupported.
//!
//! `Queue` and `Interface` are uninhabited: no `Device` can exist here, so their methods are
//! never called and `match *self {}` proves it to the compiler. Nothing here pretends to work.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, Ipv6Addr};

use super::Created;
use crate::check::Checked;
use crate::config::{Config, Layer};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::net::InterfaceAddress;

/// No platform knowledge of error codes here: the error kind follows `io::ErrorKind`.
pub(crate) fn error_kind(_operation: Operation, _err: &io::Error) -> Option<ErrorKind> {
    None
}

pub(crate) fn hint(_operation: Operation, _err: &io::Error) -> Option<&'static str> {
    None
}

/// No name rules to apply: `create` refuses every device anyway.
pub(crate) fn check_name(_name: &str) -> Checked {
    Ok(())
}

pub(crate) fn create(_config: &Config) -> Result<Created> {
    Err(Error::unsupported(
        Operation::Create,
        format!(
            "TUN/TAP devices are not supported on {} yet (supported: Linux, Android, FreeBSD)",
            std::env::consts::OS
        ),
    ))
}

#[derive(Debug)]
pub(crate) enum Queue {}

impl Queue {
    pub(crate) fn layer(&self) -> Layer {
        match *self {}
    }
    pub(crate) fn has_packet_info(&self) -> bool {
        match *self {}
    }
    pub(crate) fn frame_overhead(&self) -> usize {
        match *self {}
    }
    pub(crate) fn recv(&self, _buf: &mut [u8]) -> io::Result<usize> {
        match *self {}
    }
    pub(crate) fn send(&self, _buf: &[u8]) -> io::Result<usize> {
        match *self {}
    }
    pub(crate) fn recv_vectored(&self, _bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        match *self {}
    }
    pub(crate) fn send_vectored(&self, _bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match *self {}
    }
    pub(crate) fn recv_batch(&self, _batch: &mut crate::batch::PacketBatch) -> io::Result<usize> {
        match *self {}
    }
    pub(crate) fn send_batch(&self, _batch: &mut crate::batch::PacketBatch) -> io::Result<usize> {
        match *self {}
    }
    pub(crate) fn set_nonblocking(&self, _nonblocking: bool) -> io::Result<()> {
        match *self {}
    }
    #[cfg(not(tun_fd))]
    pub(crate) fn poll_recv_ready(
        &self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match *self {}
    }
    #[cfg(not(tun_fd))]
    pub(crate) fn poll_send_ready(
        &self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match *self {}
    }
}

#[cfg(tun_fd)]
impl std::os::fd::AsFd for Queue {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match *self {}
    }
}

#[cfg(tun_fd)]
impl From<Queue> for std::os::fd::OwnedFd {
    fn from(queue: Queue) -> std::os::fd::OwnedFd {
        match queue {}
    }
}

#[derive(Debug)]
pub(crate) enum Interface {}

impl Interface {
    pub(crate) fn name(&self) -> &str {
        match *self {}
    }
    pub(crate) fn index(&self) -> io::Result<u32> {
        match *self {}
    }
    pub(crate) fn mtu(&self) -> io::Result<u32> {
        match *self {}
    }
    pub(crate) fn set_mtu(&self, _mtu: u32) -> io::Result<()> {
        match *self {}
    }
    pub(crate) fn is_up(&self) -> io::Result<bool> {
        match *self {}
    }
    pub(crate) fn set_up(&self, _up: bool) -> io::Result<()> {
        match *self {}
    }
    pub(crate) fn mac(&self) -> io::Result<[u8; 6]> {
        match *self {}
    }
    pub(crate) fn set_mac(&self, _mac: [u8; 6]) -> io::Result<()> {
        match *self {}
    }
    pub(crate) fn add_ipv4(&self, _address: Ipv4Addr, _prefix_len: u8) -> io::Result<()> {
        match *self {}
    }
    pub(crate) fn remove_ipv4(&self, _address: Ipv4Addr, _prefix_len: u8) -> io::Result<()> {
        match *self {}
    }
    pub(crate) fn add_ipv6(&self, _address: Ipv6Addr, _prefix_len: u8) -> io::Result<()> {
        match *self {}
    }
    pub(crate) fn remove_ipv6(&self, _address: Ipv6Addr, _prefix_len: u8) -> io::Result<()> {
        match *self {}
    }
    pub(crate) fn addresses(&self) -> io::Result<Vec<InterfaceAddress>> {
        match *self {}
    }
}
