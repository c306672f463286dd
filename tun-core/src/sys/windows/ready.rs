//! Read readiness without a thread of our own: the session's read event turned into a task
//! wake-up by the OS thread pool (`RegisterWaitForSingleObject`, what async-io's `Waitable` and
//! polling's IOCP backend do for arbitrary handles).
//!
//! The first `poll` that finds nothing to read arms a one-shot thread-pool wait
//! (`WT_EXECUTEONLYONCE`) on the event, whose callback wakes every task that polled since. The
//! next `poll` after it fired returns `Ready` (the event's signal is consumed: Wintun's read event
//! is auto-reset) and lets the caller retry the receive; a receive that still finds nothing
//! polls again, which arms a new wait. Dropping the futures of waiting tasks leaves the armed wait
//! in place for the next poller; dropping this value unregisters it, so nothing outlives the
//! device.
//!
//! The callback owns one reference to the shared state (given to the thread pool as its context
//! pointer). Whoever can prove the callback will never run takes that reference back.

use std::ffi::c_void;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE, WAIT_OBJECT_0, WAIT_TIMEOUT};
use windows_sys::Win32::System::Threading::{
    RegisterWaitForSingleObject, UnregisterWaitEx, WaitForSingleObject, INFINITE,
    WT_EXECUTEONLYONCE,
};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing held under these locks can be left half-updated by a panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the callback and the pollers share.
#[derive(Debug, Default)]
struct Shared {
    /// Set by the callback before it wakes anyone.
    fired: AtomicBool,
    /// Every task that polled since the wait was armed (one entry per task).
    wakers: Mutex<Vec<Waker>>,
}

impl Shared {
    fn add_waker(&self, waker: &Waker) {
        let mut wakers = lock(&self.wakers);
        if !wakers.iter().any(|known| known.will_wake(waker)) {
            wakers.push(waker.clone());
        }
    }
}

#[derive(Debug)]
enum State {
    Idle,
    /// A registered wait (`wait` is its handle).
    Armed {
        wait: HANDLE,
        shared: Arc<Shared>,
    },
}

/// The readiness of one event: see the module docs.
#[derive(Debug)]
pub(crate) struct ReadReady {
    event: HANDLE,
    state: Mutex<State>,
}

// SAFETY: the handles are used only through thread-safe Win32 calls, under the mutex.
unsafe impl Send for ReadReady {}
// SAFETY: as above; all mutation goes through the mutex or atomics.
unsafe impl Sync for ReadReady {}

/// The thread pool's callback: wakes the pollers. Runs at most once per registration.
unsafe extern "system" fn woken(context: *mut c_void, _timed_out: bool) {
    // SAFETY: `context` is the reference `Arc::into_raw` gave this registration; the callback
    // runs at most once (WT_EXECUTEONLYONCE), so it is taken back exactly once.
    let shared = unsafe { Arc::from_raw(context as *const Shared) };
    shared.fired.store(true, Ordering::Release);
    let wakers = std::mem::take(&mut *lock(&shared.wakers));
    for waker in wakers {
        waker.wake();
    }
}

impl ReadReady {
    /// Readiness of `event`.
    ///
    /// # Safety
    /// `event` must be a waitable handle that stays open until this value is dropped.
    pub(crate) unsafe fn new(event: HANDLE) -> ReadReady {
        ReadReady {
            event,
            state: Mutex::new(State::Idle),
        }
    }

