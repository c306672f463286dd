//! What a receiver saw, checked packet by packet: the verifier.

use std::net::SocketAddrV4;

use etherparse::{IpNumber, Ipv4HeaderSlice, UdpHeaderSlice};

use super::payload::{check_payload, Defect};

/// What a receiver saw: how often each sequence number arrived, and every defect.
#[derive(Debug, Clone)]
pub struct Tally {
    seen: Vec<u8>,
    delivered: u64,
    pub(super) bytes: u64,
    other: u64,
    defects: [u64; 4],
    pub(super) examples: Vec<String>,
}

impl Tally {
    /// An empty tally for sequence numbers `0..count`.
    pub fn new(count: u64) -> Tally {
        let count = usize::try_from(count).unwrap_or_else(|_| panic!("{count} packets"));
        Tally {
            seen: vec![0; count],
            delivered: 0,
            bytes: 0,
            other: 0,
            defects: [0; 4],
            examples: Vec::new(),
        }
    }

    pub(super) fn defect(&mut self, defect: Defect, what: String) {
        if let Some(n) = self.defects.get_mut(defect.index()) {
            *n += 1;
        }
        if self.examples.len() < 10 {
            self.examples.push(format!("{defect}: {what}"));
        }
    }

    /// Records one payload; returns whether it was a valid packet not seen before.
    pub fn payload(&mut self, payload: &[u8]) -> bool {
        let seq = match check_payload(payload) {
            Ok(seq) => seq,
            Err((defect, what)) => {
                self.defect(defect, what);
                return false;
            }
        };
        let Some(times) = usize::try_from(seq).ok().and_then(|i| self.seen.get_mut(i)) else {
            let count = self.seen.len();
            self.defect(
                Defect::Corrupted,
                format!("#{seq}: beyond the {count} sent"),
            );
            return false;
        };
        *times = times.saturating_add(1);
        if *times > 1 {
            let times = *times;
            self.defect(Defect::Duplicated, format!("#{seq} arrived {times} times"));
            return false;
        }
        self.delivered += 1;
        self.bytes += payload.len() as u64;
        true
    }

    /// Records one IP packet read from the device: an IPv4/UDP packet to `to` is checked (IPv4
    /// header, both checksums, every length) and its payload recorded; anything else (IPv6
    /// router solicitations, MLD, ...) is counted as other. Returns whether it was a valid packet
    /// not seen before.
    pub fn ip_packet(&mut self, packet: &[u8], to: SocketAddrV4) -> bool {
        if packet.first().is_none_or(|byte| byte >> 4 != 4) {
            self.other += 1;
            return false;
        }
        let ip = match Ipv4HeaderSlice::from_slice(packet) {
            Ok(ip) => ip,
            Err(err) => {
                self.defect(
                    Defect::Corrupted,
                    format!("{} bytes, a broken IPv4 header: {err}", packet.len()),
                );
                return false;
            }
        };
        let header_len = usize::from(ip.ihl()) * 4;
        let Some(udp) = packet
            .get(header_len..)
            .and_then(|rest| UdpHeaderSlice::from_slice(rest).ok())
            .filter(|udp| {
                ip.protocol() == IpNumber::UDP
                    && ip.destination_addr() == *to.ip()
                    && udp.destination_port() == to.port()
            })
        else {
            self.other += 1;
            return false;
        };
        let total = usize::from(ip.total_len());
        if total > packet.len() {
            let what = format!(
                "IPv4 packet of {} bytes, its header says {total}",
                packet.len()
            );
            self.defect(Defect::Truncated, what);
            return false;
        }
        if total < packet.len() {
            let what = format!(
                "IPv4 packet of {} bytes, its header says {total}",
                packet.len()
            );
            self.defect(Defect::Merged, what);
            return false;
        }
        let header = ip.to_header();
        if header.calc_header_checksum() != ip.header_checksum() {
            self.defect(Defect::Corrupted, "IPv4 header checksum".to_owned());
            return false;
        }
        let payload = packet.get(header_len + 8..).unwrap_or_default();
        if usize::from(udp.length()) != total - header_len {
            let what = format!(
                "UDP length {} in an IPv4 packet of {total} bytes",
                udp.length()
            );
            self.defect(Defect::Corrupted, what);
            return false;
        }
        let expected = udp
            .to_header()
            .calc_checksum_ipv4(&header, payload)
            .unwrap_or_default();
        if udp.checksum() != 0 && udp.checksum() != expected {
            let what = format!(
                "UDP checksum {:04x}, should be {expected:04x}",
                udp.checksum()
            );
            self.defect(Defect::Corrupted, what);
            return false;
        }
        self.payload(payload)
    }

    /// Adds what another receiver of the same stream saw (a number both saw is a duplicate).
    pub fn merge(&mut self, other: &Tally) {
        let mut duplicates = Vec::new();
        for (seq, (mine, theirs)) in self.seen.iter_mut().zip(&other.seen).enumerate() {
            if *mine > 0 && *theirs > 0 {
                duplicates.push((seq, mine.saturating_add(*theirs)));
            } else if *theirs > 0 {
                self.delivered += 1;
            }
            *mine = mine.saturating_add(*theirs);
        }
        for (seq, times) in duplicates {
            self.defect(
                Defect::Duplicated,
                format!("#{seq} arrived {times} times, at several receivers"),
            );
        }
        self.bytes += other.bytes;
        self.other += other.other;
        for defect in Defect::ALL {
            let theirs = other.defects.get(defect.index()).copied().unwrap_or(0);
            if let Some(mine) = self.defects.get_mut(defect.index()) {
                *mine += theirs;
            }
        }
        for example in &other.examples {
            if self.examples.len() < 10 {
                self.examples.push(example.clone());
            }
        }
    }

