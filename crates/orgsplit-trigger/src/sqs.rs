//! `orgsplit trigger handle --queue-url URL`: the events an EventBridge rule sent to an SQS
//! queue, handled one at a time.
//!
//! A message is deleted once it is handled, ignored, or found malformed (no later attempt
//! could do better with it; the error is logged with the message id). A message whose
//! reconcile failed is left in the queue: it comes back after its visibility timeout, and
//! the queue's redrive policy, if any, moves it aside after too many attempts.
//!
//! A reconcile can outlast the queue's visibility timeout (a StackSet operation takes minutes):
//! messages are taken one at a time, and the one in hand is kept invisible
//! (`ChangeMessageVisibility` every third of the timeout) until it is handled, so that no other
//! consumer takes it meanwhile. A delete that fails is a warning, not the end of the run: the
//! message comes back and is handled again, which changes nothing the second time.

use orgsplit_aws::{AccountSession, Aws, call_error};
use orgsplit_model::Config;
use orgsplit_stacksets::Entry;
use std::time::Duration;

use crate::event::parse;
use crate::handle::{Handled, TriggerError, handle};

/// How long to keep asking an empty queue.
#[derive(Debug, Clone, Copy)]
pub struct ConsumeOptions {
    /// Long-poll wait per ReceiveMessage (0 to 20 s).
    pub wait_seconds: i32,
    /// Keep polling after the queue is empty (a service), instead of stopping.
    pub follow: bool,
    /// Stop after this many messages (None: no limit).
    pub max_messages: Option<usize>,
}

/// What a queue run did; `outcomes` in the order messages were taken.
#[derive(Debug, Default)]
pub struct Consumed {
    pub outcomes: Vec<MessageOutcome>,
}

#[derive(Debug)]
pub enum MessageOutcome {
    Handled { message_id: String, handled: Handled },
    Malformed { message_id: String, error: String },
    Failed { message_id: String, error: TriggerError },
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("{0}")]
    Aws(Box<orgsplit_aws::AwsError>),
    #[error(
        "--queue-url {0}: not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)"
    )]
    BadUrl(String),
}

impl From<orgsplit_aws::AwsError> for QueueError {
    fn from(e: orgsplit_aws::AwsError) -> Self {
        QueueError::Aws(Box::new(e))
    }
}

/// The queue's account and region, from its URL (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`,
/// or an emulator's `http://HOST/ACCOUNT/NAME` with the home region).
pub fn queue_location(url: &str, home_region: &str) -> Result<(String, String), QueueError> {
    let bad = || QueueError::BadUrl(url.to_string());
    let rest =
        url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).ok_or_else(bad)?;
    let mut parts = rest.split('/');
    let host = parts.next().ok_or_else(bad)?;
    let account = parts.next().filter(|a| crate::event::is_account_id(a)).ok_or_else(bad)?;
    let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(bad)?;
    let _ = name;
    let region = host
        .strip_prefix("sqs.")
        .and_then(|h| h.split('.').next())
        .filter(|r| r.contains('-'))
        .map_or_else(|| home_region.to_string(), str::to_string);
    Ok((account.to_string(), region))
}

pub async fn consume(
    aws: &Aws,
    config: &Config,
    catalog: &[Entry],
    queue_url: &str,
    opts: ConsumeOptions,
) -> Result<Consumed, QueueError> {
    let (account, region) = queue_location(queue_url, &config.home_region)?;
    let session: AccountSession = aws.session(&account).await?;
    let sqs = session.sqs(&region);
    let visibility = visibility_timeout(&sqs, queue_url, &account, &region).await?;
    let mut out = Consumed::default();
    loop {
        if opts.max_messages.is_some_and(|m| out.outcomes.len() >= m) {
            break;
        }
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(1)
            .wait_time_seconds(opts.wait_seconds)
            .send()
            .await
            .map_err(|e| call_error("sqs", "ReceiveMessage", &account, &region, e))?;
        let messages = got.messages();
        if messages.is_empty() {
            if opts.follow {
                continue;
            }
            break;
        }
        for m in messages {
            let message_id = m.message_id().unwrap_or_default().to_string();
            let body = m.body().unwrap_or_default();
            // A message of the function's on-failure destination holds the event it failed on.
            let unwrapped = serde_json::from_str::<serde_json::Value>(body)
                .map(crate::lambda::unwrap_destination)
                .map(|v| v.to_string());
            let body = unwrapped.as_deref().unwrap_or(body);
            let receipt = m.receipt_handle().unwrap_or_default();
            let outcome = match parse(body) {
                Err(e) => MessageOutcome::Malformed {
                    message_id: message_id.clone(),
                    error: e.to_string(),
                },
                Ok(event) => {
                    let work = handle(aws, config, catalog, &event);
                    let kept = keep_invisible(&sqs, queue_url, receipt, visibility);
                    let handled = tokio::select! {
                        handled = work => handled,
                        () = kept => unreachable!("keeping a message invisible never ends"),
                    };
                    match handled {
                        Ok(handled) => {
                            MessageOutcome::Handled { message_id: message_id.clone(), handled }
                        }
                        Err(error) => {
                            MessageOutcome::Failed { message_id: message_id.clone(), error }
                        }
                    }
                }
            };
            if !matches!(outcome, MessageOutcome::Failed { .. }) && !receipt.is_empty() {
                let deleted =
                    sqs.delete_message().queue_url(queue_url).receipt_handle(receipt).send().await;
                if let Err(e) = deleted {
                    let e = call_error("sqs", "DeleteMessage", &account, &region, e);
                    tracing::warn!(%message_id, error = %e, "handled, but not deleted: it comes back and is handled again (a no-op)");
                }
            }
            out.outcomes.push(outcome);
        }
    }
    Ok(out)
}

/// The queue's visibility timeout (how long a received message stays hidden).
async fn visibility_timeout(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    account: &str,
    region: &str,
) -> Result<Duration, QueueError> {
    let got = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .map_err(|e| call_error("sqs", "GetQueueAttributes", account, region, e))?;
    let seconds = got
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(30);
    Ok(Duration::from_secs(seconds.max(1)))
}

/// Keeps the message hidden: every third of the visibility timeout, hides it for a whole
/// timeout again (at most 12 hours in all, SQS's limit). Runs until dropped.
async fn keep_invisible(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    receipt: &str,
    timeout: Duration,
) {
    let every = (timeout / 3).max(Duration::from_millis(500));
    loop {
        tokio::time::sleep(every).await;
        let extended = sqs
            .change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(i32::try_from(timeout.as_secs()).unwrap_or(43_200))
            .send()
            .await;
        if let Err(e) = extended {
            let e = call_error("sqs", "ChangeMessageVisibility", "", "", e);
            tracing::warn!(error = %e, "could not keep the message hidden: another consumer may take it too");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_urls_name_account_and_region() {
        assert_eq!(
            queue_location(
                "https://sqs.eu-west-1.amazonaws.com/123456789012/orgsplit-events",
                "us-east-1"
            )
            .unwrap(),
            ("123456789012".into(), "eu-west-1".into())
        );
        assert_eq!(
            queue_location("http://127.0.0.1:4566/123456789012/q", "us-east-1").unwrap(),
            ("123456789012".into(), "us-east-1".into())
        );
        assert!(queue_location("sqs://x", "us-east-1").is_err());
        assert!(queue_location("https://sqs.us-east-1.amazonaws.com/12/q", "us-east-1").is_err());
    }
}
