//! The page envelope of every ZenML list endpoint.

use serde::Serialize;

/// `{index, max_size, total_pages, total, items}`.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub index: u64,
    pub max_size: u64,
    pub total_pages: u64,
    pub total: u64,
    pub items: Vec<T>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            index: self.index,
            max_size: self.max_size,
            total_pages: self.total_pages,
            total: self.total,
            items: self.items.into_iter().map(f).collect(),
        }
    }
}