    /// Distinct valid packets received.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Packets that were not ours (and are not checked).
    pub fn other(&self) -> u64 {
        self.other
    }

    /// How many packets had `defect`.
    pub fn defects(&self, defect: Defect) -> u64 {
        self.defects.get(defect.index()).copied().unwrap_or(0)
    }

    /// All defects together.
    pub fn defect_count(&self) -> u64 {
        self.defects.iter().sum()
    }

    /// The sequence numbers never received.
    pub fn missing(&self) -> Vec<u64> {
        (0u64..)
            .zip(&self.seen)
            .filter(|(_, times)| **times == 0)
            .map(|(seq, _)| seq)
            .collect()
    }
}

/// The verifier must catch what it is there to catch, or a clean stress run proves nothing.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::packets;
    use crate::stress::payload::{Generator, HEADER_LEN, MAX_PAYLOAD};
    use crate::stress::{LOCAL, PEER};
    use std::net::SocketAddr;

    fn payloads(count: u64) -> Vec<Vec<u8>> {
        let mut generator = Generator::new(0x5eed, count);
        std::iter::from_fn(|| generator.next_payload().map(<[u8]>::to_vec)).collect()
    }

    fn defect_of(tally: &Tally) -> Vec<Defect> {
        Defect::ALL
            .into_iter()
            .filter(|defect| tally.defects(*defect) > 0)
            .collect()
    }

    fn checked(payload: &[u8]) -> Option<Defect> {
        let mut tally = Tally::new(1000);
        tally.payload(payload);
        defect_of(&tally).first().copied()
    }

    #[test]
    fn generated_payloads_check_and_vary_in_size() {
        let payloads = payloads(1000);
        let mut tally = Tally::new(1000);
        for payload in &payloads {
            assert!(tally.payload(payload));
        }
        assert_eq!((tally.delivered(), tally.defect_count()), (1000, 0));
        assert!(tally.missing().is_empty());
        let sizes: std::collections::HashSet<usize> = payloads.iter().map(Vec::len).collect();
        assert!(sizes.len() > 500, "sizes hardly vary: {}", sizes.len());
        assert!(sizes
            .iter()
            .all(|size| (HEADER_LEN..=MAX_PAYLOAD).contains(size)));
    }

    #[test]
    fn every_flipped_byte_truncation_and_merge_is_caught() {
        for payload in payloads(50) {
            for i in 0..payload.len() {
                let mut corrupted = payload.clone();
                corrupted[i] ^= 0x10;
                assert!(
                    checked(&corrupted).is_some(),
                    "byte {i} flipped went unnoticed"
                );
            }
            assert_eq!(
                checked(&payload[..payload.len() - 1]),
                Some(Defect::Truncated)
            );
            assert_eq!(checked(&payload[..5]), Some(Defect::Truncated));
            assert_eq!(
                checked(&[&payload[..], &[0]].concat()),
                Some(Defect::Merged)
            );
            assert_eq!(
                checked(&[&payload[..], &payload[..]].concat()),
                Some(Defect::Merged)
            );
        }
    }

    #[test]
    fn duplicates_are_caught_within_and_across_receivers() {
        let payloads = payloads(10);
        let (mut one, mut two) = (Tally::new(10), Tally::new(10));
        for payload in &payloads[..6] {
            assert!(one.payload(payload));
        }
        assert!(!one.payload(&payloads[2]));
        assert_eq!(defect_of(&one), [Defect::Duplicated]);
        for payload in &payloads[5..] {
            assert!(two.payload(payload));
        }
        let mut all = Tally::new(10);
        all.merge(&one);
        all.merge(&two);
        assert_eq!(all.delivered(), 10);
        assert_eq!(all.defects(Defect::Duplicated), 2, "{:?}", all.examples);
    }

    #[test]
    fn ip_packets_are_checked_header_and_all() {
        let source = SocketAddr::from((LOCAL, 4000));
        let payload = payloads(1).remove(0);
        let packet = packets::udp_ip(source, PEER.into(), &payload);
        let ip = |packet: &[u8]| {
            let mut tally = Tally::new(1);
            let ok = tally.ip_packet(packet, PEER);
            (ok, defect_of(&tally), tally.other())
        };
        assert_eq!(ip(&packet), (true, vec![], 0));
        // A flipped bit anywhere in the IPv4 and UDP headers is a defect, or (in the destination
        // address or port) makes the packet someone else's, and then it is missing.
        for i in 0..28 {
            let mut corrupted = packet.clone();
            corrupted[i] ^= 0x01;
            let (ok, defects, other) = ip(&corrupted);
            assert!(!ok, "header byte {i} flipped went unnoticed");
            assert!(defects.len() + other as usize == 1, "byte {i}: {defects:?}");
        }
        let (_, defects, _) = ip(&packet[..packet.len() - 1]);
        assert_eq!(defects, [Defect::Truncated]);
        let (_, defects, _) = ip(&[&packet[..], &[0]].concat());
        assert_eq!(defects, [Defect::Merged]);
        let other_port = packets::udp_ip(source, "10.77.0.2:9".parse().unwrap(), &payload);
        assert_eq!(ip(&other_port), (false, vec![], 1));
        let v6 = packets::udp_ip(
            "[fd00::1]:1".parse().unwrap(),
            "[fd00::2]:2".parse().unwrap(),
            b"x",
        );
        assert_eq!(ip(&v6), (false, vec![], 1));
    }
}
