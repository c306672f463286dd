//! The verdict of a stress run, and its figures.

use std::fmt;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::payload::Defect;
use super::{Counters, Flow, Tally, DEADLINE};

/// The outcome of one direction.
#[derive(Debug, Clone)]
pub struct FlowReport {
    /// "device → kernel" or "kernel → device".
    pub name: &'static str,
    /// Packets the direction should carry.
    pub count: u64,
    /// Packets sent.
    pub sent: u64,
    /// Whether the sender stopped at the deadline.
    pub gave_up: bool,
    /// Everything received.
    pub tally: Tally,
    /// Drops the kernel counted that can explain a missing packet.
    pub counted_drops: u64,
}

impl FlowReport {
    pub(super) fn new(flow: &Flow, tally: Tally, counted_drops: u64) -> FlowReport {
        FlowReport {
            name: flow.name,
            count: flow.count,
            sent: flow.sent.load(Ordering::Acquire),
            gave_up: flow.sender_gave_up.load(Ordering::Acquire),
            tally,
            counted_drops,
        }
    }

    /// Packets never received.
    pub fn missing(&self) -> u64 {
        self.count - self.tally.delivered().min(self.count)
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.count == 0 {
            return problems;
        }
        if self.gave_up || self.sent < self.count {
            problems.push(format!(
                "{}: the sender sent only {} of {} packets before the {DEADLINE:?} deadline",
                self.name, self.sent, self.count
            ));
        }
        if self.tally.defect_count() > 0 {
            let counts: Vec<String> = Defect::ALL
                .iter()
                .map(|defect| format!("{} {defect}", self.tally.defects(*defect)))
                .collect();
            problems.push(format!(
                "{}: {}; first ones: {:#?}",
                self.name,
                counts.join(", "),
                self.tally.examples
            ));
        }
        if self.missing() > self.counted_drops {
            let missing = self.tally.missing();
            problems.push(format!(
                "{}: {} packets missing but the kernel counted only {} drops (unexplained loss); \
                 first missing: {:?}",
                self.name,
                self.missing(),
                self.counted_drops,
                missing.get(..missing.len().min(20)).unwrap_or_default()
            ));
        }
        problems
    }
}

/// The outcome of a stress run; [`Display`](fmt::Display) prints the figures.
#[derive(Debug, Clone)]
pub struct Report {
    /// The run's name.
    pub name: String,
    /// How long it took.
    pub elapsed: Duration,
    /// The kernel's counters during the run.
    pub counted: Counters,
    /// Distinct packets per device reader.
    pub per_reader: Vec<u64>,
    /// Device → kernel.
    pub device_to_kernel: FlowReport,
    /// Kernel → device.
    pub kernel_to_device: FlowReport,
}

impl Report {
    /// Panics with every problem found.
    pub fn assert_clean(&self) {
        let mut problems: Vec<String> = [&self.device_to_kernel, &self.kernel_to_device]
            .iter()
            .flat_map(|flow| flow.problems())
            .collect();
        if self.counted.udp_in_csum_errors > 0 || self.counted.ip_in_hdr_errors > 0 {
            problems.push(format!(
                "the kernel refused packets written to the device as corrupted: {:?}",
                self.counted
            ));
        }
        assert!(
            problems.is_empty(),
            "stress run `{}` failed:\n- {}\n{self}",
            self.name,
            problems.join("\n- ")
        );
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.elapsed.as_secs_f64();
        writeln!(f, "stress `{}`: {seconds:.2} s", self.name)?;
        for flow in [&self.device_to_kernel, &self.kernel_to_device] {
            if flow.count == 0 {
                continue;
            }
            let tally = &flow.tally;
            writeln!(
                f,
                "  {}: sent {}/{}, received {} ({:.1} MB, {:.0} packets/s), missing {}, \
                 counted drops {}, defects {}, other packets {}",
                flow.name,
                flow.sent,
                flow.count,
                tally.delivered(),
                tally.bytes as f64 / 1e6,
                tally.delivered() as f64 / seconds.max(1e-9),
                flow.missing(),
                flow.counted_drops,
                tally.defect_count(),
                tally.other(),
            )?;
        }
        if self.per_reader.len() > 1 {
            writeln!(f, "  packets per device reader: {:?}", self.per_reader)?;
        }
        write!(f, "  kernel counters: {:?}", self.counted)
    }
}

/// A loss must be explained by the kernel's counters, or the run fails.
#[cfg(test)]
mod tests {
    use super::super::payload::Generator;
    use super::super::{Flow, DEADLINE};
    use super::*;
    use std::time::Instant;

    fn payloads() -> Vec<Vec<u8>> {
        let mut generator = Generator::new(0x5eed, 10);
        std::iter::from_fn(|| generator.next_payload().map(<[u8]>::to_vec)).collect()
    }

    #[test]
    fn loss_is_allowed_only_up_to_the_counted_drops() {
        let flow = Flow::new("test flow", 10, 10, Instant::now() + DEADLINE);
        flow.sent.store(10, Ordering::Relaxed);
        flow.finish_sending(false);
        let mut tally = Tally::new(10);
        for payload in &payloads()[..7] {
            tally.payload(payload);
        }
        assert!(FlowReport::new(&flow, tally.clone(), 3)
            .problems()
            .is_empty());
        assert!(FlowReport::new(&flow, tally.clone(), 5)
            .problems()
            .is_empty());
        let problems = FlowReport::new(&flow, tally, 2).problems();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("3 packets missing"), "{problems:?}");
        assert!(problems[0].contains("[7, 8, 9]"), "{problems:?}");
    }
}
