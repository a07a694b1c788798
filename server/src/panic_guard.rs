//! Catching a bug without losing the run: [`catch`] runs a closure and
//! turns a panic into its message, so `check` reports "internal error" for
//! one file and goes on, and the language server logs it and keeps
//! serving. Rust's default panic hook would still print the panic to
//! stderr; [`install`] (called once by `main`) wraps the hook so that it
//! stays quiet for panics that [`catch`] handles and prints everything
//! else as before. Nothing here changes the hook behind a caller's back.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Depth of [`catch`] calls on this thread (a guarded panic is quiet).
    static GUARDED: Cell<usize> = const { Cell::new(0) };
}

/// Wraps the process's panic hook once: panics inside [`catch`] are not
/// printed (their message is returned instead); all others are.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(|g| g.get()) == 0 {
                previous(info);
            }
        }));
    });
}

/// The text of a panic payload.
pub fn message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `f`; a panic becomes `Err(its message)`.
pub fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    GUARDED.with(|g| g.set(g.get() + 1));
    let r = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(g.get() - 1));
    r.map_err(|p| message(p.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_the_thread_goes_on() {
        install();
        assert_eq!(catch(|| 3), Ok(3));
        let r: Result<(), String> = catch(|| panic!("detector bug {}", 7));
        assert_eq!(r, Err("detector bug 7".to_string()));
        assert_eq!(GUARDED.with(|g| g.get()), 0);
        // Nested guards unwind to the inner one.
        let outer = catch(|| catch(|| panic!("inner")).unwrap_err());
        assert_eq!(outer, Ok("inner".to_string()));
    }
}
