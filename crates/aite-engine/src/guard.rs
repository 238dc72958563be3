//! Containing engine panics.
//!
//! Some engine front-ends panic on hostile or unusual files instead of returning
//! an error (tract-tflite on quantized TFLite files written by current
//! TensorFlow, for instance). A model file is user input, so aite turns such a
//! panic into an ordinary load error naming the file.

use std::panic::{self, AssertUnwindSafe};

/// Run `f`, converting a panic into `Err(message)`. The default panic message is
/// suppressed while `f` runs; the payload becomes the error text.
pub(crate) fn contain<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = catch(f);
    panic::set_hook(previous);
    result
}

/// Run `f`, converting a panic into `Err(message)`, without touching the
/// process-wide panic hook (so it costs nothing on the inference hot path; the
/// default hook still prints the panic once, as evidence of the crash).
pub(crate) fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn panic_becomes_error_and_hook_is_restored() {
        let r: Result<(), String> = super::contain(|| panic!("bad flatbuffer"));
        assert_eq!(r.unwrap_err(), "bad flatbuffer");
        assert_eq!(super::contain(|| 7).unwrap(), 7);
    }
}
