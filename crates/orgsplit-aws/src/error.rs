//! What an AWS error means for the caller: not found, throttled, denied, conflict, …

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    NotFound,
    Throttled,
    Denied,
    Conflict,
    /// The request never got an answer (connection dropped, timeout): safe to retry an
    /// idempotent step.
    Transient,
    Invalid,
    Other,
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorClass::NotFound => "not found",
            ErrorClass::Throttled => "throttled",
            ErrorClass::Denied => "access denied",
            ErrorClass::Conflict => "conflict",
            ErrorClass::Transient => "no response",
            ErrorClass::Invalid => "invalid request",
            ErrorClass::Other => "error",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("cannot load the AWS configuration: {0}")]
    Config(String),
    #[error("cannot assume role {role_arn}: {message}")]
    AssumeRole { role_arn: String, message: String },
    #[error("{service}:{operation} in account {account} ({region}) failed, {class}: {message}")]
    Call {
        service: String,
        operation: String,
        account: String,
        region: String,
        class: ErrorClass,
        code: Option<String>,
        message: String,
    },
}

impl AwsError {
    pub fn class(&self) -> ErrorClass {
        match self {
            AwsError::Call { class, .. } => *class,
            AwsError::AssumeRole { .. } => ErrorClass::Denied,
            AwsError::Config(_) => ErrorClass::Invalid,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.class() == ErrorClass::NotFound
    }
}

/// A read of something that may not exist: `.found()` turns AWS's "not found" into `None`.
#[allow(clippy::result_large_err)]
pub trait Found<T> {
    fn found(self) -> Result<Option<T>, AwsError>;
}

// Large like every `AwsError` the calls return; the trait only passes it on.
#[allow(clippy::result_large_err)]
impl<T> Found<T> for Result<T, AwsError> {
    fn found(self) -> Result<Option<T>, AwsError> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

const NOT_FOUND: [&str; 6] =
    ["NotFound", "NotFoundException", "NoSuchEntity", "NoSuchKey", "NoSuchBucket", "NoSuchTagSet"];
const THROTTLED: [&str; 10] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "BandwidthLimitExceeded",
];
const DENIED: [&str; 6] = [
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "ExpiredToken",
    "InvalidClientTokenId",
];

/// Classifies an error code as AWS services spell them.
pub fn classify_code(code: &str) -> ErrorClass {
    if THROTTLED.contains(&code) {
        ErrorClass::Throttled
    } else if NOT_FOUND.contains(&code)
        || code.ends_with("NotFoundException")
        || code.ends_with("NotFound")
        || code.starts_with("NoSuch")
    {
        ErrorClass::NotFound
    } else if DENIED.contains(&code) {
        ErrorClass::Denied
    } else if code.contains("Conflict")
        || code.contains("AlreadyExists")
        || code.contains("InProgress")
        || code.contains("ConcurrentModification")
        || code.contains("InUse")
    {
        ErrorClass::Conflict
    } else if code.contains("Validation")
        || code.starts_with("Invalid")
        || code.contains("Malformed")
    {
        ErrorClass::Invalid
    } else {
        ErrorClass::Other
    }
}

pub fn classify<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> ErrorClass {
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => ErrorClass::Transient,
        SdkError::ServiceError(e) => e.err().code().map_or(ErrorClass::Other, classify_code),
        SdkError::ResponseError(_) => ErrorClass::Transient,
        _ => ErrorClass::Other,
    }
}

/// The error with its whole cause chain, on one line: each cause's `Display`, never the
/// `Debug` form (which for an SDK error includes the raw response, and a response body can
/// hold a secret value).
pub fn error_chain<E: std::error::Error>(err: &E) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ").replace('\n', " ")
}

/// Wraps an SDK error with where it happened.
pub fn call_error<E, R>(
    service: &str,
    operation: &str,
    account: &str,
    region: &str,
    err: SdkError<E, R>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    let class = classify(&err);
    let code = match &err {
        SdkError::ServiceError(e) => e.err().code().map(str::to_string),
        _ => None,
    };
    AwsError::Call {
        service: service.into(),
        operation: operation.into(),
        account: account.into(),
        region: region.into(),
        class,
        code,
        message: error_chain(&err),
    }
}

impl crate::AccountSession {
    /// The mapping of an SDK error of `operation` (on `service`, in `region`, in this
    /// session's account) to an [`AwsError`] that names the call: `.map_err(session.error_of(…))`.
    pub fn error_of<E, R>(
        &self,
        service: &'static str,
        operation: &'static str,
        region: &str,
    ) -> impl FnOnce(SdkError<E, R>) -> AwsError + use<E, R>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let account = self.account_id.clone();
        let region = region.to_string();
        move |e| call_error(service, operation, &account, &region, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        assert_eq!(classify_code("ThrottlingException"), ErrorClass::Throttled);
        assert_eq!(classify_code("Throttling"), ErrorClass::Throttled);
        assert_eq!(classify_code("ParameterNotFound"), ErrorClass::NotFound);
        assert_eq!(classify_code("ResourceNotFoundException"), ErrorClass::NotFound);
        assert_eq!(classify_code("NoSuchEntity"), ErrorClass::NotFound);
        assert_eq!(
            classify_code("ServerSideEncryptionConfigurationNotFoundError"),
            ErrorClass::Other
        );
        assert_eq!(classify_code("AccessDeniedException"), ErrorClass::Denied);
        assert_eq!(classify_code("OperationInProgressException"), ErrorClass::Conflict);
        assert_eq!(classify_code("EntityAlreadyExists"), ErrorClass::Conflict);
        assert_eq!(classify_code("ValidationException"), ErrorClass::Invalid);
    }
}
