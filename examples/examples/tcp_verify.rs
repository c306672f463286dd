//! The tunnel test's traffic (`scripts/tunnel-test`): sends or receives BYTES bytes over one TCP
//! connection, a pseudo-random stream that the receiver recomputes and compares byte for byte.
//!
//! ```text
//! tcp_verify recv 10.9.0.2:5001 8388608     # listens, accepts one connection, verifies, exits
//! tcp_verify send 10.9.0.2:5001 8388608     # connects (retrying for 10 s), sends, exits
//! ```
//! Exits with status 1 (naming the first differing offset) unless exactly BYTES bytes arrived
//! intact.

use std::error::Error;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, address, bytes] = args.as_slice() else {
        return Err("usage: tcp_verify send|recv IP:PORT BYTES".into());
    };
    let address: SocketAddr = address.parse()?;
    let bytes: u64 = bytes.parse()?;
    let start = Instant::now();
    match mode.as_str() {
        "send" => send(address, bytes)?,
        "recv" => recv(address, bytes)?,
        other => return Err(format!("unknown mode {other}: send or recv").into()),
    }
    let took = start.elapsed();
    println!(
        "{mode}: {bytes} bytes in {took:.2?} ({:.1} MB/s){}",
        bytes as f64 / took.as_secs_f64() / 1e6,
        if mode == "recv" {
            ", verified byte for byte"
        } else {
            ""
        }
    );
    Ok(())
}

/// Word `index` of the stream (bytes `8 * index ..`): SplitMix64.
fn stream_word(index: u64) -> [u8; 8] {
    let mut z = index.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)).to_le_bytes()
}

/// Fills `buf` with the stream from byte `start` on.
fn fill(buf: &mut [u8], start: u64) {
    let mut word = stream_word(start / 8);
    for (offset, byte) in buf.iter_mut().enumerate() {
        let index = start + offset as u64;
        if index % 8 == 0 {
            word = stream_word(index / 8);
        }
        *byte = word[(index % 8) as usize];
    }
}

fn send(address: SocketAddr, bytes: u64) -> Result<(), Box<dyn Error>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match TcpStream::connect_timeout(&address, Duration::from_secs(2)) {
            Ok(stream) => break stream,
            Err(err) if Instant::now() < deadline => {
                eprintln!("connect to {address}: {err}; retrying");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(err) => return Err(format!("cannot connect to {address}: {err}").into()),
        }
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    while sent < bytes {
        let len = (bytes - sent).min(buf.len() as u64) as usize;
        fill(&mut buf[..len], sent);
        stream.write_all(&buf[..len])?;
        sent += len as u64;
    }
    stream.shutdown(std::net::Shutdown::Write)?;
    // Wait for the receiver to close: it has read everything.
    stream.read_to_end(&mut Vec::new())?;
    Ok(())
}

fn recv(address: SocketAddr, bytes: u64) -> Result<(), Box<dyn Error>> {
    let listener = TcpListener::bind(address)?;
    let (mut stream, peer) = listener.accept()?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut expected = vec![0u8; 64 * 1024];
    let mut received = 0u64;
    loop {
        let len = stream.read(&mut buf)?;
        if len == 0 {
            break;
        }
        if received + len as u64 > bytes {
            return Err(format!("more than the {bytes} bytes expected from {peer}").into());
        }
        fill(&mut expected[..len], received);
        if let Some(offset) = (0..len).find(|&i| buf[i] != expected[i]) {
            let index = received + offset as u64;
            return Err(format!("byte {index} from {peer} differs").into());
        }
        received += len as u64;
    }
    if received != bytes {
        return Err(format!("{received} of {bytes} bytes arrived from {peer}").into());
    }
    Ok(())
}
