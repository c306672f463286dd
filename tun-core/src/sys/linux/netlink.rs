//! The two rtnetlink queries that no ioctl answers: every address of an interface
//! (`RTM_GETADDR`), and the tun driver's own details (`RTM_GETLINK`: owner, group, queue counts).
//!
//! Messages are built and parsed as bytes in safe code; every length the kernel sends is checked
//! before it is used, so a short or odd answer is an error, never a panic.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use crate::net::InterfaceAddress;

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_MULTI: u16 = 2;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_CREATE: u16 = 0x400;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFLA_ADDRESS: u16 = 1;
const IFLA_MTU: u16 = 4;
const IFLA_TXQLEN: u16 = 13;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_TUN_OWNER: u16 = 1;
const IFLA_TUN_GROUP: u16 = 2;
const IFLA_TUN_PI: u16 = 4;
const IFLA_TUN_NUM_QUEUES: u16 = 8;
const IFLA_TUN_NUM_DISABLED_QUEUES: u16 = 9;
/// `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER` share the attribute type field.
const NLA_TYPE_MASK: u16 = 0x3fff;
/// An answer never takes this long; the bound keeps a misbehaving kernel from hanging a call.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// What the tun driver reports about a device (`ip -d link` shows the same).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TunInfo {
    pub(crate) owner: Option<u32>,
    pub(crate) group: Option<u32>,
    pub(crate) queues: u32,
    pub(crate) detached_queues: u32,
    pub(crate) packet_info: bool,
}

/// A NETLINK_ROUTE socket, made in the device's namespace like the ioctl sockets.
#[derive(Debug)]
pub(crate) struct Netlink {
    socket: Socket,
    seq: u32,
}

/// Locks the socket; a panic in another thread mid-query leaves nothing half-done that matters
/// (stale answers are skipped by sequence number), so a poisoned lock is simply taken over.
pub(crate) fn lock(netlink: &Mutex<Netlink>) -> MutexGuard<'_, Netlink> {
    netlink.lock().unwrap_or_else(PoisonError::into_inner)
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed rtnetlink answer: {what}"),
    )
}

fn u16_at(bytes: &[u8], offset: usize) -> Option<u16> {
    let raw = bytes.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_ne_bytes(raw.try_into().ok()?))
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let raw = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_ne_bytes(raw.try_into().ok()?))
}

fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

/// Iterates over the `(type, payload)` pairs of a run of netlink attributes.
pub(crate) fn attributes(mut bytes: &[u8]) -> impl Iterator<Item = io::Result<(u16, &[u8])>> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let parsed = (|| {
            let len = usize::from(u16_at(bytes, 0)?);
            let kind = u16_at(bytes, 2)? & NLA_TYPE_MASK;
            let payload = bytes.get(4..len)?;
            Some((len, kind, payload))
        })();
        match parsed {
            Some((len, kind, payload)) => {
                bytes = bytes.get(align4(len)..).unwrap_or(&[]);
                Some(Ok((kind, payload)))
            }
            None => {
                bytes = &[];
                Some(Err(invalid("truncated attribute")))
            }
        }
    })
}

impl Netlink {
    pub(crate) fn open() -> io::Result<Netlink> {
        let socket = Socket::new(
            Domain::from(libc::AF_NETLINK),
            Type::RAW,
            Some(Protocol::from(libc::NETLINK_ROUTE)),
        )?;
        socket.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        Ok(Netlink { socket, seq: 0 })
    }

    /// Sends one request and collects the payloads of its answers.
    fn query(&mut self, kind: u16, flags: u16, body: &[u8]) -> io::Result<Vec<Vec<u8>>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let len = u32::try_from(NLMSG_HDRLEN + body.len()).map_err(|_| invalid("request size"))?;
        let mut request = Vec::with_capacity(NLMSG_HDRLEN + body.len());
        request.extend_from_slice(&len.to_ne_bytes());
        request.extend_from_slice(&kind.to_ne_bytes());
        request.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
        request.extend_from_slice(&seq.to_ne_bytes());
        request.extend_from_slice(&0u32.to_ne_bytes());
        request.extend_from_slice(body);
        (&self.socket).write_all(&request)?;

