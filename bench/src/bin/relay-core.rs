//! tun-core, blocking I/O, one thread per direction (scoped threads sharing
//! `&Device`).

use tun_core::Device;
use tun_relay_bench::{die, start, write_error_is_transient, BUF_LEN};

fn pump(from: &Device, to: &Device) -> ! {
    let mut buf = vec![0u8; BUF_LEN];
    loop {
        let n = match from.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => die("recv", e),
        };
        if let Err(e) = to.send(&buf[..n]) {
            if !write_error_is_transient(&e) {
                die("send", e);
            }
        }
    }
}

fn open(name: &str) -> Device {
    let mut v = Device::builder()
        .name(name)
        .build()
        .unwrap_or_else(|e| die("open", e));
    v.pop().unwrap_or_else(|| die("open", "no queue"))
}

fn main() {
    let (a, b) = start();
    let (a, b) = (open(&a), open(&b));
    std::thread::scope(|s| {
        s.spawn(|| pump(&a, &b));
        pump(&b, &a);
    });
}
