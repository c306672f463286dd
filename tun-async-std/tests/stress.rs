//! Stress on async-std and on smol: 100,000 packets each way through one `Arc<Tun>` shared by a
//! reader task and a writer task, and 100,000 packets read by four tasks from one queue
//! (`tun_testkit::stress_suite!`, the same tests as on tokio). Each test runs in a fresh network
//! namespace.
// Real devices in Linux network namespaces: Unix only (Windows has tests/windows.rs).
#![cfg(unix)]
#![allow(missing_docs)]

use std::future::Future;
use std::time::Duration;

/// async-std: its global executor and timers.
mod async_std_rt {
    use super::*;

    pub fn block_on<F: Future>(future: F) -> F::Output {
        ::async_std::task::block_on(future)
    }

    pub fn spawn<F>(future: F) -> impl Future<Output = F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        ::async_std::task::spawn(future)
    }

    pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
        ::async_std::future::timeout(limit, future).await.ok()
    }
}

/// smol: its global executor and async-io timers.
mod smol_rt {
    use super::*;

    pub fn block_on<F: Future>(future: F) -> F::Output {
        ::smol::block_on(future)
    }

    pub fn spawn<F>(future: F) -> impl Future<Output = F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        ::smol::spawn(future)
    }

    pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
        futures_lite::future::or(async { Some(future.await) }, async {
            ::smol::Timer::after(limit).await;
            None
        })
        .await
    }
}

tun_testkit::stress_suite!(mod async_std, adapter = tun_async_std, runtime = crate::async_std_rt);
tun_testkit::stress_suite!(mod smol, adapter = tun_async_std, runtime = crate::smol_rt);
