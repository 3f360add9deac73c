//! From an inventory and a config to a plan: classification, references, ARN rewriting,
//! and the review a person reads.
//!
//! Architecture Invariant: no IO, no clock, no randomness, and no dependency on tokio or any
//! `aws-sdk-*` crate. The same inputs give the same plan, byte for byte.

mod account_copies;
mod buckets;
pub mod build;
pub mod classify;
mod connection;
mod copies;
mod entries;
mod manual;
mod organization;
mod parallel_text;
pub mod refs;
mod resource_step;
pub mod review;
pub mod rewrite;
mod rewrite_text;
mod stream;

pub use build::{BuildError, PlanInput, build_plan};
pub use classify::{Classification, classify};
pub use review::{ReviewOptions, render_review, render_review_counted};
pub use stream::{Written, write_plan};
