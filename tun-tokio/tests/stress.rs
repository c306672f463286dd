//! Stress on tokio's multi-thread runtime: 100,000 packets each way through one `Arc<Tun>`
//! shared by a reader task and a writer task, and 100,000 packets read by four tasks from one
//! queue (`tun_testkit::stress_suite!`, the same tests as on async-std and smol). Each test runs
//! in a fresh network namespace.
// Real devices in Linux network namespaces: Unix only (Windows has tests/windows.rs).
#![cfg(unix)]
#![allow(missing_docs)]

use std::future::Future;
use std::time::Duration;

/// tokio's multi-thread runtime with two workers, built in the calling (namespaced) thread.
mod multi_thread {
    use super::*;

    pub fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|err| panic!("cannot build a tokio runtime: {err}"))
            .block_on(future)
    }

    pub fn spawn<F>(future: F) -> impl Future<Output = F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let task = tokio::spawn(future);
        async move {
            task.await
                .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()))
        }
    }

    pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
        tokio::time::timeout(limit, future).await.ok()
    }
}

tun_testkit::stress_suite!(
    mod tokio_multi_thread, adapter = tun_tokio, runtime = crate::multi_thread
);
