//! The shared adapter suite (`tun_testkit::adapter_suite!`) on tokio, once on the current-thread
//! runtime and once on the multi-thread runtime. Real devices, each test in its own namespace.
// Real devices in Linux network namespaces: Unix only (Windows has tests/windows.rs).
#![cfg(unix)]
#![allow(missing_docs)]

use std::future::Future;
use std::time::Duration;

/// What both flavours share: tasks, blocking work, timers and the I/O traits.
mod tokio_common {
    use super::*;

    pub use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// `build()` needs a running runtime to register the device with.
    pub const BUILDS_OUTSIDE_RUNTIME: bool = false;

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

    pub fn spawn_blocking<F, R>(work: F) -> impl Future<Output = R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let task = tokio::task::spawn_blocking(work);
        async move {
            task.await
                .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()))
        }
    }

    pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
        tokio::time::timeout(limit, future).await.ok()
    }
}

mod current_thread {
    pub use super::tokio_common::*;

    pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|err| panic!("cannot build a tokio runtime: {err}"))
            .block_on(future)
    }
}

mod multi_thread {
    pub use super::tokio_common::*;

    pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|err| panic!("cannot build a tokio runtime: {err}"))
            .block_on(future)
    }
}

tun_testkit::adapter_suite!(
    mod tokio_current_thread, adapter = tun_tokio, runtime = crate::current_thread
);
tun_testkit::adapter_suite!(
    mod tokio_multi_thread, adapter = tun_tokio, runtime = crate::multi_thread
);