    /// `Ready` once the event was signalled since the last `Ready`; otherwise registers the
    /// task to be woken when it is.
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = lock(&self.state);
        if let State::Armed { wait, shared } = &*state {
            if !shared.fired.load(Ordering::Acquire) {
                shared.add_waker(cx.waker());
                // The callback sets `fired` before taking the wakers: either it took this one,
                // or this load sees that it fired.
                if !shared.fired.load(Ordering::Acquire) {
                    return Poll::Pending;
                }
            }
            // Fired: the callback owns its reference and may still be finishing; a
            // non-blocking unregistration frees the wait once it has.
            // SAFETY: `wait` is a registered wait handle, unregistered only here and in `drop`.
            unsafe { UnregisterWaitEx(*wait, std::ptr::null_mut()) };
            *state = State::Idle;
            return Poll::Ready(Ok(()));
        }
        // Idle: a signal that came before anyone waited is taken at once (an auto-reset event
        // is unsignalled by this wait, as by the thread pool's).
        // SAFETY: `event` is open (`new`'s contract).
        match unsafe { WaitForSingleObject(self.event, 0) } {
            WAIT_OBJECT_0 => return Poll::Ready(Ok(())),
            WAIT_TIMEOUT => {}
            _ => return Poll::Ready(Err(io::Error::last_os_error())),
        }
        let shared = Arc::new(Shared::default());
        shared.add_waker(cx.waker());
        let context = Arc::into_raw(Arc::clone(&shared));
        let mut wait: HANDLE = std::ptr::null_mut();
        // SAFETY: `event` is open; `woken` matches WAITORTIMERCALLBACK; `context` is a
        // reference the callback takes back when it runs.
        let registered = unsafe {
            RegisterWaitForSingleObject(
                &mut wait,
                self.event,
                Some(woken),
                context as *const c_void,
                INFINITE,
                WT_EXECUTEONLYONCE,
            )
        };
        if registered == 0 {
            let err = io::Error::last_os_error();
            // SAFETY: not registered: the callback will never run, the reference is ours.
            drop(unsafe { Arc::from_raw(context) });
            return Poll::Ready(Err(err));
        }
        *state = State::Armed { wait, shared };
        Poll::Pending
    }
}

impl Drop for ReadReady {
    fn drop(&mut self) {
        let state = std::mem::replace(
            self.state.get_mut().unwrap_or_else(PoisonError::into_inner),
            State::Idle,
        );
        let State::Armed { wait, shared } = state else {
            return;
        };
        if shared.fired.load(Ordering::Acquire) {
            // The callback has its reference and may be running, even on this thread (a waker
            // that drops the last owner of the device): a blocking unregistration could
            // deadlock, and is not needed.
            // SAFETY: `wait` is a registered wait handle, unregistered once.
            unsafe { UnregisterWaitEx(wait, std::ptr::null_mut()) };
            return;
        }
        // Not fired, so not running on this thread: wait for a callback that may be starting
        // elsewhere to finish, after which it either ran or never will.
        // SAFETY: `wait` is a registered wait handle, unregistered once.
        unsafe { UnregisterWaitEx(wait, INVALID_HANDLE_VALUE) };
        if !shared.fired.load(Ordering::Acquire) {
            // SAFETY: the callback never ran and never will: its reference is taken back.
            drop(unsafe { Arc::from_raw(Arc::as_ptr(&shared)) });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::sync::Weak;
    use std::time::{Duration, Instant};

    use super::super::event::Event;
    use super::*;

    fn ready_of(event: &Event) -> ReadReady {
        // SAFETY: every test drops the `ReadReady` before its event.
        unsafe { ReadReady::new(event.handle()) }
    }

    /// The shared state of an armed wait, to watch it being freed.
    fn armed(ready: &ReadReady) -> Weak<Shared> {
        match &*lock(&ready.state) {
            State::Armed { shared, .. } => Arc::downgrade(shared),
            State::Idle => panic!("no wait is armed"),
        }
    }

    /// Sets `event` from another thread after `delay`.
    fn set_later(event: &Arc<Event>, delay: Duration) -> std::thread::JoinHandle<()> {
        let event = Arc::clone(event);
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            event.set();
        })
    }

    #[test]
    fn a_signal_before_the_poll_is_ready_at_once() {
        let event = Event::new(false).unwrap();
        let ready = ready_of(&event);
        event.set();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(ready.poll(&mut cx).is_ready());
        // The auto-reset event's signal was consumed: the next poll waits.
        assert!(ready.poll(&mut cx).is_pending());
    }

