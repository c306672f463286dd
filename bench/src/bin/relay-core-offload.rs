//! tun-core with offload, blocking: `recv_batch` → look at each packet → `send_batch`, one scoped
//! thread per direction.

use tun_core::{Device, PacketBatch};
use tun_relay_bench::{batch_send_failed, die, look, start};

fn pump(from: &Device, to: &Device) -> ! {
    let mut batch = PacketBatch::new();
    loop {
        match from.recv_batch(&mut batch) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => die("recv_batch", e),
        }
        look(&batch);
        if let Err(e) = to.send_batch(&mut batch) {
            batch_send_failed(&mut batch, e);
        }
    }
}

fn open(name: &str) -> Device {
    let mut v = Device::builder()
        .name(name)
        .offload(true)
        .build()
        .unwrap_or_else(|e| die("open", e));
    let device = v.pop().unwrap_or_else(|| die("open", "no queue"));
    if device.offload().is_none() {
        die("open", "offload asked for but not on");
    }
    device
}

fn main() {
    let (a, b) = start();
    let (a, b) = (open(&a), open(&b));
    std::thread::scope(|s| {
        s.spawn(|| pump(&a, &b));
        pump(&b, &a);
    });
}
