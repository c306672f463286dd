//! The stress suite's one implementation, shared by the blocking device and every async runtime.
//!
//! A stress run pushes two streams of numbered UDP datagrams through ONE TUN device at the same
//! time, in a namespace of its own:
//!
//! - **device → kernel**: the test's writer sends hand-built IPv4/UDP packets (valid checksums)
//!   from [`PEER`] into the device; the kernel delivers them to a UDP socket bound on [`LOCAL`],
//!   read by a thread of this module ([`Stress`] starts it).
//! - **kernel → device**: a thread of this module sends datagrams from a socket on [`LOCAL`] to
//!   [`PEER`], which is routed through the device; the test's reader (or readers) read them as IP
//!   packets from the device.
//!
//! Only the device side differs between the variants, and it is a few lines: a loop over
//! [`DeviceSource::step`] calling `send_all`, and a loop calling `recv` and feeding
//! [`DeviceSink::packet`]. Everything else (the payload format, the generator, the verifier, the
//! pacing, the kernel's drop counters and the verdict) lives here: `payload.rs` (the format and
//! the generator), `tally.rs` (the verifier), `counters.rs` (the kernel's drop counters),
//! `report.rs` (the verdict), `suite.rs` (the async tests, for any adapter and runtime), and this
//! file (the run: pacing, the socket threads, the device side's source and sink).
//!
//! # What is checked
//! Every payload carries a magic, its sequence number, its length and a checksum over the rest
//! (see [`write_payload`]); every IP packet read from the device must also have a consistent IPv4
//! header, header checksum, UDP length and UDP checksum. A [`Tally`] counts each sequence number,
//! so the verdict ([`Stress::finish`]) can fail on any packet that is **corrupted, truncated,
//! merged or duplicated**, and on **any loss the kernel did not count**: the missing sequence
//! numbers of a direction must be at most the drops the kernel counted for it:
//!
//! - device → kernel: the device's `rx_dropped` plus UDP `RcvbufErrors` (the socket's buffer was
//!   full) and `MemErrors`;
//! - kernel → device: the device's `tx_dropped` (its packet ring was full) plus UDP `SndbufErrors`
//!   (the device's qdisc refused the packet: `ENOBUFS`, which UDP counts and hides).
//!
//! The namespace is fresh and these sockets are its only UDP sockets, so its counters are ours.
//!
//! # Pacing
//! Nothing in the path pushes back on a sender (TUN orphans its packets, and a write into the
//! device is delivered to the socket inside the `write`), so a fast sender would overflow a
//! buffer and the test would measure drops instead of correctness. Each direction is therefore a
//! [`Flow`] with a window: a sender may be at most `window` packets ahead of what was delivered or
//! counted as dropped. The windows are smaller than the device's ring and the socket's buffer
//! (whose real size sets the device → kernel window), so drops should not happen at all; if one
//! does, it is counted by the kernel and allowed. (Checked the other way round too: with the
//! windows opened wide, a 64-packet ring and a 4 KiB socket buffer, tens of thousands of packets
//! went missing each way, exactly as many as the counters below counted.)
//!
//! # Bounded
//! Every wait has a bound: receivers give up after [`IDLE`] with nothing once their sender is
//! done, senders and receivers stop at [`DEADLINE`], and the verdict then says what is missing.
//!
//! # Namespaces
//! The kernel's counters are read from `/proc/thread-self/net/{dev,snmp}`: the files of the
//! calling thread's network namespace (the same numbers `ip -s link` shows; `/sys/class/net`
//! would show the namespace sysfs was mounted in, and `/proc/self/net` the main thread's).
//! [`Stress::start`] and [`Stress::finish`] must therefore be called from the test's namespaced
//! thread (in an async test: the future given to `block_on`, not a spawned task, whose executor
//! thread may live in another test's namespace); the threads they spawn inherit the namespace.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::packets;

mod counters;
mod payload;
mod report;
mod suite;
mod tally;

pub use counters::Counters;
pub use payload::{
    check_payload, write_payload, Defect, Generator, XorShift, HEADER_LEN, MAX_PAYLOAD,
};
pub use report::{FlowReport, Report};
pub use tally::Tally;

