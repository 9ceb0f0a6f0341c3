//! Caps on open sockets: per source address (checked before the upgrade, answered 429) and per user (checked once the
//! socket has authenticated, closed with 4429). A taken place is a [`Slot`]: dropping it, when the socket's task ends
//! however it ends, frees the place, so a cap can never leak shut.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

/// The two caps of `/api/v1/ws` (`ws_max_per_user`, `ws_max_per_address`).
#[derive(Clone)]
pub struct SocketCaps {
    /// By user id (the token's `sub`).
    pub per_user: Arc<Cap<String>>,
    /// By [`address_key`] of the client address.
    pub per_address: Arc<Cap<IpAddr>>,
}

impl SocketCaps {
    pub fn new(per_user: u32, per_address: u32) -> Self {
        Self {
            per_user: Cap::new(per_user),
            per_address: Cap::new(per_address),
        }
    }
}

/// At most `max` open at once per key.
pub struct Cap<K> {
    max: usize,
    open: Mutex<HashMap<K, usize>>,
}

impl<K: Eq + Hash + Clone> Cap<K> {
    pub fn new(max: u32) -> Arc<Self> {
        Arc::new(Self {
            max: usize::try_from(max).unwrap_or(usize::MAX),
            open: Mutex::new(HashMap::new()),
        })
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// A place for `key`, or `None` when it holds `max` already.
    pub fn take(self: &Arc<Self>, key: K) -> Option<Slot<K>> {
        let mut open = self.open.lock();
        let count = open.entry(key.clone()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Slot { cap: self.clone(), key })
    }

    /// How many places `key` holds.
    #[cfg(test)]
    fn held(&self, key: &K) -> usize {
        self.open.lock().get(key).copied().unwrap_or(0)
    }
}

/// One open socket's place under a [`Cap`]; freed on drop.
pub struct Slot<K: Eq + Hash> {
    cap: Arc<Cap<K>>,
    key: K,
}

impl<K: Eq + Hash> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut open = self.cap.open.lock();
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// The key a client address counts under: an IPv4 address as it is, an IPv6 one by its /64 (one host's network:
/// a client picks any of its 2^64 addresses freely, so counting them apart would not cap anything).
pub fn address_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & (u128::MAX << 64)).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_at_most_max_places_and_a_dropped_slot_frees_one() {
        let cap = Cap::new(2);
        let first = cap.take("ada").expect("1st");
        let _second = cap.take("ada").expect("2nd");

        assert!(cap.take("ada").is_none(), "the 3rd is refused");
        assert!(cap.take("bob").is_some(), "another key has its own places");

        drop(first);
        let third = cap.take("ada");
        assert!(third.is_some(), "closing one frees a place");
        assert_eq!(cap.held(&"ada"), 2);
    }

    #[test]
    fn the_table_forgets_keys_with_no_open_socket() {
        let cap = Cap::new(1);
        let slot = cap.take("ada").unwrap();
        drop(slot);

        assert!(cap.open.lock().is_empty());
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_prefix_and_mapped_ipv4_as_ipv4() {
        let key = |raw: &str| address_key(raw.parse().unwrap());

        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::2"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
        assert_ne!(key("203.0.113.7"), key("203.0.113.8"));
    }
}
