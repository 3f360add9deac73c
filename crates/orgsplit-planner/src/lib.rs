//! From an inventory and a config to a plan: classification, references, ARN rewriting,
//! and the review a person reads.
//!
//! Architecture Invariant: no IO, no clock, no randomness, and no dependency on tokio or any
//! `aws-sdk-*` crate. The same inputs give the same plan, byte for byte.

mod buckets;
pub mod build;
pub mod classify;
mod connection;
mod copies;
mod entries;
mod manual;
mod organization;
pub mod refs;
mod resource_step;
pub mod review;
pub mod rewrite;
mod rewrite_text;

pub use build::{PlanInput, build_plan, build_plan_unsealed};
pub use classify::{Classification, classify};
pub use review::{ReviewOptions, render_review};
