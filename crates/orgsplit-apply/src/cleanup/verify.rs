//! "Verified equal at delete time": each copy step of a removal runs again, with clients
//! that refuse every write. Every write of a step is behind a difference it computed
//! between the source (read live: a parameter's or secret's value is read from the source at
//! that moment and compared in memory, never kept) and the copy, so a step that finishes
//! without wanting to write has found the copy equal. The values stay inside the step: what
//! comes out is the refused call's name (`ssm:PutParameter`), never a value.

use orgsplit_aws::Aws;
use orgsplit_model::{Plan, Step};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::context::{Outcome, Shared, StepContext, StepOutputs};
use crate::{placeholders, steps};

/// What the copies were found to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    Equal,
    /// The first copy that is not: its address and what apply would do to it.
    Differs {
        copy: String,
        would: String,
    },
}

/// Runs every copy step of a removal read-only. An `Err` is a call that failed (the copy's
/// account cannot be read, …): the delete does not happen either.
pub(super) async fn copies(
    aws: &Aws,
    plan: &Arc<Plan>,
    copies: &[Step],
    ids: &BTreeMap<String, String>,
    outputs: &StepOutputs,
) -> Result<Verdict, String> {
    for copy in copies {
        let step = placeholders::resolve(copy, ids, &outputs.read())?;
        let (read_only, refused) = aws.read_only();
        let cx = StepContext {
            aws: read_only,
            plan: plan.clone(),
            step,
            outputs: outputs.clone(),
            shared: Arc::new(Shared::default()),
        };
        let result = steps::run(&cx).await;
        let refused = refused.calls();
        let differs = |would: String| Verdict::Differs { copy: copy.address.clone(), would };
        match result {
            _ if !refused.is_empty() => return Ok(differs(refused.join(", "))),
            Ok(Outcome::Done { changed: false, .. }) => {}
            Ok(Outcome::Done { changed: true, .. }) => return Ok(differs("a change".into())),
            Ok(Outcome::Waiting { message, .. }) => return Ok(differs(message)),
            Err(e) => return Err(format!("verifying {}: {e}", copy.address)),
        }
    }
    Ok(Verdict::Equal)
}
