//! A small in-memory TTL cache with a bounded number of entries (no globals; one per server).
//!
//! A cache can follow an invalidation counter shared with the control-plane client
//! ([`super::client::ProClient::refusals`]): an entry inserted before the counter last moved is
//! gone, so one refusal (401/403) from the control plane forgets every cached answer at once,
//! whichever request or the heartbeat saw it. An unreachable control plane does not move the
//! counter: cached answers keep serving until they expire.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Entries live for `ttl`; when full, expired entries go first, then the oldest.
pub struct TtlCache<V> {
    ttl: Duration,
    max: usize,
    epoch: Option<Arc<AtomicU64>>,
    map: Mutex<HashMap<[u8; 32], Entry<V>>>,
}

struct Entry<V> {
    at: Instant,
    epoch: u64,
    value: V,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: Duration, max: usize) -> Self {
        TtlCache { ttl, max: max.max(1), epoch: None, map: Mutex::new(HashMap::new()) }
    }

    /// Entries inserted before `epoch` last changed are treated as absent.
    pub fn invalidated_by(mut self, epoch: Arc<AtomicU64>) -> Self {
        self.epoch = Some(epoch);
        self
    }

    fn current_epoch(&self) -> u64 {
        self.epoch.as_ref().map_or(0, |e| e.load(Ordering::Acquire))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry<V>>> {
        // A panic while holding the lock leaves a usable map (entries are independent).
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<V> {
        let epoch = self.current_epoch();
        let mut map = self.lock();
        match map.get(key) {
            Some(e) if e.at.elapsed() < self.ttl && e.epoch == epoch => Some(e.value.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    pub fn insert(&self, key: [u8; 32], value: V) {
        let epoch = self.current_epoch();
        let mut map = self.lock();
        if map.len() >= self.max && !map.contains_key(&key) {
            let ttl = self.ttl;
            map.retain(|_, e| e.at.elapsed() < ttl && e.epoch == epoch);
            if map.len() >= self.max
                && let Some(oldest) = map.iter().min_by_key(|(_, e)| e.at).map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
        }
        map.insert(key, Entry { at: Instant::now(), epoch, value });
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

    #[test]
    fn a_moved_epoch_forgets_everything() {
        let epoch = Arc::new(AtomicU64::new(0));
        let c = TtlCache::new(Duration::from_secs(60), 8).invalidated_by(epoch.clone());
        c.insert([1; 32], 1);
        c.insert([2; 32], 2);
        assert_eq!(c.get(&[1; 32]), Some(1));
        epoch.fetch_add(1, Ordering::AcqRel);
        assert_eq!(c.get(&[1; 32]), None);
        assert_eq!(c.get(&[2; 32]), None);
        c.insert([3; 32], 3);
        assert_eq!(c.get(&[3; 32]), Some(3), "entries after the refusal are kept");
    }
}
