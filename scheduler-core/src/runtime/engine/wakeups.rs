//! When the scheduler's loop must look at each task next.
//!
//! Each task has at most one wake-up that counts: the earliest instant at which its
//! condition may change or one of its runs reaches its deadline. That instant moves each
//! time the task is looked at (a task always due in async mode gets a new deadline with
//! every run, hundreds of thousands of times a second), so the queue is a min-heap with lazy
//! deletion: moving a wake-up pushes a new entry and leaves the old one behind, to be
//! skipped when it surfaces. Left alone, those stale entries would pile up for as long as a
//! run's timeout (16 bytes per run); the heap is therefore compacted whenever stale entries
//! outnumber the live ones, which keeps it within twice the number of tasks (plus a
//! constant) at an amortised O(1) cost per move.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Entries the heap may hold beyond twice the live wake-ups before it is compacted, so that
/// a handful of tasks does not compact at every move.
const SLACK: usize = 1024;

/// The wake-ups of the tasks, by task slot.
#[derive(Debug, Default)]
pub(crate) struct WakeQueue {
    heap: BinaryHeap<Reverse<(i64, usize)>>,
    /// The wake-up that counts for each slot; heap entries that differ from it are stale.
    current: Vec<Option<i64>>,
    /// Slots with a wake-up (`Some` in `current`).
    live: usize,
}

impl WakeQueue {
    /// Makes room for the wake-ups of `slots` more slots at once, rather than by doubling.
    pub(crate) fn reserve(&mut self, slots: usize) {
        self.heap.reserve_exact(slots);
        self.current.reserve_exact(slots);
    }

    /// Sets the wake-up of `slot` to `at` (microseconds since the epoch), replacing the one
    /// it had.
    pub(crate) fn set(&mut self, slot: usize, at: i64) {
        if slot >= self.current.len() {
            self.current.resize(slot + 1, None);
        }
        match self.current[slot].replace(at) {
            Some(previous) if previous == at => return,
            Some(_) => {}
            None => self.live += 1,
        }
        self.heap.push(Reverse((at, slot)));
        if self.heap.len() > 2 * self.live + SLACK {
            self.compact();
        }
    }

    /// Drops the wake-up of `slot` (a task removed).
    pub(crate) fn clear(&mut self, slot: usize) {
        if let Some(current) = self.current.get_mut(slot)
            && current.take().is_some()
        {
            self.live -= 1;
        }
    }

    /// The earliest wake-up, if any.
    pub(crate) fn next(&mut self) -> Option<i64> {
        // Stale entries on top would wake the loop for nothing: skip them first.
        while let Some(&Reverse((at, slot))) = self.heap.peek() {
            if self.current[slot] == Some(at) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Removes the wake-ups due at `now` or before, and calls `due` with each of their
    /// slots, earliest first.
    pub(crate) fn pop_due(&mut self, now: i64, mut due: impl FnMut(usize)) {
        while let Some(at) = self.next() {
            if at > now {
                break;
            }
            let Some(Reverse((_, slot))) = self.heap.pop() else {
                break;
            };
            self.current[slot] = None;
            self.live -= 1;
            due(slot);
        }
    }

    /// Entries in the heap, stale ones included.
    #[cfg(test)]
    fn entries(&self) -> usize {
        self.heap.len()
    }

    /// Keeps one entry per live wake-up. Entries for the same slot and instant can repeat
    /// (a wake-up moved away and back), hence `kept`.
    fn compact(&mut self) {
        let mut kept = vec![false; self.current.len()];
        let entries: Vec<_> = std::mem::take(&mut self.heap)
            .into_vec()
            .into_iter()
            .filter(|&Reverse((at, slot))| {
                let keep = !kept[slot] && self.current[slot] == Some(at);
                kept[slot] |= keep;
                keep
            })
            .collect();
        self.heap = BinaryHeap::from(entries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(queue: &mut WakeQueue, now: i64) -> Vec<usize> {
        let mut due = Vec::new();
        queue.pop_due(now, |slot| due.push(slot));
        due
    }

    #[test]
    fn wakeups_come_out_earliest_first_and_only_when_due() {
        let mut queue = WakeQueue::default();
        queue.set(0, 30);
        queue.set(1, 10);
        queue.set(2, 20);
        assert_eq!(queue.next(), Some(10));
        assert_eq!(drain(&mut queue, 9), Vec::<usize>::new());
        assert_eq!(drain(&mut queue, 20), vec![1, 2]);
        assert_eq!(queue.next(), Some(30));
        assert_eq!(drain(&mut queue, 100), vec![0]);
        assert_eq!(queue.next(), None);
    }

    #[test]
    fn a_moved_wakeup_fires_once_at_its_new_instant() {
        let mut queue = WakeQueue::default();
        queue.set(0, 10);
        queue.set(0, 50);
        // The entry left at 10 is stale: nothing to wake for before 50.
        assert_eq!(queue.next(), Some(50));
        assert_eq!(drain(&mut queue, 40), Vec::<usize>::new());
        queue.set(0, 5);
        queue.set(0, 50);
        queue.set(0, 50);
        assert_eq!(drain(&mut queue, 60), vec![0]);
        assert_eq!(drain(&mut queue, 1_000), Vec::<usize>::new());
    }

    #[test]
    fn a_cleared_slot_does_not_wake() {
        let mut queue = WakeQueue::default();
        queue.set(3, 10);
        queue.set(4, 20);
        queue.clear(3);
        queue.clear(3);
        assert_eq!(drain(&mut queue, 100), vec![4]);
        queue.set(3, 200);
        assert_eq!(drain(&mut queue, 200), vec![3]);
    }

    /// A task always due gets a new deadline with each run: the stale entries must not
    /// pile up (they did, at 16 bytes per run, until the heap was compacted).
    #[test]
    fn moving_wakeups_again_and_again_keeps_the_heap_bounded() {
        let mut queue = WakeQueue::default();
        let tasks = 100;
        for step in 0..1_000_000_i64 {
            let slot = (step % tasks) as usize;
            // Deadlines move forward, and sometimes back to an instant already queued.
            let at = 1_000_000 + step - if step % 7 == 0 { 3 } else { 0 };
            queue.set(slot, at);
            assert!(queue.entries() <= 2 * tasks as usize + SLACK + 1);
        }
        let due = drain(&mut queue, i64::MAX);
        let mut sorted = due.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), due.len(), "each task wakes once");
        assert_eq!(due.len(), tasks as usize);
    }
}
