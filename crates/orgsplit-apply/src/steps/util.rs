//! Small helpers shared by step modules.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use orgsplit_aws::{AccountSession, AwsError, call_error};

/// Maps an SDK error of `service:op` in the session's account to ours:
/// `.map_err(aws_err(&session, "ssm", "PutParameter", region))`.
pub fn aws_err<E, R>(
    session: &AccountSession,
    service: &'static str,
    op: &'static str,
    region: &str,
) -> impl FnOnce(SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let account = session.account_id.clone();
    let region = region.to_string();
    move |e| call_error(service, op, &account, &region, e)
}
