//! A point-to-point VPN: two endpoints, each a TUN device and a UDP socket; every packet read
//! from the device is encrypted and sent to the peer, every datagram from the peer is checked,
//! decrypted and written to the device. One tokio task per direction.
//!
//! ```text
//! host A: 10.9.0.1/24 on tun0 <-> tunnel <-> UDP 192.168.77.1:51820 ~~ 192.168.77.2:51820 <-> tunnel <-> tun0 10.9.0.2/24 :host B
//! ```
//!
//! Run (as root, on each side, with the same 32-byte key as 64 hex digits):
//!
//! ```text
//! TUNNEL_KEY=$(head -c32 /dev/urandom | od -An -tx1 | tr -d ' \n')   # once; give it to both sides
//! TUNNEL_KEY=... tunnel --address 10.9.0.1/24 --bind 192.168.77.1:51820 --peer 192.168.77.2:51820
//! TUNNEL_KEY=... tunnel --address 10.9.0.2/24 --bind 192.168.77.2:51820 --peer 192.168.77.1:51820
//! ```
//! Options: `--name NAME` (default `tun%d`), `--mtu N` (default 1420: 1500 less the IP, UDP,
//! nonce and tag overhead). `scripts/tunnel-test` runs two endpoints between two network
//! namespaces: ping, and a TCP transfer verified byte for byte.
//!
//! ## The wire format and its cryptography
//! A datagram is `nonce (24 bytes) || ciphertext || tag (16 bytes)`: XChaCha20-Poly1305 (crate
//! `chacha20poly1305`) under the pre-shared key. The nonce is the sender's *session* (16 random
//! bytes, chosen at each start) followed by a 64-bit packet counter. A nonce must never repeat
//! under one key: the counter makes it unique within a session, and the random session makes it
//! unique across the two directions and across restarts (with a counter alone, both sides and
//! every restart would start at 0). XChaCha's 192-bit nonce is what leaves room for that.
//!
//! The receiver accepts a packet only if its tag verifies, and only once: it keeps the highest
//! counter of the peer's current session and a window of the 128 counters below it, and drops
//! repeats and anything older (UDP may reorder within the window). A packet of a new session
//! (the peer restarted) starts a new window.
//!
//! What this example does not do, and a VPN must: a handshake. With a pre-shared key alone, an
//! attacker who recorded an old session can replay it (it looks like a restart), there is no
//! forward secrecy, and the key is never rotated. WireGuard (Noise IK) derives fresh session
//! keys per handshake; read its paper before building on this.

use std::error::Error;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use chacha20poly1305::aead::{AeadCore, AeadInPlace, KeyInit, OsRng};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use tokio::net::UdpSocket;
use tun_tokio::Tun;

const SESSION_LEN: usize = 16;
const NONCE_LEN: usize = SESSION_LEN + 8;
const TAG_LEN: usize = 16;
/// Largest packet read from the device (any MTU fits).
const MAX_PACKET: usize = 65536;

struct Args {
    name: String,
    address: Ipv4Addr,
    prefix_len: u8,
    bind: SocketAddr,
    peer: SocketAddr,
    mtu: u32,
    key: [u8; 32],
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args().map_err(|err| {
        format!(
            "{err}\nusage: TUNNEL_KEY=<64 hex digits> tunnel --address A.B.C.D/PREFIX \
             --bind IP:PORT --peer IP:PORT [--name NAME] [--mtu N]"
        )
    })?;
    let tun = Tun::builder()
        .name(&args.name)
        .ipv4(args.address, args.prefix_len)
        .mtu(args.mtu)
        .up()
        .build()?
        .remove(0);
    let tun = Arc::new(tun);
    let udp = UdpSocket::bind(args.bind).await?;
    udp.connect(args.peer).await?;
    let udp = Arc::new(udp);
    let cipher = Arc::new(XChaCha20Poly1305::new(&args.key.into()));
    println!(
        "tunnel up: {} {}/{} (MTU {}), UDP {} <-> {}",
        tun.name(),
        args.address,
        args.prefix_len,
        args.mtu,
        args.bind,
        args.peer
    );

    let outbound = tokio::spawn(seal_loop(tun.clone(), udp.clone(), cipher.clone()));
    let inbound = tokio::spawn(open_loop(tun, udp, cipher));
    // Either direction ending is an error (the device was deleted, the socket failed).
    tokio::select! {
        result = outbound => result??,
        result = inbound => result??,
    }
    Ok(())
}

/// Device -> peer: read a packet, encrypt it in place behind its nonce, send it.
async fn seal_loop(
    tun: Arc<Tun>,
    udp: Arc<UdpSocket>,
    cipher: Arc<XChaCha20Poly1305>,
) -> io::Result<()> {
    // 16 random bytes from the OS: this run's session (the rest of the random nonce is unused).
    let random = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let mut session = [0u8; SESSION_LEN];
    session.copy_from_slice(&random[..SESSION_LEN]);
    let mut counter: u64 = 0;
    let mut buf = vec![0u8; NONCE_LEN + MAX_PACKET + TAG_LEN];
    loop {
        let (header, rest) = buf.split_at_mut(NONCE_LEN);
        let len = tun.recv(&mut rest[..MAX_PACKET]).await?;
        counter = counter
            .checked_add(1)
            .ok_or_else(|| io::Error::other("2^64 packets in one session: restart to rekey"))?;
        header[..SESSION_LEN].copy_from_slice(&session);
        header[SESSION_LEN..].copy_from_slice(&counter.to_be_bytes());
        let (packet, tag_space) = rest.split_at_mut(len);
        let tag = cipher
            .encrypt_in_place_detached(XNonce::from_slice(header), &[], packet)
            .map_err(|_| io::Error::other("encryption failed"))?;
        tag_space[..TAG_LEN].copy_from_slice(&tag);
        match udp.send(&buf[..NONCE_LEN + len + TAG_LEN]).await {
            Ok(_) => {}
            // The peer is not listening yet (an ICMP port unreachable came back): the packet is
            // lost, as on any link; the next one is tried.
            Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(err) => return Err(err),
        }
    }
}

