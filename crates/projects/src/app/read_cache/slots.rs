//! The bounded map behind each of the read cache's two tables (pages, single projects): entries tagged with the
//! [`Ticket`] they were read under and weighed by the projects they hold, and the poison-tolerant lock around it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use super::Ticket;

/// Locks `slots`; after a panic under the lock the map may be half-updated, so it starts over empty.
pub(super) fn lock<K: Eq + Hash, V>(slots: &Mutex<Slots<K, V>>) -> MutexGuard<'_, Slots<K, V>> {
    slots.lock().unwrap_or_else(|poisoned| {
        slots.clear_poison();
        let mut guard = poisoned.into_inner();
        guard.clear();
        guard
    })
}

/// A bounded map whose entries carry the ticket they were read under and a weight (projects held).
pub(super) struct Slots<K, V> {
    pub(super) entries: HashMap<K, (Ticket, usize, Arc<V>)>,
    pub(super) weight: usize,
    max_weight: usize,
}

impl<K: Eq + Hash, V> Slots<K, V> {
    pub(super) fn new(max_weight: usize) -> Self {
        Self {
            entries: HashMap::new(),
            weight: 0,
            max_weight,
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.weight = 0;
    }

    pub(super) fn get(&self, key: &K, fresh: impl Fn(&Ticket) -> bool) -> Option<Arc<V>> {
        self.entries
            .get(key)
            .filter(|(stored, _, _)| fresh(stored))
            .map(|(_, _, value)| value.clone())
    }

    pub(super) fn put(
        &mut self,
        key: K,
        ticket: Ticket,
        weight: usize,
        value: Arc<V>,
        fresh: impl Fn(&Ticket) -> bool,
    ) {
        if weight > self.max_weight {
            return;
        }
        if let Some((_, old, _)) = self.entries.remove(&key) {
            self.weight -= old;
        }
        if self.weight + weight > self.max_weight {
            self.entries.retain(|_, (stored, _, _)| fresh(stored));
            self.weight = self.entries.values().map(|(_, w, _)| w).sum();
        }
        if self.weight + weight > self.max_weight {
            self.clear();
        }
        self.entries.insert(key, (ticket, weight, value));
        self.weight += weight;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::read_cache::tests::at;

    #[test]
    fn a_full_cache_drops_outdated_entries_first_then_clears() {
        let live = |stored: &Ticket| stored.generation == 1;
        let ticket = |generation| Ticket { generation, at: at(0) };
        let mut slots: Slots<u32, ()> = Slots::new(4);
        slots.put(1, ticket(0), 2, Arc::new(()), live);
        slots.put(2, ticket(1), 2, Arc::new(()), live);

        // Full: the outdated entry 1 goes, the live entry 2 stays.
        slots.put(3, ticket(1), 2, Arc::new(()), live);
        let mut kept: Vec<_> = slots.entries.keys().copied().collect();
        kept.sort_unstable();
        assert_eq!((kept, slots.weight), (vec![2, 3], 4));

        // Full of live entries: cleared, then the new one goes in.
        slots.put(4, ticket(1), 1, Arc::new(()), live);
        assert_eq!(
            (slots.entries.keys().copied().collect::<Vec<_>>(), slots.weight),
            (vec![4], 1)
        );

        // Replacing a key does not count it twice; an entry heavier than the whole cache is not kept.
        slots.put(4, ticket(1), 3, Arc::new(()), live);
        slots.put(5, ticket(1), 5, Arc::new(()), live);
        assert_eq!((slots.entries.len(), slots.weight), (1, 3));
    }
}
