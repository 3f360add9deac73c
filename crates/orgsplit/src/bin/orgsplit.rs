use std::process::ExitCode;

// mimalloc: a plan of 100,000 resources makes millions of small allocations, and glibc's
// malloc and free took 35-40 % of the planner's time (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    orgsplit::main()
}