/// Peer -> device: authenticate and decrypt in place, drop replays, write the packet.
async fn open_loop(
    tun: Arc<Tun>,
    udp: Arc<UdpSocket>,
    cipher: Arc<XChaCha20Poly1305>,
) -> io::Result<()> {
    let mut replay = ReplayWindow::default();
    let mut dropped: u64 = 0;
    let mut buf = vec![0u8; NONCE_LEN + MAX_PACKET + TAG_LEN];
    loop {
        let len = match udp.recv(&mut buf).await {
            Ok(len) => len,
            Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => continue,
            Err(err) => return Err(err),
        };
        // Shorter than a nonce, a tag and one byte: not ours.
        if len <= NONCE_LEN + TAG_LEN {
            dropped += 1;
            continue;
        }
        let (header, rest) = buf[..len].split_at_mut(NONCE_LEN);
        let (packet, tag) = rest.split_at_mut(len - NONCE_LEN - TAG_LEN);
        let opened = cipher.decrypt_in_place_detached(
            XNonce::from_slice(header),
            &[],
            packet,
            Tag::from_slice(tag),
        );
        let (session, counter) = header.split_at(SESSION_LEN);
        let counter = u64::from_be_bytes(counter.try_into().unwrap_or_default());
        // Only an authentic packet may move the window (a forged one would reset it).
        if opened.is_err() || !replay.accept(session, counter) {
            dropped += 1;
            if dropped.is_power_of_two() {
                eprintln!("dropped {dropped} datagrams (forged, corrupted or replayed)");
            }
            continue;
        }
        tun.send(packet).await?;
    }
}

/// The peer's current session and which of the last 128 counters were seen.
#[derive(Default)]
struct ReplayWindow {
    session: [u8; SESSION_LEN],
    highest: u64,
    /// Bit `i`: counter `highest - i` was seen.
    seen: u128,
}

impl ReplayWindow {
    /// Whether `counter` of `session` is new (and records it).
    fn accept(&mut self, session: &[u8], counter: u64) -> bool {
        if session != self.session || self.seen == 0 {
            // A new session (or the first packet): start over.
            self.session.copy_from_slice(session);
            self.highest = counter;
            self.seen = 1;
            return true;
        }
        if counter > self.highest {
            let ahead = counter - self.highest;
            self.seen = if ahead >= 128 { 0 } else { self.seen << ahead };
            self.seen |= 1;
            self.highest = counter;
            return true;
        }
        let behind = self.highest - counter;
        if behind >= 128 || self.seen & (1 << behind) != 0 {
            return false;
        }
        self.seen |= 1 << behind;
        true
    }
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut name = String::from("tun%d");
    let (mut address, mut bind, mut peer, mut mtu) = (None, None, None, 1420);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--name" => name = value()?,
            "--address" => address = Some(value()?),
            "--bind" => bind = Some(value()?.parse()?),
            "--peer" => peer = Some(value()?.parse()?),
            "--mtu" => mtu = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let address = address.ok_or("--address is missing")?;
    let (ip, prefix_len) = address
        .split_once('/')
        .ok_or("--address takes A.B.C.D/PREFIX")?;
    let hex = std::env::var("TUNNEL_KEY").map_err(|_| "TUNNEL_KEY is not set")?;
    Ok(Args {
        name,
        address: ip.parse()?,
        prefix_len: prefix_len.parse()?,
        bind: bind.ok_or("--bind is missing")?,
        peer: peer.ok_or("--peer is missing")?,
        mtu,
        key: parse_key(hex.trim())?,
    })
}

fn parse_key(hex: &str) -> Result<[u8; 32], Box<dyn Error>> {
    let digits = hex.as_bytes();
    if digits.len() != 64 {
        return Err("TUNNEL_KEY must be 64 hex digits (32 bytes)".into());
    }
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(digits.chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair)?, 16)?;
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::ReplayWindow;

    #[test]
    fn the_replay_window_takes_each_counter_once_and_follows_a_new_session() {
        let (a, b) = ([1u8; 16], [2u8; 16]);
        let mut window = ReplayWindow::default();
        assert!(window.accept(&a, 1));
        assert!(!window.accept(&a, 1), "a repeat");
        assert!(window.accept(&a, 5));
        assert!(window.accept(&a, 3), "reordered within the window");
        assert!(!window.accept(&a, 3));
        assert!(window.accept(&a, 200));
        assert!(!window.accept(&a, 5), "older than the window");
        assert!(window.accept(&a, 200 - 127));
        assert!(!window.accept(&a, 200 - 128));
        assert!(window.accept(&b, 1), "the peer restarted: a new session");
        assert!(!window.accept(&b, 1));
        assert!(window.accept(&b, 1001), "a jump beyond the window");
        assert!(window.accept(&b, 1000), "unseen, within the new window");
        assert!(!window.accept(&b, 1), "left behind by the jump");
    }
}
