//! Error codes AWS documents as "try again" that the SDK's standard retry does not retry.
//!
//! - Organizations `ConcurrentModificationException`: "The target of the operation is
//!   currently being modified by a different request. Try again later."
//!   (<https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateOrganizationalUnit.html#API_CreateOrganizationalUnit_Errors>).
//!   Overlapping writes in one organization meet it routinely (two OUs applied at once, a
//!   console user, Control Tower).
//! - IAM `ConcurrentModification`: "The request was rejected because multiple requests to
//!   change this object were submitted simultaneously. Wait a few minutes and submit your
//!   request again." (<https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html>).
//!
//! The classifier reads the code from the raw response (the `x-amzn-ErrorType` header, the
//! JSON `__type` or the XML `<Code>`), so one classifier serves every client whatever its
//! protocol, and the retry goes through the client's own retry strategy: the same backoff,
//! attempts and retry partition as throttling.

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};

/// Codes retried as transient errors, exactly as AWS spells them.
pub const RETRIED_CODES: [&str; 2] = ["ConcurrentModificationException", "ConcurrentModification"];

#[derive(Debug, Default, Clone, Copy)]
pub struct RetryDocumentedCodes;

impl ClassifyRetry for RetryDocumentedCodes {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        if !matches!(ctx.output_or_error(), Some(Err(_))) {
            return RetryAction::NoActionIndicated;
        }
        let Some(response) = ctx.response() else {
            return RetryAction::NoActionIndicated;
        };
        let header = response.headers().get("x-amzn-ErrorType");
        let body = response.body().bytes().unwrap_or_default();
        match error_code(header, body) {
            Some(code) if RETRIED_CODES.contains(&code.as_str()) => RetryAction::transient_error(),
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "orgsplit documented retry codes"
    }
}

/// The error code of an AWS error response, in any of the protocols' forms.
pub fn error_code(header: Option<&str>, body: &[u8]) -> Option<String> {
    let strip = |s: &str| {
        // `aws.protocoltests#Code:http://…` and `namespace#Code` both name `Code`.
        let s = s.split(':').next().unwrap_or(s);
        s.rsplit('#').next().unwrap_or(s).trim().to_string()
    };
    if let Some(h) = header.filter(|h| !h.is_empty()) {
        return Some(strip(h));
    }
    if body.first() == Some(&b'{') {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        return v.get("__type").or_else(|| v.get("code")).and_then(|c| c.as_str()).map(strip);
    }
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Code>")? + "<Code>".len();
    let end = text[start..].find("</Code>")? + start;
    Some(text[start..end].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_in_every_protocol_form() {
        assert_eq!(
            error_code(Some("ConcurrentModificationException:http://x"), b"").as_deref(),
            Some("ConcurrentModificationException")
        );
        assert_eq!(
            error_code(
                None,
                br#"{"__type":"com.amazonaws.organizations#ConcurrentModificationException","Message":"m"}"#
            )
            .as_deref(),
            Some("ConcurrentModificationException")
        );
        assert_eq!(
            error_code(
                None,
                b"<ErrorResponse><Error><Type>Sender</Type><Code>ConcurrentModification</Code></Error></ErrorResponse>"
            )
            .as_deref(),
            Some("ConcurrentModification")
        );
        assert_eq!(error_code(None, b"not an error body"), None);
        assert_eq!(error_code(None, b"{}"), None);
    }
}
