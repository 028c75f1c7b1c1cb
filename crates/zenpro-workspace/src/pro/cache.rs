//! A small in-memory TTL cache with a bounded number of entries (no globals; one per server).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries live for `ttl`; when full, expired entries go first, then the oldest.
pub struct TtlCache<V> {
    ttl: Duration,
    max: usize,
    map: Mutex<HashMap<[u8; 32], (Instant, V)>>,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: Duration, max: usize) -> Self {
        TtlCache { ttl, max: max.max(1), map: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (Instant, V)>> {
        // A panic while holding the lock leaves a usable map (entries are independent).
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<V> {
        let mut map = self.lock();
        match map.get(key) {
            Some((at, v)) if at.elapsed() < self.ttl => Some(v.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    pub fn insert(&self, key: [u8; 32], value: V) {
        let mut map = self.lock();
        if map.len() >= self.max && !map.contains_key(&key) {
            let ttl = self.ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() >= self.max
                && let Some(oldest) = map.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
        }
        map.insert(key, (Instant::now(), value));
    }

    /// Forget everything (after the control plane refused a cached decision).
    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_expiring() {
        let c = TtlCache::new(Duration::from_secs(60), 2);
        c.insert([1; 32], 1);
        c.insert([2; 32], 2);
        c.insert([3; 32], 3);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&[1; 32]), None, "the oldest entry made room");
        assert_eq!(c.get(&[3; 32]), Some(3));
        let c = TtlCache::new(Duration::from_millis(0), 2);
        c.insert([1; 32], 1);
        assert_eq!(c.get(&[1; 32]), None);
    }
}
