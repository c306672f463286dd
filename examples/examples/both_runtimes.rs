//! `tun-tokio` and `tun-async-std` in one program: a tokio runtime and async-std side by side,
//! each with a TUN device of its own (built by the same core builder), each answering a UDP
//! datagram that a socket of its runtime sends into the device. The adapters share `tun-core`
//! and nothing else, so they do not conflict.
//!
//! `sudo -E $(which cargo) run --example both_runtimes` (uses 10.202.1.0/24 and 10.202.2.0/24;
//! run it inside `unshare -n` to keep even those routes off the host).

use std::error::Error;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use etherparse::{PacketBuilder, SlicedPacket, TransportSlice};

const LIMIT: Duration = Duration::from_secs(5);

fn main() -> Result<(), Box<dyn Error>> {
    // tokio, on its own thread, while async-std runs on the main thread.
    let tokio_side = std::thread::spawn(|| -> Result<String, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| err.to_string())?;
        runtime.block_on(async {
            let local = Ipv4Addr::new(10, 202, 1, 1);
            let tun = tun_tokio::Tun::builder()
                .ipv4(local, 24)
                .up()
                .build()
                .map_err(|err| err.to_string())?
                .remove(0);
            let socket = tokio::net::UdpSocket::bind((local, 0))
                .await
                .map_err(|e| e.to_string())?;
            let peer: SocketAddr = "10.202.1.2:7".parse().map_err(|_| "bad address")?;
            socket
                .send_to(b"from tokio", peer)
                .await
                .map_err(|e| e.to_string())?;
            let mut buf = [0u8; 1500];
            let answer = loop {
                let n = tokio::time::timeout(LIMIT, tun.recv(&mut buf))
                    .await
                    .map_err(|_| "tokio: no packet")?
                    .map_err(|e| e.to_string())?;
                if let Some(answer) = answer_udp(buf.get(..n).unwrap_or_default()) {
                    break answer;
                }
            };
            tun.send_all(&answer).await.map_err(|e| e.to_string())?;
            let n = tokio::time::timeout(LIMIT, socket.recv(&mut buf))
                .await
                .map_err(|_| "tokio: no answer")?
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "tokio on {}: {:?}",
                tun.name(),
                String::from_utf8_lossy(buf.get(..n).unwrap_or_default())
            ))
        })
    });

    let async_std_side = async_std::task::block_on(async {
        let local = Ipv4Addr::new(10, 202, 2, 1);
        let tun = tun_async_std::Tun::builder()
            .ipv4(local, 24)
            .up()
            .build()?
            .remove(0);
        let socket = async_std::net::UdpSocket::bind((local, 0)).await?;
        socket.send_to(b"from async-std", "10.202.2.2:7").await?;
        let mut buf = [0u8; 1500];
        let answer = loop {
            let n = async_std::future::timeout(LIMIT, tun.recv(&mut buf)).await??;
            if let Some(answer) = answer_udp(buf.get(..n).unwrap_or_default()) {
                break answer;
            }
        };
        tun.send_all(&answer).await?;
        let n = async_std::future::timeout(LIMIT, socket.recv(&mut buf)).await??;
        Ok::<_, Box<dyn Error>>(format!(
            "async-std on {}: {:?}",
            tun.name(),
            String::from_utf8_lossy(buf.get(..n).unwrap_or_default())
        ))
    })?;

    let tokio_side = tokio_side
        .join()
        .map_err(|_| "the tokio thread panicked")??;
    println!("{tokio_side}\n{async_std_side}");
    Ok(())
}

/// For an IPv4 UDP packet, the answer packet: addresses and ports swapped, payload "echo: ...".
fn answer_udp(packet: &[u8]) -> Option<Vec<u8>> {
    let sliced = SlicedPacket::from_ip(packet).ok()?;
    let Some(etherparse::NetSlice::Ipv4(ip)) = sliced.net else {
        return None;
    };
    let Some(TransportSlice::Udp(udp)) = sliced.transport else {
        return None;
    };
    let payload = [b"echo: ".as_slice(), udp.payload()].concat();
    let builder = PacketBuilder::ipv4(ip.header().destination(), ip.header().source(), 64)
        .udp(udp.destination_port(), udp.source_port());
    let mut answer = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut answer, &payload).ok()?;
    Some(answer)
}
