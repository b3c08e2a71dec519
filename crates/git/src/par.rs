//! Mapping a slice on a few threads, the results in the slice's order
//! whatever the threads' timing. (rayon's pools would do it too; these are
//! scoped to the call and take the scan's thread count, as the walks do.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `f` of each of `items`, in order, by up to `threads` threads, each taking
/// the next item when done with one: for a few items of uneven cost.
pub fn map_each<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let done = Mutex::new(Vec::with_capacity(items.len()));
    each_with(
        items,
        threads,
        Vec::new,
        |mine: &mut Vec<(usize, R)>, i, item| mine.push((i, f(item))),
        |mine| done.lock().unwrap_or_else(|p| p.into_inner()).extend(mine),
    );
    let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Each of `items` (its index, itself) handed to `f` by up to `threads`
/// threads, each taking the next item when done with one, with a state of
/// its own: made by `state()` when the thread starts, handed to `done` when
/// it ends.
pub fn each_with<T: Sync, S>(
    items: &[T],
    threads: usize,
    state: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, usize, &T) + Sync,
    done: impl Fn(S) + Sync,
) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                let mut s = state();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else {
                        break;
                    };
                    f(&mut s, i, item);
                }
                done(s);
            });
        }
    });
}

/// `f` of each of `items`, in order; the items cut in `threads` runs, each
/// mapped by a thread of its own, with a state of its own (`state()`, what
/// the run has seen so far): for many items of even, small cost.
pub fn map_runs<T: Sync, S, R: Send>(
    items: &[T],
    threads: usize,
    state: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    let run = items.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let (f, state) = (&f, &state);
        let runs: Vec<_> = items
            .chunks(run)
            .map(|c| {
                scope.spawn(move || {
                    let mut s = state();
                    c.iter().map(|item| f(&mut s, item)).collect::<Vec<R>>()
                })
            })
            .collect();
        runs.into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}
