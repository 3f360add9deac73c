//! StackSet operations run in the background on AWS: one at a time per StackSet (a second
//! one is refused with `OperationInProgressException`), each to be followed until it ends.

use super::ReconcileError;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    CallAs, StackSetOperationResultStatus, StackSetOperationStatus,
};
use orgsplit_aws::{AwsError, call_error, every_page};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How long orgsplit waits for a StackSet to be free, or for one operation to end. AWS
/// runs an operation on one account and region in a few minutes; auto-deployment or
/// another orgsplit may hold the StackSet for a while first.
const WAIT_LIMIT: Duration = Duration::from_secs(30 * 60);
const FIRST_PAUSE: Duration = Duration::from_secs(2);
const LONGEST_PAUSE: Duration = Duration::from_secs(30);

/// Where an operation runs: for the errors it may raise.
pub struct OperationScope<'a> {
    /// The management account, where StackSets are administered.
    pub account: &'a str,
    pub region: &'a str,
    pub stackset: &'a str,
}

pub fn in_progress(e: &AwsError) -> bool {
    matches!(e, AwsError::Call { code: Some(code), .. } if code == "OperationInProgressException")
}

/// Pauses, growing, while another operation holds the StackSet: AWS refuses a second one
/// with `OperationInProgressException`, which is waited out, never a failure.
pub struct Busy {
    began: Instant,
    pause: Duration,
}

impl Busy {
    pub fn new() -> Busy {
        Busy { began: Instant::now(), pause: FIRST_PAUSE }
    }

    /// The outcome of a call that starts an operation: `Some` when it started, `None`
    /// after a pause when the StackSet was busy (the caller reads the state again: the
    /// other operation may have done the work), an error otherwise or after too long.
    pub async fn attempt<T>(
        &mut self,
        scope: &OperationScope<'_>,
        what: &str,
        sent: Result<T, AwsError>,
    ) -> Result<Option<T>, ReconcileError> {
        match sent {
            Ok(v) => Ok(Some(v)),
            Err(e) if in_progress(&e) => {
                if self.began.elapsed() > WAIT_LIMIT {
                    return Err(ReconcileError::Timeout {
                        stackset: scope.stackset.to_string(),
                        what: format!("another operation still runs, so {what} could not start"),
                    });
                }
                tracing::info!(
                    stackset = scope.stackset,
                    "another StackSet operation runs; waiting"
                );
                tokio::time::sleep(self.pause).await;
                self.pause = (self.pause * 2).min(LONGEST_PAUSE);
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Sends `start` (a call that starts an operation) until the StackSet is free to take it.
pub async fn start_when_free<T, F, Fut>(
    scope: &OperationScope<'_>,
    what: &str,
    mut start: F,
) -> Result<T, ReconcileError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let mut busy = Busy::new();
    loop {
        if let Some(v) = busy.attempt(scope, what, start().await).await? {
            return Ok(v);
        }
    }
}

/// Follows operation `operation_id` until it ends. SUCCEEDED is Ok; FAILED or STOPPED is
/// an error naming the StackSet, the account (`account`, when the operation was for one)
/// and AWS's reason from the operation's results.
pub async fn wait_operation(
    cfn: &Client,
    scope: &OperationScope<'_>,
    operation_id: &str,
    account: Option<&str>,
) -> Result<(), ReconcileError> {
    let began = Instant::now();
    let mut pause = FIRST_PAUSE;
    loop {
        let out = cfn
            .describe_stack_set_operation()
            .stack_set_name(scope.stackset)
            .operation_id(operation_id)
            .call_as(CallAs::SelfValue)
            .send()
            .await
            .map_err(|e| {
                call_error(
                    "cloudformation",
                    "DescribeStackSetOperation",
                    scope.account,
                    scope.region,
                    e,
                )
            })?;
        let operation = out.stack_set_operation();
        match operation.and_then(|o| o.status()) {
            Some(StackSetOperationStatus::Succeeded) => return Ok(()),
            Some(status @ (StackSetOperationStatus::Failed | StackSetOperationStatus::Stopped)) => {
                let reason = failure_reason(cfn, scope, operation_id, account)
                    .await?
                    .or_else(|| operation.and_then(|o| o.status_reason()).map(str::to_string))
                    .unwrap_or_else(|| "AWS gave no reason".into());
                return Err(ReconcileError::OperationFailed {
                    stackset: scope.stackset.to_string(),
                    account: account.unwrap_or("(all)").to_string(),
                    operation_id: operation_id.to_string(),
                    status: status.as_str().to_string(),
                    reason,
                });
            }
            _ => {}
        }
        if began.elapsed() > WAIT_LIMIT {
            return Err(ReconcileError::Timeout {
                stackset: scope.stackset.to_string(),
                what: format!("operation {operation_id} has not ended"),
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// The status reason of the operation's result for `account` (else of the first result
/// that did not succeed).
async fn failure_reason(
    cfn: &Client,
    scope: &OperationScope<'_>,
    operation_id: &str,
    account: Option<&str>,
) -> Result<Option<String>, ReconcileError> {
    let request = cfn
        .list_stack_set_operation_results()
        .stack_set_name(scope.stackset)
        .operation_id(operation_id)
        .call_as(CallAs::SelfValue);
    let op = "ListStackSetOperationResults";
    let error_of = |e| call_error("cloudformation", op, scope.account, scope.region, e);
    let results = every_page!(request, summaries).map_err(error_of)?;
    let mut fallback = None;
    for r in &results {
        let reason = r
            .status_reason()
            .map(|s| format!("{} {}: {s}", r.account().unwrap_or("?"), r.region().unwrap_or("?")));
        if account.is_some() && r.account() == account && reason.is_some() {
            return Ok(reason);
        }
        let failed = !matches!(r.status(), Some(StackSetOperationResultStatus::Succeeded));
        if failed && fallback.is_none() {
            fallback = reason;
        }
    }
    Ok(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use orgsplit_aws::ErrorClass;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn aws_error(code: &str) -> AwsError {
        AwsError::Call {
            service: "cloudformation".into(),
            operation: "CreateStackInstances".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            class: ErrorClass::Conflict,
            code: Some(code.into()),
            message: code.into(),
        }
    }

    const SCOPE: OperationScope<'static> = OperationScope {
        account: "123456789012",
        region: "us-east-1",
        stackset: "orgsplit-baseline-dev",
    };

    #[tokio::test(start_paused = true)]
    async fn an_operation_in_progress_is_waited_out() {
        let calls = AtomicU32::new(0);
        let began = Instant::now();
        let out = start_when_free(&SCOPE, "the test", || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(aws_error("OperationInProgressException")),
                _ => Ok("started"),
            }
        })
        .await;
        assert_eq!(out.unwrap(), "started");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // Two pauses, the second twice the first.
        assert_eq!(began.elapsed(), FIRST_PAUSE * 3);
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_fail_at_once_and_waiting_has_an_end() {
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = start_when_free(&SCOPE, "the test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(aws_error("ValidationError"))
        })
        .await;
        assert!(matches!(out, Err(ReconcileError::Aws(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let out: Result<(), _> = start_when_free(&SCOPE, "the test", || async {
            Err(aws_error("OperationInProgressException"))
        })
        .await;
        let err = out.unwrap_err().to_string();
        assert!(err.contains("orgsplit-baseline-dev") && err.contains("could not start"), "{err}");
    }
}
