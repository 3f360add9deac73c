//! What a step gets to act with, and what it reports back.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use orgsplit_aws::{AccountSession, Aws, AwsError};
use orgsplit_model::journal::{OutputKey, Outputs};
use orgsplit_model::{Plan, Step};
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use tokio::sync::Semaphore;

/// AWS lets an organization have only a few `CreateAccount` requests in flight; more fail
/// with `ConcurrentModificationException` or a `TOO_MANY_REQUESTS`-style failure.
pub const ACCOUNT_CREATIONS_AT_ONCE: usize = 2;

/// Shared by every step of one run.
pub struct Shared {
    pub account_creations: Semaphore,
    /// Where a step says what it is waiting for (step address, message): the executor hands
    /// it to the reporter, which shows it in the progress display.
    pub progress: Option<tokio::sync::mpsc::UnboundedSender<(String, String)>>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared { account_creations: Semaphore::new(ACCOUNT_CREATIONS_AT_ONCE), progress: None }
    }
}

/// One step, ready to run: `${account:NAME}` placeholders are replaced by account ids in
/// `step.account` and everywhere in the step's inputs.
pub struct StepContext {
    pub aws: Aws,
    pub plan: Arc<Plan>,
    pub step: Step,
    /// Outputs of every step of the plan that has succeeded so far (this run or an earlier
    /// one), by address: `dev/ou:dev` -> `ou_id`, `dev/dev-admin/account` -> `account_id`.
    pub outputs: StepOutputs,
    pub shared: Arc<Shared>,
}

/// The outputs of the steps that have succeeded, one table shared by the running steps and
/// grown by the executor as steps succeed. Each step used to get its own copy: a run of n steps
/// copied n tables of up to n entries, and a 10,000-step apply spent most of its CPU time doing
/// so (docs/performance.md, "Apply at scale").
#[derive(Clone, Debug, Default)]
pub struct StepOutputs(Arc<RwLock<BTreeMap<String, Outputs>>>);

impl StepOutputs {
    pub fn new(outputs: BTreeMap<String, Outputs>) -> Self {
        StepOutputs(Arc::new(RwLock::new(outputs)))
    }

    /// One output of a step that has succeeded.
    pub fn get(&self, address: &str, key: OutputKey) -> Option<String> {
        self.read().get(address).and_then(|o| o.get(key.as_str())).cloned()
    }

    pub fn insert(&self, address: String, outputs: Outputs) {
        // A step that panicked while reading leaves the table as it was: keep using it.
        self.0.write().unwrap_or_else(PoisonError::into_inner).insert(address, outputs);
    }

    /// The whole table, for a moment (held across no `.await`).
    pub fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Outputs>> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How a step ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything is in place and verified; `changed` is false when the step found it so.
    Done { changed: bool, outputs: Outputs },
    /// A person has to act first (a connection handshake). Dependents wait; the rest goes on.
    Waiting { message: String, url: Option<String> },
}

impl Outcome {
    pub fn unchanged() -> Outcome {
        Outcome::Done { changed: false, outputs: Outputs::new() }
    }

    pub fn changed(changed: bool) -> Outcome {
        Outcome::Done { changed, outputs: Outputs::new() }
    }

    pub fn with_output(self, key: OutputKey, value: impl Into<String>) -> Outcome {
        match self {
            Outcome::Done { changed, mut outputs } => {
                outputs.insert(key.as_str().to_string(), value.into());
                Outcome::Done { changed, outputs }
            }
            waiting => waiting,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Boxed: an AWS error is large, and every step returns this type.
    #[error(transparent)]
    Aws(Box<AwsError>),
    /// The step's inputs are not what this kind needs (a plan from a newer orgsplit?).
    #[error("input {field}: {message}")]
    Input { field: String, message: String },
    /// Reading back after acting found something else than what was written.
    #[error("verification failed: {0}")]
    Verify(String),
    /// AWS reported the step's work as failed (`CreateAccountStatus` FAILED, …).
    #[error("{0}")]
    Failed(String),
}

impl From<AwsError> for StepError {
    fn from(e: AwsError) -> Self {
        StepError::Aws(Box::new(e))
    }
}

impl StepContext {
    /// Tells the progress display what this step is waiting for (an account to become
    /// usable, a policy type to be enabled).
    pub fn waiting(&self, message: impl Into<String>) {
        if let Some(tx) = &self.shared.progress {
            let _ = tx.send((self.step.address.clone(), message.into()));
        }
    }

    /// The step's region (the plan's home region when it has none).
    pub fn region(&self) -> &str {
        self.step.region.as_deref().unwrap_or(self.plan.home_region.as_str())
    }

    /// The mapping of an SDK error of `operation` (on `service`, in the step's account and
    /// region) to an [`AwsError`] that names the call: `.map_err(cx.error_of(…))`.
    pub fn error_of<E, R>(
        &self,
        service: &'static str,
        operation: &'static str,
    ) -> impl FnOnce(SdkError<E, R>) -> AwsError + use<E, R>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        self.error_in(&self.step.account, service, operation)
    }

    /// As [`StepContext::error_of`], for a call in `account` (cutover acts in the source
    /// account and in the copy's).
    pub fn error_in<E, R>(
        &self,
        account: &str,
        service: &'static str,
        operation: &'static str,
    ) -> impl FnOnce(SdkError<E, R>) -> AwsError + use<E, R>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let (account, region) = (account.to_string(), self.region().to_string());
        move |e| orgsplit_aws::call_error(service, operation, &account, &region, e)
    }

    /// A session in the account the step acts in.
    pub async fn session(&self) -> Result<AccountSession, AwsError> {
        self.aws.session(&self.step.account).await
    }

    /// A session in the source account (values are read from there at apply time).
    pub async fn source(&self) -> Result<AccountSession, AwsError> {
        self.aws.session(&self.plan.source_account_id).await
    }

    /// An output of a step that has succeeded: `output("dev/ou:dev", OutputKey::OuId)`.
    pub fn output(&self, address: &str, key: OutputKey) -> Option<String> {
        self.outputs.get(address, key)
    }
}
