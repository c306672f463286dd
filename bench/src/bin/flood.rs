//! The 64-byte UDP flood of the relay benchmark.
//!
//! `flood send DST_IP:PORT SECONDS` sends 64-byte UDP payloads to DST with
//! sendmmsg, in batches of 64, from a connected socket, for SECONDS, then
//! prints how many datagrams the kernel accepted.
//!
//! `flood sink BIND_IP:PORT` binds a UDP socket with a small receive buffer
//! and never reads it, so datagrams that reach it are counted and dropped by
//! the kernel and nothing (no ICMP port-unreachable) comes back. It runs until
//! killed.

use std::io;
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::exit;
use std::time::{Duration, Instant};

const PAYLOAD: usize = 64;
const BATCH: usize = 64;

fn usage() -> ! {
    eprintln!("usage: flood send DST_IP:PORT SECONDS | flood sink BIND_IP:PORT");
    exit(2);
}

fn parse_v4(s: &str) -> SocketAddrV4 {
    match s.parse::<SocketAddr>() {
        Ok(SocketAddr::V4(a)) => a,
        _ => usage(),
    }
}

fn send(dst: SocketAddrV4, secs: f64) -> io::Result<()> {
    let sock = UdpSocket::bind("0.0.0.0:0")?;
    sock.connect(dst)?;
    let fd = sock.as_raw_fd();
    let payload = [0x5au8; PAYLOAD];
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut _,
        iov_len: PAYLOAD,
    };
    // SAFETY: mmsghdr is plain data; all-zero is a valid (empty) value.
    let mut msgs: Vec<libc::mmsghdr> = (0..BATCH).map(|_| unsafe { std::mem::zeroed() }).collect();
    for m in &mut msgs {
        m.msg_hdr.msg_iov = &mut iov;
        m.msg_hdr.msg_iovlen = 1;
    }
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let (mut sent, mut errors) = (0u64, 0u64);
    while Instant::now() < deadline {
        // SAFETY: msgs points at BATCH valid headers whose iovec outlives the call.
        let r = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), BATCH as _, 0) };
        if r < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ENOBUFS)
                | Some(libc::EAGAIN)
                | Some(libc::EINTR)
                | Some(libc::ECONNREFUSED) => errors += 1,
                _ => return Err(e),
            }
        } else {
            sent += r as u64;
        }
    }
    println!("sent {sent} errors {errors}");
    Ok(())
}

fn sink(addr: SocketAddrV4) -> io::Result<()> {
    let sock = UdpSocket::bind(addr)?;
    let small: libc::c_int = 4096;
    // SAFETY: setsockopt with a pointer to a local int of the right size.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &small as *const _ as *const _,
            std::mem::size_of::<libc::c_int>() as _,
        );
    }
    loop {
        std::thread::park();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["send", dst, secs] => send(parse_v4(dst), secs.parse().unwrap_or_else(|_| usage())),
        ["sink", addr] => sink(parse_v4(addr)),
        _ => usage(),
    };
    if let Err(e) = r {
        eprintln!("flood: {e}");
        exit(1);
    }
}
