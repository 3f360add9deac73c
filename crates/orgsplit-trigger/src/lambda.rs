//! `orgsplit trigger serve-lambda`: the handler under the AWS Lambda runtime API
//! (`lambda_runtime`), for a function whose rule sends it the events directly, or whose
//! SQS event source mapping sends it batches of them.
//!
//! A malformed or unhandled event is answered with its outcome, not an error: retrying
//! cannot mend it. A failed reconcile is an error, so Lambda retries the invocation (an
//! asynchronous invocation is retried twice, then goes to its on-failure destination; an SQS
//! record is reported in `batchItemFailures` and comes back after its visibility timeout,
//! while the records handled are not redone).
//!
//! The handler never runs past its own timeout: it stops [`MARGIN`] before the invocation's
//! deadline, so the event is handled to the end by the retry (a reconcile changes only what
//! differs, and waits out a StackSet operation the stopped run left in progress), never cut off
//! by Lambda half-way with nothing said.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use orgsplit_aws::Aws;
use orgsplit_model::Config;
use orgsplit_stacksets::Entry;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::event::{Event, parse_value};
use crate::handle::{Handled, handle};

/// How long before the invocation's deadline the handler stops: time to answer, and to leave
/// the StackSet operation it started running in AWS rather than cut off mid-call.
pub const MARGIN: Duration = Duration::from_secs(60);

/// The events an invocation carries: itself, or each SQS record's body (with the record's
/// `messageId`).
pub fn events_of(payload: &Value) -> Vec<(Option<String>, Result<Value, String>)> {
    match payload.get("Records").and_then(Value::as_array) {
        Some(records) => records
            .iter()
            .map(|r| {
                let id = r.get("messageId").and_then(Value::as_str).map(str::to_string);
                let event = r
                    .get("body")
                    .and_then(Value::as_str)
                    .ok_or_else(|| "an SQS record without a body".to_string())
                    .and_then(|b| {
                        serde_json::from_str(b)
                            .map_err(|e| format!("an SQS record body is not JSON: {e}"))
                    })
                    .map(unwrap_destination);
                (id, event)
            })
            .collect(),
        None => vec![(None, Ok(unwrap_destination(payload.clone())))],
    }
}

/// An event as Lambda's on-failure destination records it (`requestPayload` beside
/// `requestContext`): the event itself, so a failed event can be handled again from there.
pub fn unwrap_destination(v: Value) -> Value {
    match (v.get("requestContext"), v.get("requestPayload")) {
        (Some(_), Some(event)) => event.clone(),
        _ => v,
    }
}

/// Serves invocations until the runtime stops.
pub async fn serve(aws: Aws, config: Config, catalog: Vec<Entry>) -> Result<(), Error> {
    let state = Arc::new((aws, config, catalog));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let state = state.clone();
        async move {
            let (aws, config, catalog) = &*state;
            let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(event.context.deadline);
            invoke(aws, config, catalog, &event.payload, Some(deadline)).await
        }
    }))
    .await
}

/// One invocation: every event in it, each outcome in the answer. `deadline`: when Lambda
/// stops the invocation; the handler stops [`MARGIN`] before it.
pub async fn invoke(
    aws: &Aws,
    config: &Config,
    catalog: &[Entry],
    payload: &Value,
    deadline: Option<SystemTime>,
) -> Result<Value, Error> {
    let batch = payload.get("Records").is_some();
    let mut results = Vec::new();
    let mut failures = Vec::new();
    let time_left = || {
        deadline
            .map(|d| d.duration_since(SystemTime::now()).unwrap_or_default().saturating_sub(MARGIN))
    };
    for (message_id, item) in events_of(payload) {
        let parsed = item.and_then(|v| parse_value(&v).map_err(|e| e.to_string()));
        let event = match parsed {
            Ok(e) => e,
            Err(why) => {
                tracing::error!(%why, "malformed event: nothing changed");
                results.push(json!({"outcome": "malformed", "error": why}));
                continue;
            }
        };
        let account = match &event {
            Event::Account(a) => a.account_id.clone(),
            Event::Ignored { .. } => String::new(),
        };
        let left = time_left();
        let outcome = match left {
            Some(left) if left.is_zero() => None,
            Some(left) => {
                tokio::time::timeout(left, handle(aws, config, catalog, &event)).await.ok()
            }
            None => Some(handle(aws, config, catalog, &event).await),
        };
        let error = match outcome {
            Some(Ok(Handled::Ignored { why })) => {
                tracing::info!(%why, "event ignored");
                results.push(json!({"outcome": "ignored", "why": why}));
                continue;
            }
            Some(Ok(Handled::Reconciled(r))) => {
                tracing::info!(account = %r.report.account_id, changed = r.report.changed(), "account reconciled");
                results.push(json!({
                    "outcome": "reconciled",
                    "event": r.event.kind.as_str(),
                    "account": r.report.account_id,
                    "ou": r.report.ou_name,
                    "changed": r.report.changed(),
                    "instances_created": r.report.instances_created,
                    "instances_removed": r.report.instances_removed,
                    "roles_verified": r.report.roles_verified,
                }));
                continue;
            }
            Some(Err(e)) => {
                tracing::error!(%account, error = %e, "reconcile failed: the event is retried");
                e.to_string()
            }
            None => {
                let why = format!(
                    "stopped {}s before the invocation's deadline: the event is retried",
                    MARGIN.as_secs()
                );
                tracing::warn!(%account, "{why}");
                why
            }
        };
        match (batch, message_id) {
            // Only this record comes back; the ones handled are not redone.
            (true, Some(id)) => {
                results.push(json!({"outcome": "retried", "account": account, "error": error}));
                failures.push(json!({"itemIdentifier": id}));
            }
            _ => return Err(error.into()),
        }
    }
    if batch {
        // ReportBatchItemFailures
        // (<https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html>).
        return Ok(json!({"results": results, "batchItemFailures": failures}));
    }
    Ok(json!({"results": results}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_batches_are_unwrapped() {
        let direct = json!({"source": "aws.organizations", "detail": {}});
        assert_eq!(events_of(&direct), vec![(None, Ok(direct.clone()))]);
        let destination = json!({"version": "1.0", "requestContext": {"condition": "RetriesExhausted"},
            "requestPayload": direct.clone(), "responsePayload": {"errorMessage": "x"}});
        let batch = json!({"Records": [
            {"messageId": "m-1", "eventSource": "aws:sqs", "body": direct.to_string()},
            {"messageId": "m-2", "eventSource": "aws:sqs", "body": "not json"},
            {"eventSource": "aws:sqs"},
            {"messageId": "m-4", "eventSource": "aws:sqs", "body": destination.to_string()}
        ]});
        let got = events_of(&batch);
        assert_eq!(got[0], (Some("m-1".to_string()), Ok(direct.clone())));
        assert!(got[1].1.is_err() && got[1].0.as_deref() == Some("m-2"));
        assert!(got[2].1.is_err() && got[2].0.is_none());
        assert_eq!(got[3].1, Ok(direct), "an on-failure destination's record is the event");
    }
}
