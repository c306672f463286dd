//! The shared adapter suite (`tun_testkit::adapter_suite!`) on async-std and on smol, plus what
//! only async-io does: a pending `AsyncRead` read also wakes when the device is deleted. Real
//! devices, each test in its own namespace.
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

/// Beyond the shared suite (tokio's `poll_recv` cannot do this): a read pending in the
/// `AsyncRead` implementation, which waits through `poll_readable`, also wakes with the error
/// when the device is deleted, because async-io counts `EPOLLERR` as readable.
#[test]
fn async_io_pending_async_read_fails_when_the_device_is_deleted() {
    use futures_lite::AsyncReadExt;
    use tun_testkit::{in_netns, ip, suite::DELETED_DEVICE_ERRNO, TIMEOUT};

    in_netns(|| {
        ::smol::block_on(async {
            let mut tun = tun_async_std::Tun::builder()
                .name("gone1")
                .build()
                .unwrap()
                .remove(0);
            let deleter = std::thread::spawn(|| {
                std::thread::sleep(Duration::from_millis(200));
                ip(&["link", "del", "gone1"]);
            });
            let mut buf = [0u8; 2048];
            let result = smol_rt::timeout(TIMEOUT, tun.read(&mut buf))
                .await
                .expect("read still pending TIMEOUT after the device was deleted");
            let err = result.expect_err("read returned a packet from a deleted device");
            assert_eq!(err.raw_os_error(), Some(DELETED_DEVICE_ERRNO), "{err}");
            deleter.join().unwrap();
        });
    });
}
