//! The new-account trigger: an Organizations or Control Tower event names an account, and
//! that one account is reconciled with its OU's StackSets (the reconcile of
//! `orgsplit-stacksets`, the same `orgsplit reconcile` runs for every account).
//!
//! - [`event`]: parsing the events (pure).
//! - [`handle`]: one event to one account's reconcile.
//! - [`sqs`]: events taken from an SQS queue; [`lambda`]: the Lambda runtime adapter.
//! - [`install`]: the EventBridge rule and its target's permission; [`forward`]: Control Tower's
//!   events forwarded from its home Region to us-east-1; [`trail`]: whether a trail
//!   delivers the Organizations events the rule matches.
//!
//! Architecture Invariant: one event never lists the organization's accounts: the calls
//! are bounded by the number of OUs and StackSets configured. Nothing here prints.

pub mod event;
pub mod forward;
pub mod handle;
pub mod install;
pub mod lambda;
pub mod sqs;
pub mod trail;

pub use event::{AccountEvent, Event, EventError, EventKind, parse, parse_value};
pub use handle::{Handled, Reconciled, TriggerError, handle};
