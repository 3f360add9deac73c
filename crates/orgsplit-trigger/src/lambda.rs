//! `orgsplit trigger serve-lambda`: the handler under the AWS Lambda runtime API
//! (`lambda_runtime`), for a function whose rule sends it the events directly, or whose
//! SQS event source mapping sends it batches of them.
//!
//! A malformed or unhandled event is answered with its outcome, not an error: retrying
//! cannot mend it. A failed reconcile is an error, so Lambda retries the invocation (an
//! asynchronous invocation is retried twice; an SQS batch comes back after its
//! visibility timeout).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use orgsplit_aws::Aws;
use orgsplit_model::Config;
use orgsplit_stacksets::Entry;
use serde_json::{Value, json};
use std::sync::Arc;

use crate::event::{Event, parse_value};
use crate::handle::{Handled, handle};

/// The events an invocation carries: itself, or each SQS record's body.
pub fn events_of(payload: &Value) -> Vec<Result<Value, String>> {
    match payload.get("Records").and_then(Value::as_array) {
        Some(records) => records
            .iter()
            .map(|r| {
                r.get("body")
                    .and_then(Value::as_str)
                    .ok_or_else(|| "an SQS record without a body".to_string())
                    .and_then(|b| {
                        serde_json::from_str(b)
                            .map_err(|e| format!("an SQS record body is not JSON: {e}"))
                    })
            })
            .collect(),
        None => vec![Ok(payload.clone())],
    }
}

/// Serves invocations until the runtime stops.
pub async fn serve(aws: Aws, config: Config, catalog: Vec<Entry>) -> Result<(), Error> {
    let state = Arc::new((aws, config, catalog));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let state = state.clone();
        async move {
            let (aws, config, catalog) = &*state;
            invoke(aws, config, catalog, &event.payload).await
        }
    }))
    .await
}

/// One invocation: every event in it, each outcome in the answer.
pub async fn invoke(
    aws: &Aws,
    config: &Config,
    catalog: &[Entry],
    payload: &Value,
) -> Result<Value, Error> {
    let mut results = Vec::new();
    for item in events_of(payload) {
        let parsed = item.and_then(|v| parse_value(&v).map_err(|e| e.to_string()));
        let event = match parsed {
            Ok(e) => e,
            Err(why) => {
                tracing::error!(%why, "malformed event: nothing changed");
                results.push(json!({"outcome": "malformed", "error": why}));
                continue;
            }
        };
        match handle(aws, config, catalog, &event).await {
            Ok(Handled::Ignored { why }) => {
                tracing::info!(%why, "event ignored");
                results.push(json!({"outcome": "ignored", "why": why}));
            }
            Ok(Handled::Reconciled(r)) => {
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
            }
            Err(e) => {
                let account = match &event {
                    Event::Account(a) => a.account_id.clone(),
                    Event::Ignored { .. } => String::new(),
                };
                tracing::error!(%account, error = %e, "reconcile failed: the invocation fails so that Lambda retries it");
                return Err(Box::new(e));
            }
        }
    }
    Ok(json!({"results": results}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_batches_are_unwrapped() {
        let direct = json!({"source": "aws.organizations", "detail": {}});
        assert_eq!(events_of(&direct), vec![Ok(direct.clone())]);
        let batch = json!({"Records": [
            {"eventSource": "aws:sqs", "body": direct.to_string()},
            {"eventSource": "aws:sqs", "body": "not json"},
            {"eventSource": "aws:sqs"}
        ]});
        let got = events_of(&batch);
        assert_eq!(got[0], Ok(direct));
        assert!(got[1].is_err());
        assert!(got[2].is_err());
    }
}
