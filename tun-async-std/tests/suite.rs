//! The shared adapter suite (`tun_testkit::adapter_suite!`) on async-std and on smol, plus what
//! only async-io does: a pending `AsyncRead` read also wakes when the device is deleted. Real
//! devices, each test in its own namespace.
// Real devices in Linux network namespaces: Unix only (Windows has tests/windows.rs).
#![cfg(unix)]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::time::Duration;

/// async-std: its global executor, blocking pool and timers.
mod async_std_rt {
    use super::*;

    pub use futures_lite::{AsyncReadExt, AsyncWriteExt};

    /// async-io's reactor is global: there is no "outside a runtime" for `build()`.
    pub const BUILDS_OUTSIDE_RUNTIME: bool = true;

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

    pub fn spawn_blocking<F, R>(work: F) -> impl Future<Output = R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        ::async_std::task::spawn_blocking(work)
    }

    pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
        ::async_std::future::timeout(limit, future).await.ok()
    }
}

/// smol: its global executor, `unblock` pool and async-io timers.
mod smol_rt {
    use super::*;

    pub use futures_lite::{AsyncReadExt, AsyncWriteExt};

    /// async-io's reactor is global: there is no "outside a runtime" for `build()`.
    pub const BUILDS_OUTSIDE_RUNTIME: bool = true;

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

    pub fn spawn_blocking<F, R>(work: F) -> impl Future<Output = R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        ::smol::unblock(work)
    }

    pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
        futures_lite::future::or(async { Some(future.await) }, async {
            ::smol::Timer::after(limit).await;
            None
        })
        .await
    }
}

tun_testkit::adapter_suite!(mod async_std, adapter = tun_async_std, runtime = crate::async_std_rt);
tun_testkit::adapter_suite!(mod smol, adapter = tun_async_std, runtime = crate::smol_rt);
