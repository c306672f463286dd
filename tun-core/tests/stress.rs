//! Stress on the blocking device: 100,000 packets each way through one TUN device shared by a
//! reader thread and a writer thread, and 100,000 packets read by four threads from one queue.
//! The packet format, the verifier, the pacing and the verdict are `tun_testkit::stress`, shared
//! with the async runtimes' stress tests. Each test runs in a fresh network namespace.
// Real devices in Linux network namespaces: Unix only (Windows has tests/windows.rs).
#![cfg(unix)]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::thread;

use tun_core::Device;
use tun_testkit::in_netns;
use tun_testkit::stress::{self, DeviceSink, Plan, Step, Stress};

/// The device of a stress run, blocking unless `nonblocking`.
fn stress_device(nonblocking: bool) -> Device {
    Device::builder()
        .name("stress0")
        .ipv4(stress::LOCAL, stress::PREFIX_LEN)
        .mtu(stress::MTU)
        .txqueuelen(stress::TXQUEUELEN)
        .nonblocking(nonblocking)
        .up()
        .build()
        .unwrap()
        .remove(0)
}

/// Reads packets from `device` into `sink` until it is done. Each read first waits (bounded) for
/// the device to be readable; a `WouldBlock` (another reader was faster) is no packet.
fn read_device(device: &Device, mut sink: DeviceSink) -> DeviceSink {
    let mut buf = vec![0u8; 65536];
    while !sink.done() {
        if !stress::readable_within(device, stress::IDLE) {
            sink.idle();
            continue;
        }
        match device.recv(&mut buf) {
            Ok(n) => sink.packet(&buf[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(err) => panic!("recv from the device failed: {err}"),
        }
    }
    sink
}

/// One blocking `Device` shared by `&` between a reader thread and a writer thread, both
/// directions at once.
#[test]
fn blocking_reader_and_writer_threads_share_one_device() {
    in_netns(|| {
        let device = stress_device(false);
        let stress = Stress::start("tun-core, blocking threads", device.name(), Plan::BOTH_WAYS);
        let (mut source, sink) = (stress.device_source(), stress.device_sink());
        let sink = thread::scope(|scope| {
            let device = &device;
            scope.spawn(move || loop {
                match source.step() {
                    Step::Send(packet) => device
                        .send_all(packet)
                        .unwrap_or_else(|err| panic!("send to the device failed: {err}")),
                    Step::Pause => thread::sleep(stress::PAUSE),
                    Step::Done => break,
                }
            });
            scope
                .spawn(move || read_device(device, sink))
                .join()
                .unwrap()
        });
        stress.finish([sink]);
    });
}

/// Four threads read one non-blocking queue at once: every packet is read by exactly one of them.
#[test]
fn four_reader_threads_share_one_queue() {
    const READERS: usize = 4;
    in_netns(|| {
        let device = stress_device(true);
        let stress = Stress::start("tun-core, 4 reader threads", device.name(), Plan::TO_DEVICE);
        let sinks: Vec<DeviceSink> = thread::scope(|scope| {
            let readers: Vec<_> = (0..READERS)
                .map(|_| {
                    let sink = stress.device_sink();
                    let device = &device;
                    scope.spawn(move || read_device(device, sink))
                })
                .collect();
            readers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let report = stress.finish(sinks);
        assert_eq!(report.per_reader.len(), READERS);
    });
}
