//! The data orgsplit reads and writes: the configuration, the inventory of a source
//! account, the plan, and their canonical JSON form and digests.
//!
//! Architecture Invariant: this crate does no IO beyond (de)serialising what it is handed,
//! and depends on neither tokio nor any `aws-sdk-*` crate. Everything here is a pure
//! function of its inputs (the clock is an input, never read).

pub mod arn;
pub mod bucket_name;
pub mod canonical;
pub mod config;
pub mod inventory;
mod inventory_text;
pub mod journal;
pub mod kind;
pub mod plan;
mod plan_file;
pub mod quote;
pub mod regions;
pub mod resource_config;
pub mod secret;
pub mod stackset;
pub mod step;

pub use canonical::{canonical_json, digest_of};

/// Whether `s` is an AWS account id: exactly 12 digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}
pub use config::{Config, ConfigError};
pub use inventory::{
    AccountState, Inventory, OrganizationState, OuState, PolicyState, Reference, Resource,
};
pub use kind::ResourceKind;
pub use plan::{Plan, PlanError};
pub use secret::Secret;
pub use step::{Action, Step, StepKind, StepSpec};

/// The orgsplit version recorded in every file orgsplit writes.
pub const ORGSPLIT_VERSION: &str = env!("CARGO_PKG_VERSION");
