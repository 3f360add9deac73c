//! `orgsplit trigger handle --queue-url URL`: the events an EventBridge rule sent to an SQS
//! queue, handled one at a time.
//!
//! A message is deleted once it is handled, ignored, or found malformed (no later attempt
//! could do better with it; the error is logged with the message id). A message whose
//! reconcile failed is left in the queue: it comes back after its visibility timeout, and
//! the queue's redrive policy, if any, moves it aside after too many attempts.

use orgsplit_aws::{AccountSession, Aws, call_error};
use orgsplit_model::Config;
use orgsplit_stacksets::Entry;

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
    let mut out = Consumed::default();
    loop {
        let room = opts.max_messages.map_or(10, |m| m.saturating_sub(out.outcomes.len()).min(10));
        if room == 0 {
            break;
        }
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(i32::try_from(room).unwrap_or(10))
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
            let outcome = match parse(body) {
                Err(e) => MessageOutcome::Malformed {
                    message_id: message_id.clone(),
                    error: e.to_string(),
                },
                Ok(event) => match handle(aws, config, catalog, &event).await {
                    Ok(handled) => {
                        MessageOutcome::Handled { message_id: message_id.clone(), handled }
                    }
                    Err(error) => MessageOutcome::Failed { message_id: message_id.clone(), error },
                },
            };
            if !matches!(outcome, MessageOutcome::Failed { .. })
                && let Some(receipt) = m.receipt_handle()
            {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .map_err(|e| call_error("sqs", "DeleteMessage", &account, &region, e))?;
            }
            out.outcomes.push(outcome);
        }
    }
    Ok(out)
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
