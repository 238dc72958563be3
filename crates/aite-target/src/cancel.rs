//! Cooperative cancellation: how Ctrl-C reaches a running suite.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag a suite polls between queries; once raised, the suite stops issuing
/// work and returns what it has measured, marked as interrupted.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
