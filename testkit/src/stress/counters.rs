//! The kernel's counters that can explain a lost packet, read in the calling thread's namespace.

/// The kernel's counters of the calling thread's namespace that can explain a lost packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// The device's `rx_dropped` (+ `rx_missed`): packets written to it that it dropped.
    pub rx_dropped: u64,
    /// The device's `tx_dropped`: packets routed to it that did not fit its ring.
    pub tx_dropped: u64,
    /// UDP `RcvbufErrors`: datagrams dropped because the socket's buffer was full.
    pub udp_rcvbuf_errors: u64,
    /// UDP `MemErrors`: datagrams dropped for lack of memory.
    pub udp_mem_errors: u64,
    /// UDP `SndbufErrors`: datagrams the device's qdisc refused (`ENOBUFS`).
    pub udp_sndbuf_errors: u64,
    /// UDP `InCsumErrors`: datagrams with a bad checksum. Our packets are sent with valid ones, so
    /// this is corruption on the way.
    pub udp_in_csum_errors: u64,
    /// IP `InHdrErrors`: packets with a broken IPv4 header, corruption as well.
    pub ip_in_hdr_errors: u64,
}

impl Counters {
    /// Reads the counters for `device` in the calling thread's namespace; panics if the device is
    /// not there (a thread outside the test's namespace).
    pub fn read(device: &str) -> Counters {
        let dev = read_proc("/proc/thread-self/net/dev");
        let stats: Vec<u64> = dev
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim() == device)
            .map(|(_, values)| values.split_whitespace().map(parse_counter).collect())
            .unwrap_or_else(|| {
                panic!(
                    "{device} is not in /proc/thread-self/net/dev: counters read from a thread \
                     outside the test's namespace?\n{dev}"
                )
            });
        // Receive: bytes packets errs drop fifo frame compressed multicast; then transmit: bytes
        // packets errs drop fifo colls carrier compressed.
        let stat = |i: usize| stats.get(i).copied().unwrap_or(0);
        let snmp = read_proc("/proc/thread-self/net/snmp");
        Counters {
            rx_dropped: stat(3),
            tx_dropped: stat(11),
            udp_rcvbuf_errors: snmp_field(&snmp, "Udp", "RcvbufErrors"),
            udp_mem_errors: snmp_field(&snmp, "Udp", "MemErrors"),
            udp_sndbuf_errors: snmp_field(&snmp, "Udp", "SndbufErrors"),
            udp_in_csum_errors: snmp_field(&snmp, "Udp", "InCsumErrors"),
            ip_in_hdr_errors: snmp_field(&snmp, "Ip", "InHdrErrors"),
        }
    }

    /// What was counted since `earlier`.
    pub fn since(self, earlier: Counters) -> Counters {
        Counters {
            rx_dropped: self.rx_dropped.saturating_sub(earlier.rx_dropped),
            tx_dropped: self.tx_dropped.saturating_sub(earlier.tx_dropped),
            udp_rcvbuf_errors: self
                .udp_rcvbuf_errors
                .saturating_sub(earlier.udp_rcvbuf_errors),
            udp_mem_errors: self.udp_mem_errors.saturating_sub(earlier.udp_mem_errors),
            udp_sndbuf_errors: self
                .udp_sndbuf_errors
                .saturating_sub(earlier.udp_sndbuf_errors),
            udp_in_csum_errors: self
                .udp_in_csum_errors
                .saturating_sub(earlier.udp_in_csum_errors),
            ip_in_hdr_errors: self
                .ip_in_hdr_errors
                .saturating_sub(earlier.ip_in_hdr_errors),
        }
    }

    /// Drops that can explain a missing device → kernel packet.
    pub fn device_to_kernel_drops(self) -> u64 {
        self.rx_dropped + self.udp_rcvbuf_errors + self.udp_mem_errors
    }

    /// Drops that can explain a missing kernel → device packet.
    pub fn kernel_to_device_drops(self) -> u64 {
        self.tx_dropped + self.udp_sndbuf_errors
    }
}

fn read_proc(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read {path}: {err}"))
}

fn parse_counter(value: &str) -> u64 {
    value
        .parse()
        .unwrap_or_else(|err| panic!("counter `{value}`: {err}"))
}

/// A field of `/proc/net/snmp`, where each protocol has a line of names and a line of values.
fn snmp_field(snmp: &str, protocol: &str, name: &str) -> u64 {
    let prefix = format!("{protocol}:");
    let mut lines = snmp.lines().filter(|line| line.starts_with(&prefix));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        panic!("no {protocol} lines in /proc/thread-self/net/snmp:\n{snmp}");
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(field, _)| *field == name)
        .map(|(_, value)| parse_counter(value))
        .unwrap_or_else(|| panic!("no {protocol} {name} in /proc/thread-self/net/snmp:\n{snmp}"))
}
