//! Panics inside a case, caught and described: the message and where in
//! the source it was raised, for the finding's report.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, UnwindSafe};
use std::sync::Once;

thread_local! {
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Wraps the panic hook once so it also remembers where each panic was
/// raised, per thread. The default message is still printed.
fn install() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info
                .location()
                .map(|at| format!("{}:{}", at.file(), at.line()));
            let _ = LOCATION.try_with(|slot| *slot.borrow_mut() = location);
            previous(info);
        }));
    });
}

/// Runs `work`, turning a panic into `Err("message at file:line")`.
pub fn catch<T>(work: impl FnOnce() -> T + UnwindSafe) -> Result<T, String> {
    install();
    std::panic::catch_unwind(work).map_err(|panic| describe(panic.as_ref()))
}

/// [`catch`] for closures holding references the caller vouches for.
pub fn catch_any<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    catch(AssertUnwindSafe(work))
}

fn describe(panic: &(dyn Any + Send)) -> String {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
        .unwrap_or_else(|| "a panic".into());
    let location = LOCATION
        .try_with(|slot| slot.borrow_mut().take())
        .ok()
        .flatten()
        .unwrap_or_else(|| "another thread".into());
    format!("`{message}` at {location}")
}
