//! Independent pieces of work spread over the cores, their results handed
//! on in the order given. `audit` and `lint` stream files through
//! [`ordered`] (a bounded window keeps memory flat however many files
//! there are); `render` builds its artifacts with [`map`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};

/// Stack of a worker thread: as large as a main thread's usual 8 MiB
/// (parsers recurse with the nesting of their input).
const WORKER_STACK: usize = 8 << 20;

/// Worker threads for `items` pieces of work: the available cores, at most 8.
pub fn workers(items: usize) -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(8).min(items).max(1)
}

/// Runs `work` on every item on up to `workers` threads and passes each
/// result to `sink` in the items' order. Workers take the items a few at a
/// time (fewer wake-ups per item) and start no item more than `window`
/// ahead of what `sink` has taken. The first error `sink` returns stops
/// the workers and is returned; a panic in `work` is re-raised here.
pub fn ordered<T, R, E>(
    items: &[T],
    workers: usize,
    window: usize,
    work: impl Fn(&T) -> R + Sync,
    mut sink: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Sync,
    R: Send,
{
    let workers = workers.clamp(1, items.len().max(1));
    if workers == 1 {
        return items.iter().try_for_each(|item| sink(work(item)));
    }
    let window = window.max(workers);
    // Small enough that every worker has several chunks in the window.
    let chunk = (window / (workers * 4)).max(1);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // How many results `sink` has taken: a worker claims item i only once
    // i < taken + window.
    let taken = Mutex::new(0usize);
    let advanced = Condvar::new();
    let halt = || {
        stop.store(true, Ordering::SeqCst);
        let _guard = taken.lock();
        advanced.notify_all();
    };
    let (tx, rx) = mpsc::channel::<(usize, Vec<R>)>();
    std::thread::scope(|s| {
        let mut started = 0;
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, stop, taken, advanced, work, halt) = (&next, &stop, &taken, &advanced, &work, &halt);
            let spawned = std::thread::Builder::new().stack_size(WORKER_STACK).spawn_scoped(s, move || {
                // A panicking worker wakes the others, so none waits for its result.
                let _on_panic = OnPanic(halt);
                loop {
                    let start = next.fetch_add(chunk, Ordering::SeqCst);
                    if start >= items.len() {
                        return;
                    }
                    {
                        // The chunk `sink` waits for always starts at `taken`, so it never waits here.
                        let mut t = taken.lock().unwrap_or_else(|p| p.into_inner());
                        while start >= *t + window && !stop.load(Ordering::SeqCst) {
                            t = advanced.wait(t).unwrap_or_else(|p| p.into_inner());
                        }
                    }
                    let mut results = Vec::with_capacity(chunk);
                    for item in &items[start..(start + chunk).min(items.len())] {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        results.push(work(item));
                    }
                    if tx.send((start, results)).is_err() {
                        return;
                    }
                }
            });
            started += usize::from(spawned.is_ok());
        }
        drop(tx);
        let mut pending: BTreeMap<usize, Vec<R>> = BTreeMap::new();
        let mut done = 0usize;
        let mut result = Ok(());
        // With no worker started, everything is done on this thread.
        if started == 0 {
            result = items.iter().try_for_each(|item| sink(work(item)));
            done = items.len();
        }
        while done < items.len() && result.is_ok() {
            let Ok((start, results)) = rx.recv() else { break };
            pending.insert(start, results);
            while let Some(results) = pending.remove(&done) {
                for r in results {
                    done += 1;
                    if let Err(e) = sink(r) {
                        result = Err(e);
                        break;
                    }
                }
                if result.is_err() {
                    break;
                }
                *taken.lock().unwrap_or_else(|p| p.into_inner()) = done;
                advanced.notify_all();
            }
        }
        halt();
        result
    })
}

/// `work` on every item, spread over the cores; results in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let mut out = Vec::with_capacity(items.len());
    let _ = ordered(items, workers(items.len()), items.len(), work, |r| {
        out.push(r);
        Ok::<(), std::convert::Infallible>(())
    });
    out
}

struct OnPanic<F: Fn()>(F);

impl<F: Fn()> Drop for OnPanic<F> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            (self.0)();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items() {
        let items: Vec<u64> = (0..1000).collect();
        // Uneven work, so results arrive out of order.
        let out = map(&items, |&i| {
            if i % 7 == 0 {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn no_more_than_the_window_waits() {
        let items: Vec<usize> = (0..500).collect();
        let running = AtomicUsize::new(0);
        let mut seen = Vec::new();
        // Window 64 on 2 workers: chunks of 8 items.
        ordered(&items, 2, 64, |&i| {
            running.fetch_add(1, Ordering::SeqCst);
            i
        }, |i| {
            // Started so far: never more than the window (and a chunk per worker) ahead of what was taken.
            assert!(running.load(Ordering::SeqCst) <= seen.len() + 64 + 2 * 8, "window exceeded at {i}");
            seen.push(i);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(seen, items);
    }

    #[test]
    fn the_first_sink_error_stops_the_run() {
        let items: Vec<usize> = (0..10_000).collect();
        let worked = AtomicUsize::new(0);
        let r = ordered(&items, 2, 16, |&i| {
            worked.fetch_add(1, Ordering::SeqCst);
            i
        }, |i| if i == 50 { Err(i) } else { Ok(()) });
        assert_eq!(r, Err(50));
        assert!(worked.load(Ordering::SeqCst) < 200, "workers went on after the error");
    }

    #[test]
    fn a_panic_in_the_work_is_raised_not_hung() {
        let items: Vec<usize> = (0..1000).collect();
        let r = std::panic::catch_unwind(|| {
            ordered(&items, 2, 4, |&i| if i == 10 { panic!("boom") } else { i }, |_| Ok::<(), ()>(()))
        });
        assert!(r.is_err());
    }
}
