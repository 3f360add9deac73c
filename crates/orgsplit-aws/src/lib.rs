//! Every AWS client orgsplit uses is built here: credentials from the standard chain,
//! `--endpoint-url`, assumed-role sessions in member accounts, one client-side rate limiter
//! and call counter per (account, region, service), one retry partition per account, and
//! the classification of AWS errors.
//!
//! Architecture Invariant: this crate knows nothing of plans, inventories or configs. Nobody
//! else calls `aws_config::load_from_env` or builds an SDK client.

mod client;
mod error;
mod limiter;
pub mod listing;
pub mod organizations;
mod pages;
pub mod policy;
mod read_only;
pub mod retry;
pub mod s3_config;
pub mod sdk_json;
pub mod shapes;
pub mod targets;

/// Log filter directives for the SDK's own logs, added to the default filter: its
/// AssumeRole provider warns at each refusal ("STS refused to grant assume role"), which is
/// expected while a new account's access role is not yet assumable; [`Aws::session`] waits
/// that out and names a role that never becomes assumable itself.
pub const SDK_LOG_DIRECTIVES: &str = "aws_config::sts::assume_role=error";

pub use client::{AccountSession, Aws, AwsOptions};
pub use error::{AwsError, ErrorClass, Found, call_error, classify, classify_code, error_chain};
pub use limiter::{CallCounter, CallKey, OperationBucket, RateLimiter, RateTable};
pub use read_only::{RefusedWrites, is_read};