        let mut answers = Vec::new();
        loop {
            // Each datagram is received into a buffer of its own size (asked for with
            // MSG_PEEK | MSG_TRUNC): answers are small (an ack, one link: ~2 KiB), and a fixed
            // 64 KiB buffer per query only churns the allocator.
            let len = self
                .socket
                .recv_with_flags(&mut [], libc::MSG_PEEK | libc::MSG_TRUNC)?;
            let mut buf = vec![0u8; len];
            let n = (&self.socket).read(&mut buf)?;
            let datagram = buf.get(..n).ok_or_else(|| invalid("datagram size"))?;
            let finished = parse_datagram(datagram, seq, &mut answers)?;
            if finished {
                return Ok(answers);
            }
        }
    }

    /// Every address of interface `index`.
    pub(crate) fn addresses(&mut self, index: u32) -> io::Result<Vec<InterfaceAddress>> {
        // struct ifaddrmsg: family (AF_UNSPEC: both), prefixlen, flags, scope, index.
        let body = [0u8; 8];
        let mut addresses = Vec::new();
        for answer in self.query(RTM_GETADDR, NLM_F_DUMP, &body)? {
            if let Some(address) = parse_address(&answer, index)? {
                addresses.push(address);
            }
        }
        Ok(addresses)
    }

    /// The tun driver's details of interface `index`.
    pub(crate) fn tun_info(&mut self, index: u32) -> io::Result<TunInfo> {
        // struct ifinfomsg: family, pad, type (u16), index (i32), flags, change.
        let mut body = [0u8; 16];
        if let Some(slot) = body.get_mut(4..8) {
            slot.copy_from_slice(&index.to_ne_bytes());
        }
        parse_tun_info(&self.query(RTM_GETLINK, 0, &body)?)
    }
}

/// One link setting, changed with `RTM_NEWLINK` on the interface's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkChange {
    Mtu(u32),
    Up(bool),
    Mac([u8; 6]),
    TxQueueLen(u32),
}

impl Netlink {
    /// Changes one link setting of interface `index` and waits for the acknowledgement.
    /// Addressed by index, so it can reach no other interface, whatever happened to the name.
    pub(crate) fn change_link(&mut self, index: u32, change: LinkChange) -> io::Result<()> {
        self.query(RTM_NEWLINK, NLM_F_ACK, &link_body(index, change))
            .map(drop)
    }

    /// Adds (`RTM_NEWADDR`) or removes (`RTM_DELADDR`) the IPv4 network `address/prefix_len` on
    /// interface `index`, and waits for the kernel's acknowledgement.
    pub(crate) fn change_ipv4(
        &mut self,
        add: bool,
        index: u32,
        address: Ipv4Addr,
        prefix_len: u8,
    ) -> io::Result<()> {
        let (kind, flags) = if add {
            // REPLACE: an address the device has already is updated, not an error (a
            // persistent device rebuilt with its own settings).
            (RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)
        } else {
            (RTM_DELADDR, NLM_F_ACK)
        };
        self.query(kind, flags, &ipv4_address_body(index, address, prefix_len))
            .map(drop)
    }
}

/// The body of an `RTM_NEWLINK` request: `struct ifinfomsg` (family, pad, type, index, flags,
/// change mask), then the attribute of the setting, if it is one.
fn link_body(index: u32, change: LinkChange) -> Vec<u8> {
    let (flags, mask) = match change {
        LinkChange::Up(up) => (
            if up { libc::IFF_UP as u32 } else { 0 },
            libc::IFF_UP as u32,
        ),
        _ => (0, 0),
    };
    let mut body = vec![libc::AF_UNSPEC as u8, 0, 0, 0];
    body.extend_from_slice(&index.to_ne_bytes());
    body.extend_from_slice(&flags.to_ne_bytes());
    body.extend_from_slice(&mask.to_ne_bytes());
    let mut attribute = |kind: u16, payload: &[u8]| {
        let len = 4 + payload.len();
        // Every payload here is at most 6 bytes: the length fits.
        body.extend_from_slice(&(len as u16).to_ne_bytes());
        body.extend_from_slice(&kind.to_ne_bytes());
        body.extend_from_slice(payload);
        body.resize(align4(body.len()), 0);
    };
    match change {
        LinkChange::Mtu(mtu) => attribute(IFLA_MTU, &mtu.to_ne_bytes()),
        LinkChange::TxQueueLen(len) => attribute(IFLA_TXQLEN, &len.to_ne_bytes()),
        LinkChange::Mac(mac) => attribute(IFLA_ADDRESS, &mac),
        LinkChange::Up(_) => {}
    }
    body
}

/// The body of an `RTM_NEWADDR`/`RTM_DELADDR` request for an IPv4 network: `struct ifaddrmsg`
/// (family, prefix length, flags, scope, index), then `IFA_LOCAL` and `IFA_ADDRESS`, both the
/// address itself (a peer would go in `IFA_ADDRESS`).
fn ipv4_address_body(index: u32, address: Ipv4Addr, prefix_len: u8) -> Vec<u8> {
    let mut body = vec![libc::AF_INET as u8, prefix_len, 0, 0];
    body.extend_from_slice(&index.to_ne_bytes());
    for kind in [IFA_LOCAL, IFA_ADDRESS] {
        body.extend_from_slice(&8u16.to_ne_bytes());
        body.extend_from_slice(&kind.to_ne_bytes());
        body.extend_from_slice(&address.octets());
    }
    body
}

