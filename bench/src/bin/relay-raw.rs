//! The floor: raw libc open("/dev/net/tun") + TUNSETIFF, blocking read/write,
//! one thread per direction.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::FromRawFd;
use tun_relay_bench::{die, start, write_error_is_transient, BUF_LEN};

// _IOW('T', 202, int)
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

fn open_tun(name: &str) -> io::Result<File> {
    if name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    // SAFETY: plain syscalls on a path literal and a local ifreq.
    unsafe {
        let fd = libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let file = File::from_raw_fd(fd);
        let mut req = IfReq {
            name: [0; libc::IFNAMSIZ],
            flags: (libc::IFF_TUN | libc::IFF_NO_PI) as _,
            _pad: [0; 22],
        };
        req.name[..name.len()].copy_from_slice(name.as_bytes());
        if libc::ioctl(fd, TUNSETIFF as _, &mut req) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(file)
    }
}

fn pump(mut from: &File, mut to: &File) -> ! {
    let mut buf = vec![0u8; BUF_LEN];
    loop {
        let n = match from.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => die("read", e),
        };
        if let Err(e) = to.write(&buf[..n]) {
            if !write_error_is_transient(&e) {
                die("write", e);
            }
        }
    }
}

fn main() {
    let (a, b) = start();
    let a = open_tun(&a).unwrap_or_else(|e| die("open TUN_A", e));
    let b = open_tun(&b).unwrap_or_else(|e| die("open TUN_B", e));
    std::thread::scope(|s| {
        s.spawn(|| pump(&a, &b));
        pump(&b, &a);
    });
}
