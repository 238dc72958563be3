//! Containing third-party parsers: a panic while parsing one container of
//! firmware content becomes that container's failure cause, and the scan goes on.
//!
//! The process-wide panic hook is replaced once by one that stays quiet only on
//! a thread that is inside [`contained`] (a thread-local depth), so parallel
//! scans and tests never swap hooks under each other; elsewhere the previous
//! hook runs unchanged. The panic's location is kept for the cause.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if DEPTH.with(Cell::get) > 0 {
                let at = info.location().map(|l| format!("{}:{}", short(l.file()), l.line()));
                LOCATION.with(|slot| *slot.borrow_mut() = at);
            } else {
                previous(info)
            }
        }));
    });
}

/// `…/registry/src/index…/backhand-0.25.5/src/x.rs` → `backhand-0.25.5/src/x.rs`.
fn short(file: &str) -> &str {
    file.split_once("/registry/src/").and_then(|(_, r)| r.split_once('/')).map_or(file, |(_, r)| r)
}

/// Run the parser `f`; a panic becomes `Err("parser panicked: <message> (at <file:line>)")`.
pub(crate) fn contained<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    DEPTH.with(|d| d.set(d.get() + 1));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get() - 1));
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        match LOCATION.with(|slot| slot.borrow_mut().take()) {
            Some(at) => format!("parser panicked: {message} (at {at})"),
            None => format!("parser panicked: {message}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_cause_with_its_location_and_nesting_works() {
        let err = contained(|| -> u32 { panic!("index out of range in {}", "a parser") }).unwrap_err();
        assert!(err.starts_with("parser panicked: index out of range in a parser (at "), "{err}");
        assert!(err.contains("guard.rs:"), "{err}");
        assert_eq!(contained(|| 7).unwrap(), 7);
        let inner = contained(|| contained(|| -> () { panic!("inner") })).unwrap();
        assert_eq!(inner.unwrap_err().split(" (at").next(), Some("parser panicked: inner"));
        // The arithmetic-overflow panic of a debug build is contained too.
        if cfg!(debug_assertions) {
            let big = std::hint::black_box(u32::MAX);
            let err = contained(|| big + std::hint::black_box(1)).unwrap_err();
            assert!(err.contains("overflow"), "{err}");
        }
    }
}