/// Walks the messages of one datagram, keeping the payloads of the answers to query `seq`.
/// Returns whether the answer is complete.
pub(crate) fn parse_datagram(
    mut datagram: &[u8],
    seq: u32,
    answers: &mut Vec<Vec<u8>>,
) -> io::Result<bool> {
    let mut finished = false;
    while !datagram.is_empty() {
        let msg_len = u32_at(datagram, 0).ok_or_else(|| invalid("header"))? as usize;
        let msg_kind = u16_at(datagram, 4).ok_or_else(|| invalid("header"))?;
        let msg_flags = u16_at(datagram, 6).ok_or_else(|| invalid("header"))?;
        let msg_seq = u32_at(datagram, 8).ok_or_else(|| invalid("header"))?;
        // A length below the header's own is refused here, so every step advances.
        let payload = datagram
            .get(NLMSG_HDRLEN..msg_len)
            .ok_or_else(|| invalid("message length"))?;
        datagram = datagram.get(align4(msg_len)..).unwrap_or(&[]);
        if msg_seq != seq {
            continue; // left over from an earlier, abandoned query
        }
        match msg_kind {
            NLMSG_DONE => finished = true,
            NLMSG_ERROR => {
                let code = u32_at(payload, 0).ok_or_else(|| invalid("error code"))? as i32;
                if code != 0 {
                    return Err(io::Error::from_raw_os_error(code.saturating_neg()));
                }
                finished = true;
            }
            _ => {
                answers.push(payload.to_vec());
                if msg_flags & NLM_F_MULTI == 0 {
                    finished = true;
                }
            }
        }
    }
    Ok(finished)
}

/// The address in one `RTM_NEWADDR` answer, if it belongs to interface `index`.
pub(crate) fn parse_address(answer: &[u8], index: u32) -> io::Result<Option<InterfaceAddress>> {
    // struct ifaddrmsg: family, prefixlen, flags, scope, index (u32).
    let family = answer
        .first()
        .copied()
        .ok_or_else(|| invalid("ifaddrmsg"))?;
    let prefix_len = answer.get(1).copied().ok_or_else(|| invalid("ifaddrmsg"))?;
    if u32_at(answer, 4).ok_or_else(|| invalid("ifaddrmsg"))? != index {
        return Ok(None);
    }
    let (mut local, mut address) = (None, None);
    for attribute in attributes(answer.get(8..).unwrap_or(&[])) {
        let (kind, payload) = attribute?;
        let ip = match (i32::from(family), payload.len()) {
            (libc::AF_INET, 4) => {
                let octets: [u8; 4] = payload.try_into().map_err(|_| invalid("IPv4"))?;
                IpAddr::V4(Ipv4Addr::from(octets))
            }
            (libc::AF_INET6, 16) => {
                let octets: [u8; 16] = payload.try_into().map_err(|_| invalid("IPv6"))?;
                IpAddr::V6(Ipv6Addr::from(octets))
            }
            _ => continue,
        };
        match kind {
            IFA_LOCAL => local = Some(ip),
            IFA_ADDRESS => address = Some(ip),
            _ => {}
        }
    }
    // On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours when present.
    Ok(local
        .or(address)
        .map(|ip| InterfaceAddress { ip, prefix_len }))
}