/// Packets each way in a stress run (the requirement is at least 100,000).
pub const PACKETS: u64 = 100_000;
/// The device's address ...
pub const LOCAL: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// ... and its prefix length: [`PEER`] is routed through the device.
pub const PREFIX_LEN: u8 = 24;
/// The far end of the device: the source of the device → kernel packets, the destination of the
/// kernel → device datagrams.
pub const PEER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), 7777);
/// The device's MTU. Every packet fits, so nothing is fragmented.
pub const MTU: u32 = 1500;
/// The device's `txqueuelen`, which is also the size of its packet ring (kernel → device).
pub const TXQUEUELEN: u32 = 4096;
/// The buffer size asked for on the receiving socket (the kernel caps it at `rmem_max`).
pub const SOCKET_BUFFER: usize = 4 << 20;
/// The most packets a kernel → device sender may have in flight: well below [`TXQUEUELEN`].
pub const RING_WINDOW: u64 = 1024;
/// How long a sender pauses when its window is full.
pub const PAUSE: Duration = Duration::from_micros(200);
/// A receiver whose sender is done stops after this long with nothing to read.
pub const IDLE: Duration = Duration::from_millis(250);
/// No stress run takes longer: at this point senders stop and receivers give up.
pub const DEADLINE: Duration = Duration::from_secs(75);

/// The sizes come from this seed, so every run sends the same sizes (different per direction).
const SIZE_SEED: u64 = 0x5eed_0000_7a11_b0b5;

/// One direction in progress, shared by its sender and its receiver(s): how far each got, for
/// the window and the deadline.
#[derive(Debug)]
pub struct Flow {
    name: &'static str,
    count: u64,
    window: u64,
    deadline: Instant,
    sent: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
    sender_done: AtomicBool,
    sender_gave_up: AtomicBool,
}

impl Flow {
    fn new(name: &'static str, count: u64, window: u64, deadline: Instant) -> Arc<Flow> {
        Arc::new(Flow {
            name,
            count,
            window,
            deadline,
            sent: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            sender_done: AtomicBool::new(false),
            sender_gave_up: AtomicBool::new(false),
        })
    }

    fn window_open(&self) -> bool {
        let done = self.delivered.load(Ordering::Acquire) + self.dropped.load(Ordering::Acquire);
        self.sent.load(Ordering::Relaxed) < done + self.window
    }

    fn past_deadline(&self) -> bool {
        Instant::now() >= self.deadline
    }

    fn finish_sending(&self, gave_up: bool) {
        self.sender_gave_up.store(gave_up, Ordering::Release);
        self.sender_done.store(true, Ordering::Release);
    }
}

/// What a sender does next.
#[derive(Debug)]
pub enum Step<'a> {
    /// Send this packet.
    Send(&'a [u8]),
    /// The window is full: pause for [`PAUSE`] and ask again.
    Pause,
    /// Every packet was sent (or the deadline passed).
    Done,
}

/// The packets a test writes into the device (device → kernel), paced by the window.
#[derive(Debug)]
pub struct DeviceSource {
    flow: Arc<Flow>,
    generator: Generator,
    to: SocketAddr,
    packet: Vec<u8>,
}

impl DeviceSource {
    /// The next thing to do. [`Step::Send`] counts the packet as sent: send it, or panic.
    pub fn step(&mut self) -> Step<'_> {
        if self.flow.past_deadline() {
            self.flow.finish_sending(true);
            return Step::Done;
        }
        if !self.flow.window_open() {
            return Step::Pause;
        }
        let Some(payload) = self.generator.next_payload() else {
            self.flow.finish_sending(false);
            return Step::Done;
        };
        self.packet = packets::udp_ip(PEER.into(), self.to, payload);
        self.flow.sent.fetch_add(1, Ordering::Relaxed);
        Step::Send(&self.packet)
    }
}

/// One reader of the device (kernel → device): feed it every packet read and call
/// [`idle`](Self::idle) when a read waited [`IDLE`] for nothing; stop when [`done`](Self::done).
#[derive(Debug)]
pub struct DeviceSink {
    flow: Arc<Flow>,
    tally: Tally,
    sender_done_seen: bool,
    finished: bool,
}

