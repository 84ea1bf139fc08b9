//! **Per-thread scratch, planned once.** A parallel loop that needs a
//! buffer per task takes the one of the thread it runs on from a
//! [`Scratch`] made when the step is planned, so a step allocates nothing
//! (`tests/allocations.rs`) whichever thread runs which task.

use std::sync::Mutex;

/// One `T` per thread of rayon's pool (and one for any other thread).
pub struct Scratch<T> {
    slots: Vec<Mutex<T>>,
}

impl<T> Scratch<T> {
    /// A `T` from `make` for every thread of the current pool, and one more.
    pub fn new(make: impl Fn() -> T) -> Self {
        let slots = (0..rayon::current_num_threads() + 1)
            .map(|_| Mutex::new(make()))
            .collect();
        Scratch { slots }
    }

    /// Run `f` with this thread's `T`. A thread outside the pool (or of a
    /// larger pool than planned for) shares a slot, behind its lock.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let last = self.slots.len() - 1;
        let slot = rayon::current_thread_index().map_or(last, |i| i % last.max(1));
        let mut guard = self.slots[slot]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }
}

impl<T> std::fmt::Debug for Scratch<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scratch({} slots)", self.slots.len())
    }
}
