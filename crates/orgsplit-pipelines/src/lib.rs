//! Moving CodePipeline pipelines off v1 GitHub sources (an OAuth token stored in the
//! pipeline) to CodeStar Connections sources (no token: a GitHub app installation).
//!
//! [`convert`] holds the pure part: finding v1 GitHub source actions in a pipeline
//! declaration and rewriting them as `CodeStarSourceConnection` actions. `apply` uses it
//! when it re-creates a pipeline in a new account; `orgsplit pipelines migrate` will use it
//! in place.
//!
//! Architecture Invariant: pure. No IO, no AWS, no clock: functions of the declaration
//! JSON they are handed (the API's own camelCase shape, as the inventory records it).

pub mod convert;

pub use convert::{V1Source, to_codestar, v1_github_sources};