/// The tun driver's details in the `RTM_NEWLINK` answers.
pub(crate) fn parse_tun_info(answers: &[Vec<u8>]) -> io::Result<TunInfo> {
    // Single-queue devices report no queue count: theirs is the one queue being asked through.
    let mut info = TunInfo {
        queues: 1,
        ..TunInfo::default()
    };
    for answer in answers {
        // struct ifinfomsg is 16 bytes; the attributes follow.
        for attribute in attributes(answer.get(16..).unwrap_or(&[])) {
            let (kind, payload) = attribute?;
            if kind != IFLA_LINKINFO {
                continue;
            }
            for nested in attributes(payload) {
                let (kind, payload) = nested?;
                if kind != IFLA_INFO_DATA {
                    continue;
                }
                for tun in attributes(payload) {
                    let (kind, payload) = tun?;
                    let value = u32_at(payload, 0);
                    match kind {
                        IFLA_TUN_OWNER => info.owner = value,
                        IFLA_TUN_GROUP => info.group = value,
                        IFLA_TUN_PI => info.packet_info = payload.first() == Some(&1),
                        IFLA_TUN_NUM_QUEUES => info.queues = value.unwrap_or(0),
                        IFLA_TUN_NUM_DISABLED_QUEUES => {
                            info.detached_queues = value.unwrap_or(0);
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_attributes_are_errors_not_panics() {
        // A length that runs past the end, then garbage shorter than a header.
        let bytes = [8u8, 0, 1, 0, 1, 2];
        let parsed: Vec<_> = attributes(&bytes).collect();
        assert_eq!(parsed.len(), 1);
        assert!(parsed.first().is_some_and(|a| a.is_err()));
        let ok = [8u8, 0, 1, 0, 10, 0, 0, 1];
        let parsed: Vec<_> = attributes(&ok)
            .collect::<io::Result<_>>()
            .unwrap_or_default();
        assert_eq!(parsed, vec![(1u16, &[10u8, 0, 0, 1][..])]);
    }

    /// Arbitrary bytes from the kernel (or anyone) give answers or errors, never a panic or a
    /// loop that does not end.
    #[test]
    fn arbitrary_answers_never_panic() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Miri runs this about a thousand times slower: a few hundred rounds still cover every
        // branch, and `fuzz/` runs millions.
        let rounds = if cfg!(miri) { 300 } else { 20_000 };
        for _ in 0..rounds {
            let len = (next() % 96) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Make plausible headers common: small lengths and our sequence number.
            if bytes.len() >= 12 && next() % 2 == 0 {
                let msg_len = (next() % (len as u64 + 8)) as u32;
                bytes[..4].copy_from_slice(&msg_len.to_ne_bytes());
                bytes[8..12].copy_from_slice(&7u32.to_ne_bytes());
            }
            let mut answers = Vec::new();
            let _ = parse_datagram(&bytes, 7, &mut answers);
            let _ = parse_address(&bytes, 0);
            let _ = parse_tun_info(&[bytes.clone()]);
            let _: Vec<_> = attributes(&bytes).collect();
        }
    }

    #[test]
    fn an_ipv4_address_request_round_trips_through_the_parser() {
        let body = ipv4_address_body(7, Ipv4Addr::new(10, 1, 2, 3), 24);
        assert_eq!(body.len(), 8 + 2 * 8);
        assert_eq!(
            parse_address(&body, 7).ok().flatten(),
            Some(InterfaceAddress {
                ip: IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)),
                prefix_len: 24
            })
        );
    }

    #[test]
    fn link_requests_carry_the_index_and_one_setting() {
        let up = link_body(9, LinkChange::Up(true));
        assert_eq!(up.len(), 16);
        assert_eq!(u32_at(&up, 4), Some(9));
        assert_eq!(u32_at(&up, 8), Some(libc::IFF_UP as u32));
        assert_eq!(u32_at(&up, 12), Some(libc::IFF_UP as u32));
        let down = link_body(9, LinkChange::Up(false));
        assert_eq!((u32_at(&down, 8), u32_at(&down, 12)), (Some(0), Some(1)));
        let mtu = link_body(3, LinkChange::Mtu(1400));
        let attrs: Vec<_> = attributes(mtu.get(16..).unwrap_or(&[]))
            .collect::<io::Result<_>>()
            .unwrap_or_default();
        assert_eq!(attrs, vec![(IFLA_MTU, &1400u32.to_ne_bytes()[..])]);
        let mac = link_body(3, LinkChange::Mac([2, 0, 0, 0, 0, 7]));
        assert_eq!(mac.len(), 16 + 12, "a 10-byte attribute padded to 12");
        let attrs: Vec<_> = attributes(mac.get(16..).unwrap_or(&[]))
            .collect::<io::Result<_>>()
            .unwrap_or_default();
        assert_eq!(attrs, vec![(IFLA_ADDRESS, &[2u8, 0, 0, 0, 0, 7][..])]);
    }

    #[test]
    fn a_real_shaped_address_answer_parses() {
        // ifaddrmsg: AF_INET, /24, flags, scope, index 3; then IFA_LOCAL 10.0.0.1.
        let mut answer = vec![libc::AF_INET as u8, 24, 0, 0];
        answer.extend_from_slice(&3u32.to_ne_bytes());
        answer.extend_from_slice(&8u16.to_ne_bytes());
        answer.extend_from_slice(&IFA_LOCAL.to_ne_bytes());
        answer.extend_from_slice(&[10, 0, 0, 1]);
        let parsed = parse_address(&answer, 3).ok().flatten();
        assert_eq!(
            parsed,
            Some(InterfaceAddress {
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                prefix_len: 24
            })
        );
        assert_eq!(
            parse_address(&answer, 4).ok().flatten(),
            None,
            "another interface"
        );
    }
}
