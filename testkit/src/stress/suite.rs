//! [`stress_suite!`](crate::stress_suite): the async stress tests, written once for every adapter
//! and runtime.

/// Expands to `mod $module` with the stress tests for the async adapter crate `$adapter` (which
/// has a `Tun` type) on the runtime module `$runtime`: one reader task and one writer task
/// sharing one `Arc<Tun>` with [`PACKETS`](crate::stress::PACKETS) each way, and four reader
/// tasks sharing one queue.
///
/// The runtime module provides what the [adapter suite](crate::suite) asks of one, or less:
/// ```text
/// // Builds the runtime in the calling (namespaced) thread and runs `future` on it.
/// pub fn block_on<F: Future>(future: F) -> F::Output;
/// // A task; F: Future + Send + 'static. Awaiting the result gives its output or its panic.
/// pub fn spawn<F>(future: F) -> impl Future<Output = F::Output>;
/// // `Some(output)` if `future` finishes within `limit`.
/// pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output>;
/// ```
#[macro_export]
macro_rules! stress_suite {
    (mod $module:ident, adapter = $adapter:ident, runtime = $($runtime:ident)::+) => {
        mod $module {
            use std::sync::Arc;

            use $adapter::Tun;
            use $($runtime)::+ as rt;
            use $crate::in_netns;
            use $crate::stress::{self, DeviceSink, DeviceSource, Plan, Stress, Step};

            /// Tasks must stop by the stress deadline; this is the margin for their last step.
            const TASK_LIMIT: std::time::Duration =
                stress::DEADLINE.saturating_add($crate::TIMEOUT);

            fn name(what: &str) -> String {
                format!("{}, {}, {what}", stringify!($adapter), stringify!($module))
            }

            fn stress_tun() -> Tun {
                Tun::builder()
                    .name("stress0")
                    .ipv4(stress::LOCAL, stress::PREFIX_LEN)
                    .mtu(stress::MTU)
                    .txqueuelen(stress::TXQUEUELEN)
                    .up()
                    .build()
                    .unwrap_or_else(|err| panic!("cannot build the stress device: {err}"))
                    .remove(0)
            }

            async fn write_device(tun: Arc<Tun>, mut source: DeviceSource) {
                loop {
                    match source.step() {
                        Step::Send(packet) => tun
                            .send_all(packet)
                            .await
                            .unwrap_or_else(|err| panic!("send to the device failed: {err}")),
                        // The runtime's timer as a sleep: it never completes the pending future.
                        Step::Pause => {
                            rt::timeout(stress::PAUSE, std::future::pending::<()>()).await;
                        }
                        Step::Done => break,
                    }
                }
            }

            async fn read_device(tun: Arc<Tun>, mut sink: DeviceSink) -> DeviceSink {
                let mut buf = vec![0u8; 65536];
                while !sink.done() {
                    match rt::timeout(stress::IDLE, tun.recv(&mut buf)).await {
                        Some(Ok(n)) => sink.packet(buf.get(..n).unwrap_or_default()),
                        Some(Err(err)) => panic!("recv from the device failed: {err}"),
                        None => sink.idle(),
                    }
                }
                sink
            }

            /// A reader task and a writer task share one `Arc<Tun>`, both directions at once.
            #[test]
            fn reader_and_writer_tasks_share_one_device() {
                in_netns(|| {
                    rt::block_on(async {
                        let tun = Arc::new(stress_tun());
                        let name = name("reader and writer tasks");
                        let stress = Stress::start(&name, tun.name(), Plan::BOTH_WAYS);
                        let source = stress.device_source();
                        let writer = rt::spawn(write_device(Arc::clone(&tun), source));
                        let reader = rt::spawn(read_device(Arc::clone(&tun), stress.device_sink()));
                        rt::timeout(TASK_LIMIT, writer)
                            .await
                            .unwrap_or_else(|| panic!("the writer task ignored the deadline"));
                        let sink = rt::timeout(TASK_LIMIT, reader)
                            .await
                            .unwrap_or_else(|| panic!("the reader task ignored the deadline"));
                        stress.finish([sink]);
                    })
                });
            }

            /// Four reader tasks share one queue: every packet is read by exactly one of them.
            #[test]
            fn four_reader_tasks_share_one_queue() {
                const READERS: usize = 4;
                in_netns(|| {
                    rt::block_on(async {
                        let tun = Arc::new(stress_tun());
                        let name = name("4 reader tasks");
                        let stress = Stress::start(&name, tun.name(), Plan::TO_DEVICE);
                        let readers: Vec<_> = (0..READERS)
                            .map(|_| rt::spawn(read_device(Arc::clone(&tun), stress.device_sink())))
                            .collect();
                        let mut sinks = Vec::new();
                        for reader in readers {
                            let sink = rt::timeout(TASK_LIMIT, reader).await;
                            sinks.push(sink.expect("a reader task ignored the deadline"));
                        }
                        let report = stress.finish(sinks);
                        assert_eq!(report.per_reader.len(), READERS);
                    })
                });
            }
        }
    };
}
