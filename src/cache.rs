//! The content generation: a number that goes up whenever public content
//! changes (a page published or unpublished, the organisation edited, an
//! idea published or erased). Anything that keeps public answers keys them by
//! it, so a change is visible on the very next request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Debug, Default)]
pub struct ContentGeneration(Arc<AtomicU64>);

impl ContentGeneration {
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Marks every kept public answer stale. Call it after the change commits.
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}
