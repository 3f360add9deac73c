//! Shared by the inventory's emulator tests.

/// A runtime for the async part of a test; the emulator's admin calls stay outside it
/// (they are blocking HTTP).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}
