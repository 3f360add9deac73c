//! Moving CodePipeline pipelines off v1 GitHub sources (an OAuth token stored in the
//! pipeline) to CodeStar Connections sources (no token: a GitHub app installation).
//!
//! - [`convert`]: finding v1 GitHub source actions in a declaration and rewriting them as
//!   `CodeStarSourceConnection` actions. Pure. Apply uses it when it re-creates a pipeline
//!   in a new account; `migrate` uses it in place.
//! - [`tfstate`]: the streaming Terraform state scanner. Pure: it reads what it is handed.
//! - [`scan`], [`migrate`], [`rollback`]: the `orgsplit pipelines` commands' AWS work.
//! - [`connection`], [`grant`], [`share`]: the connection, the role's permission to use it,
//!   and its AWS RAM share with the accounts that use it, shared with apply.
//!
//! Architecture Invariant: `convert` and `tfstate` do no IO of their own and know no
//! clock. A token read from the environment is a `Secret`; no value found under a token
//! key ever leaves `tfstate` (a `TokenRef` says where and in which form, not what).
//! Nothing here prints: the binary renders the returned values.

pub mod connection;
pub mod convert;
pub mod grant;
pub mod migrate;
pub mod rollback;
pub mod scan;
pub mod selection;
pub mod share;
pub mod tfstate;

pub use convert::{V1Source, to_codestar, v1_github_sources};

use orgsplit_aws::AwsError;
use std::path::PathBuf;

/// What can go wrong in `orgsplit pipelines`.
#[derive(Debug, thiserror::Error)]
pub enum PipelinesError {
    #[error("{0}")]
    Aws(Box<AwsError>),
    /// Bad input (a flag, a saved declaration, a path): nothing was changed.
    #[error("{what}: {message}")]
    Input { what: String, message: String },
    /// A state could not be read to its end.
    #[error("{location}: cannot read: {message}")]
    Read { location: String, message: String },
    #[error("{}: cannot write: {message}", path.display())]
    Write { path: PathBuf, message: String },
    /// Something AWS accepted is not what was asked for when read back.
    #[error("{0}")]
    Verify(String),
    #[error("{0}")]
    Failed(String),
    /// Refused for safety: nothing was changed.
    #[error("{0}")]
    Refused(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<AwsError> for PipelinesError {
    fn from(e: AwsError) -> Self {
        PipelinesError::Aws(Box::new(e))
    }
}

impl From<connection::ConnectionError> for PipelinesError {
    fn from(e: connection::ConnectionError) -> Self {
        match e {
            connection::ConnectionError::Aws(a) => PipelinesError::Aws(a),
            other @ connection::ConnectionError::Verify { .. } => {
                PipelinesError::Verify(other.to_string())
            }
        }
    }
}
