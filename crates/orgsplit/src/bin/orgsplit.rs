use std::process::ExitCode;

// mimalloc: a plan of 100,000 resources makes millions of small allocations, and glibc's
// malloc and free took 35-40 % of the planner's time (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` (mimalloc 3's `mimalloc.h`; the bindings name no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    purge_freed_memory_soon();
    orgsplit::main()
}

/// mimalloc 3 keeps freed memory for a second before it returns it to the system; the planner
/// frees the 68 MB text of a 100,000-resource inventory early and peaks later, within that
/// second, so the text was still resident at the peak. With 100 ms the plan's peak fell from
/// about 300 to about 250 MiB, and it was no slower; 10 ms (mimalloc 2's delay) was a little
/// slower, 0 slower still (docs/performance.md, the eleventh pass).
#[allow(unsafe_code)]
fn purge_freed_memory_soon() {
    // SAFETY: called first in `main`, before any other thread exists (the function is not
    // thread-safe); it only stores an option's value.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 100) };
}