impl DeviceSink {
    /// Checks and records one packet read from the device.
    pub fn packet(&mut self, packet: &[u8]) {
        if self.tally.ip_packet(packet, PEER) {
            self.flow.delivered.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// A read waited [`IDLE`] and got nothing. Once the sender is done, the first idle wait that
    /// *started* after this reader knew it (so every packet sent was already queued) ends the
    /// reader.
    pub fn idle(&mut self) {
        if self.sender_done_seen {
            self.finished = true;
        }
        self.sender_done_seen = self.flow.sender_done.load(Ordering::Acquire);
    }

    /// Whether this reader should stop: every packet arrived (at any reader), or the sender is
    /// done and nothing more came, or the deadline passed.
    pub fn done(&self) -> bool {
        self.finished
            || self.flow.delivered.load(Ordering::Acquire) >= self.flow.count
            || self.flow.past_deadline()
    }

    /// Distinct valid packets this reader got.
    pub fn delivered(&self) -> u64 {
        self.tally.delivered()
    }
}

/// Waits until `fd` is readable, for at most `timeout`; returns whether it is.
pub fn readable_within(fd: impl AsFd, timeout: Duration) -> bool {
    let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    let mut fds = [nix::poll::PollFd::new(
        fd.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    match nix::poll::poll(&mut fds, millis) {
        Ok(n) => n > 0,
        Err(nix::errno::Errno::EINTR) => false,
        Err(err) => panic!("poll failed: {err}"),
    }
}

/// How many packets each direction of a run carries (0: that direction is not run).
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Packets the test writes into the device, for the socket on [`LOCAL`].
    pub device_to_kernel: u64,
    /// Datagrams sent to [`PEER`], for the test to read from the device.
    pub kernel_to_device: u64,
}

impl Plan {
    /// [`PACKETS`] each way.
    pub const BOTH_WAYS: Plan = Plan {
        device_to_kernel: PACKETS,
        kernel_to_device: PACKETS,
    };
    /// [`PACKETS`] from the kernel to the device only (for several readers).
    pub const TO_DEVICE: Plan = Plan {
        device_to_kernel: 0,
        kernel_to_device: PACKETS,
    };
}

/// A stress run on one device: the kernel's side of both directions (a socket thread each) and
/// the verdict. See the [module docs](self).
#[derive(Debug)]
pub struct Stress {
    name: String,
    device: String,
    started: Instant,
    baseline: Counters,
    device_to_kernel: Arc<Flow>,
    kernel_to_device: Arc<Flow>,
    socket_port: u16,
    socket_reader: Option<JoinHandle<Tally>>,
    socket_writer: Option<JoinHandle<()>>,
}

impl Stress {
    /// Starts a run named `name` on `device`, which must be up with [`LOCAL`]/[`PREFIX_LEN`],
    /// [`MTU`] and [`TXQUEUELEN`]: binds the sockets and starts their threads. Call it from the
    /// test's namespaced thread.
    pub fn start(name: &str, device: &str, plan: Plan) -> Stress {
        let started = Instant::now();
        let deadline = started + DEADLINE;
        let baseline = Counters::read(device);

        let receiving = crate::bind_udp(LOCAL.into());
        let socket_port = receiving
            .local_addr()
            .unwrap_or_else(|err| panic!("local_addr: {err}"))
            .port();
        let buffer = {
            let socket = socket2::SockRef::from(&receiving);
            socket
                .set_recv_buffer_size(SOCKET_BUFFER)
                .unwrap_or_else(|err| panic!("cannot set SO_RCVBUF: {err}"));
            socket
                .recv_buffer_size()
                .unwrap_or_else(|err| panic!("cannot read SO_RCVBUF: {err}"))
        };
        // A full-size datagram takes about 2.3 KiB of buffer (its skb's truesize): 4 KiB each
        // leaves room to spare.
        let socket_window = (buffer as u64 / 4096).clamp(16, 1024);
        let device_to_kernel = Flow::new(
            "device → kernel",
            plan.device_to_kernel,
            socket_window,
            deadline,
        );
        let kernel_to_device = Flow::new(
            "kernel → device",
            plan.kernel_to_device,
            RING_WINDOW,
            deadline,
        );

        let socket_reader = (plan.device_to_kernel > 0).then(|| {
            let flow = Arc::clone(&device_to_kernel);
            let device = device.to_owned();
            spawn("stress-socket-reader", move || {
                read_socket(&receiving, &flow, &device, baseline)
            })
        });
        let socket_writer = (plan.kernel_to_device > 0).then(|| {
            let flow = Arc::clone(&kernel_to_device);
            let device = device.to_owned();
            let sending = crate::bind_udp(LOCAL.into());
            spawn("stress-socket-writer", move || {
                write_socket(&sending, &flow, &device, baseline)
            })
        });
        Stress {
            name: name.to_owned(),
            device: device.to_owned(),
            started,
            baseline,
            device_to_kernel,
            kernel_to_device,
            socket_port,
            socket_reader,
            socket_writer,
        }
    }

    /// The packets to write into the device (one source per run).
    pub fn device_source(&self) -> DeviceSource {
        DeviceSource {
            flow: Arc::clone(&self.device_to_kernel),
            generator: Generator::new(SIZE_SEED, self.device_to_kernel.count),
            to: SocketAddr::from((LOCAL, self.socket_port)),
            packet: Vec::new(),
        }
    }

    /// A reader of the device's packets (one per reader; they share the stream).
    pub fn device_sink(&self) -> DeviceSink {
        DeviceSink {
            flow: Arc::clone(&self.kernel_to_device),
            tally: Tally::new(self.kernel_to_device.count),
            sender_done_seen: false,
            finished: false,
        }
    }

    /// Waits for the socket threads, reads the kernel's counters, prints the figures and panics
    /// unless both directions are clean: no defect, every packet sent, and no more packets
    /// missing than the kernel counted as dropped. Call it from the test's namespaced thread,
    /// after every device reader and writer finished. Returns the report.
    pub fn finish(mut self, sinks: impl IntoIterator<Item = DeviceSink>) -> Report {
        let mut from_device = Tally::new(self.kernel_to_device.count);
        let mut per_reader = Vec::new();
        for sink in sinks {
            per_reader.push(sink.delivered());
            from_device.merge(&sink.tally);
        }
        let to_socket = match self.socket_reader.take() {
            Some(thread) => join(thread, "the socket reader"),
            None => Tally::new(0),
        };
        if let Some(thread) = self.socket_writer.take() {
            join(thread, "the socket writer");
        }
        let counted = Counters::read(&self.device).since(self.baseline);
        let report = Report {
            name: self.name,
            elapsed: self.started.elapsed(),
            counted,
            per_reader,
            device_to_kernel: FlowReport::new(
                &self.device_to_kernel,
                to_socket,
                counted.device_to_kernel_drops(),
            ),
            kernel_to_device: FlowReport::new(
                &self.kernel_to_device,
                from_device,
                counted.kernel_to_device_drops(),
            ),
        };
        println!("{report}");
        report.assert_clean();
        report
    }
}

fn spawn<T: Send + 'static>(
    name: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(body)
        .unwrap_or_else(|err| panic!("cannot spawn {name}: {err}"))
}

fn join<T>(thread: JoinHandle<T>, what: &str) -> T {
    thread.join().unwrap_or_else(|panic| {
        eprintln!("{what} panicked");
        std::panic::resume_unwind(panic)
    })
}

/// The socket side of device → kernel: receives and checks every datagram, and keeps the flow's
/// drop count current so a counted drop does not close the window for good.
fn read_socket(socket: &UdpSocket, flow: &Flow, device: &str, baseline: Counters) -> Tally {
    const POLL: Duration = Duration::from_millis(20);
    socket
        .set_read_timeout(Some(POLL))
        .unwrap_or_else(|err| panic!("cannot set a read timeout: {err}"));
    let refresh = || {
        let drops = Counters::read(device)
            .since(baseline)
            .device_to_kernel_drops();
        flow.dropped.store(drops, Ordering::Release);
    };
    let mut tally = Tally::new(flow.count);
    let mut buf = vec![0u8; 65536];
    let (mut sender_done_seen, mut idle_since) = (false, Instant::now());
    while tally.delivered() < flow.count && !flow.past_deadline() {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                if from != SocketAddr::from(PEER) {
                    tally.defect(Defect::Corrupted, format!("a datagram from {from}"));
                } else if tally.payload(buf.get(..n).unwrap_or_default()) {
                    flow.delivered.fetch_add(1, Ordering::AcqRel);
                }
                if tally.delivered() % 512 == 0 {
                    refresh();
                }
                idle_since = Instant::now();
            }
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                refresh();
                // A write into the device is delivered into this socket's buffer before the
                // `write` returns: once the sender is known to be done, an idle wait means
                // nothing more can come.
                if sender_done_seen && idle_since.elapsed() >= POLL {
                    break;
                }
                if !sender_done_seen && flow.sender_done.load(Ordering::Acquire) {
                    sender_done_seen = true;
                    idle_since = Instant::now();
                }
            }
            Err(err) => panic!("the stress socket's recv failed: {err}"),
        }
    }
    tally
}

/// The socket side of kernel → device: sends every datagram to [`PEER`] through the device,
/// paced by the window, refreshing the drop count while it waits.
fn write_socket(socket: &UdpSocket, flow: &Flow, device: &str, baseline: Counters) {
    let mut generator = Generator::new(!SIZE_SEED, flow.count);
    let mut gave_up = false;
    let mut paused = Duration::ZERO;
    while let Some(payload) = generator.next_payload() {
        while !flow.window_open() && !flow.past_deadline() {
            std::thread::sleep(PAUSE);
            paused += PAUSE;
            if paused >= Duration::from_millis(5) {
                paused = Duration::ZERO;
                let drops = Counters::read(device)
                    .since(baseline)
                    .kernel_to_device_drops();
                flow.dropped.store(drops, Ordering::Release);
            }
        }
        if flow.past_deadline() {
            gave_up = true;
            break;
        }
        socket
            .send_to(payload, PEER)
            .unwrap_or_else(|err| panic!("cannot send to {PEER}: {err}"));
        flow.sent.fetch_add(1, Ordering::Relaxed);
    }
    flow.finish_sending(gave_up);
}