    #[test]
    fn a_tokio_task_is_woken_by_set_event() {
        let event = Arc::new(Event::new(false).unwrap());
        let ready = Arc::new(ready_of(&event));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let setter = set_later(&event, Duration::from_millis(50));
        let started = Instant::now();
        let task = {
            let ready = Arc::clone(&ready);
            runtime.spawn(async move { poll_fn(|cx| ready.poll(cx)).await })
        };
        let woken =
            runtime.block_on(async { tokio::time::timeout(Duration::from_secs(5), task).await });
        woken
            .expect("the tokio task was not woken within 5 s")
            .unwrap()
            .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(40));
        setter.join().unwrap();
        drop(runtime);
        drop(Arc::into_inner(ready));
    }

    #[test]
    fn an_async_io_task_is_woken_by_set_event() {
        let event = Arc::new(Event::new(false).unwrap());
        let ready = ready_of(&event);
        let setter = set_later(&event, Duration::from_millis(50));
        let outcome = async_io::block_on(async {
            let wait = poll_fn(|cx| ready.poll(cx));
            let timeout = async {
                async_io::Timer::after(Duration::from_secs(5)).await;
                Err(io::Error::other(
                    "the async-io task was not woken within 5 s",
                ))
            };
            futures_race(wait, timeout).await
        });
        outcome.unwrap();
        setter.join().unwrap();
    }

    /// The first of two futures to finish (no futures-lite dependency for one `race`).
    async fn futures_race<T>(
        a: impl std::future::Future<Output = T>,
        b: impl std::future::Future<Output = T>,
    ) -> T {
        let mut a = std::pin::pin!(a);
        let mut b = std::pin::pin!(b);
        poll_fn(|cx| {
            if let Poll::Ready(value) = a.as_mut().poll(cx) {
                return Poll::Ready(value);
            }
            b.as_mut().poll(cx)
        })
        .await
    }

    #[test]
    fn every_waiting_task_is_woken() {
        // Several readers of one device: one signal wakes them all, and each retries its
        // receive (the adapters' loop); the ones that find nothing poll again and re-arm.
        let event = Arc::new(Event::new(false).unwrap());
        let ready = Arc::new(ready_of(&event));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap();
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let ready = Arc::clone(&ready);
                let mut polled = false;
                // Done when polled again after waiting, that is, when woken.
                runtime.spawn(poll_fn(move |cx| {
                    if std::mem::replace(&mut polled, true) {
                        return Poll::Ready(());
                    }
                    ready.poll(cx).map(drop)
                }))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        event.set();
        runtime.block_on(async {
            for task in tasks {
                tokio::time::timeout(Duration::from_secs(5), task)
                    .await
                    .expect("a waiting task was not woken by the one signal")
                    .unwrap();
            }
        });
    }

    /// Waits until the callback has run and dropped its reference.
    fn wait_fired(shared: &Weak<Shared>) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while shared
            .upgrade()
            .is_some_and(|s| !s.fired.load(Ordering::Acquire) || Arc::strong_count(&s) > 2)
        {
            assert!(
                Instant::now() < deadline,
                "the thread pool never ran the callback"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_cancelled_wait_leaks_nothing() {
        let event = Event::new(false).unwrap();
        let ready = Arc::new(ready_of(&event));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        // A task waits, and is cancelled by a timeout before the event comes.
        let cancelled = runtime.block_on(async {
            tokio::time::timeout(Duration::from_millis(30), poll_fn(|cx| ready.poll(cx))).await
        });
        assert!(cancelled.is_err(), "the wait ended without a signal");
        let shared = armed(&ready);
        // Armed: this state and the thread pool's reference.
        assert_eq!(shared.strong_count(), 2);
        drop(Arc::into_inner(ready).unwrap());
        assert_eq!(
            shared.strong_count(),
            0,
            "the wait's state outlived the device"
        );
        // Many cancelled waits in a row: still nothing left, and no handle accumulates.
        let before = handle_count();
        for _ in 0..200 {
            let ready = ready_of(&event);
            let waker = Waker::noop();
            assert!(ready.poll(&mut Context::from_waker(waker)).is_pending());
            let shared = armed(&ready);
            drop(ready);
            assert_eq!(shared.strong_count(), 0);
        }
        let after = handle_count();
        assert!(after <= before + 5, "handles grew from {before} to {after}");
    }

    #[test]
    fn a_wait_that_fired_is_freed_by_the_next_poll_or_by_drop() {
        let event = Event::new(false).unwrap();
        let ready = ready_of(&event);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(ready.poll(&mut cx).is_pending());
        let shared = armed(&ready);
        event.set();
        wait_fired(&shared);
        assert!(ready.poll(&mut cx).is_ready());
        assert_eq!(shared.strong_count(), 0);
        // Fired and dropped without a poll.
        assert!(ready.poll(&mut cx).is_pending());
        let shared = armed(&ready);
        event.set();
        wait_fired(&shared);
        drop(ready);
        assert_eq!(shared.strong_count(), 0);
    }

    fn handle_count() -> u32 {
        use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessHandleCount};
        let mut count = 0;
        // SAFETY: the pseudo handle of this process, and a valid out pointer.
        unsafe { GetProcessHandleCount(GetCurrentProcess(), &mut count) };
        count
    }
}
