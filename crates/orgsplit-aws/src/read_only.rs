//! Read-only clients: every call that is not a read is refused before it is sent, and
//! recorded. Cleanup runs a copy step with them to check that the copy still equals its
//! source (every write of a step is behind a computed difference, so a step that wants to
//! write has found one), without a second implementation of "equal" per kind.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::{Arc, Mutex};

/// The calls a read-only client refused (`ssm:PutParameter`), in order.
#[derive(Debug, Default)]
pub struct RefusedWrites {
    calls: Mutex<Vec<String>>,
}

impl RefusedWrites {
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("refused writes lock").clone()
    }
}

/// Whether an operation only reads: AWS names its reads `Get…`, `Describe…`, `List…`,
/// `Head…` and `BatchGet…` across the services orgsplit copies.
pub fn is_read(operation: &str) -> bool {
    ["Get", "Describe", "List", "Head", "BatchGet"].iter().any(|p| operation.starts_with(p))
}

#[derive(Debug, Clone)]
pub(crate) struct ReadOnlyInterceptor(pub Arc<RefusedWrites>);

impl Intercept for ReadOnlyInterceptor {
    fn name(&self) -> &'static str {
        "orgsplit-read-only"
    }

    /// Before serialization, not before execution: the operation's name (`Metadata`) is in
    /// the configuration only once the operation's own runtime plugin has run, which is after
    /// `read_before_execution` of the client's interceptors.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) =
            cfg.load::<Metadata>().map_or(("unknown", "unknown"), |m| (m.service(), m.name()));
        if is_read(operation) {
            return Ok(());
        }
        let call = format!("{}:{operation}", service.to_ascii_lowercase());
        self.0.calls.lock().expect("refused writes lock").push(call.clone());
        Err(format!("read-only: {call} refused (the copy differs from what the plan copied)")
            .into())
    }
}

#[cfg(test)]
mod tests {
    use super::is_read;

    #[test]
    fn reads_are_told_from_writes_by_name() {
        for read in ["GetParameter", "DescribeServices", "ListTagsForResource", "HeadBucket"] {
            assert!(is_read(read), "{read}");
        }
        for write in ["PutParameter", "UpdateService", "TagResource", "DeleteRule"] {
            assert!(!is_read(write), "{write}");
        }
    }
}
