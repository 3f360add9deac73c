//! Pipelines: the source pipeline's first stage after its source stage is held
//! (DisableStageTransition, Inbound), so a push still reaches the source pipeline but nothing
//! builds or deploys from it any more; the copy, on the organization's connection, does.
//! Rollback releases it (EnableStageTransition) only when cutover found it enabled: a
//! transition a person had disabled stays disabled. A transition disabled with orgsplit's
//! own reason counts as found enabled: a hold killed between its call and its record is
//! recognised when it runs again (and by a rollback that finds no record).
//!
//! The first stage of a pipeline is its source stage, which has no inbound transition
//! (CodePipeline User Guide, "Disable or enable transitions"); a pipeline of one stage has
//! nothing to hold. The reason is 1 to 300 characters of `[a-zA-Z0-9!@ \(\)\.\*\?\-]+`
//! (CodePipeline API Reference, DisableStageTransition): no `:`, `/` or `_`.

use aws_sdk_codepipeline::types::StageTransitionType;
use orgsplit_model::StepSpec;
use orgsplit_model::journal::OutputKey;

use super::Phase;
use super::run::{Side, Switch};
use crate::context::{Outcome, StepError};

const PIPELINE: &str = "codepipeline";
const ENABLED: &str = "enabled";
const DISABLED: &str = "disabled";

pub(super) async fn act(sw: &Switch) -> Result<Outcome, StepError> {
    let StepSpec::Pipeline(inputs) = &sw.cx.step.spec else {
        return Err(StepError::Failed("not a pipeline copy".into()));
    };
    let name = inputs.copy.name.as_str();
    let account = sw.account(Side::Source);
    let client = sw.session(Side::Source).await?.codepipeline(sw.cx.region());
    let got = client.get_pipeline().name(name).send().await;
    let got = got.map_err(sw.cx.error_in(account, PIPELINE, "GetPipeline"))?;
    let stages = got.pipeline().map(|p| p.stages()).unwrap_or_default();
    let Some(stage) = stages.get(1).map(|s| s.name().to_string()) else {
        return Ok(Outcome::unchanged());
    };
    let state = client.get_pipeline_state().name(name).send().await;
    let state = state.map_err(sw.cx.error_in(account, PIPELINE, "GetPipelineState"))?;
    let transition = state
        .stage_states()
        .iter()
        .find(|s| s.stage_name() == Some(stage.as_str()))
        .and_then(|s| s.inbound_transition_state());
    let enabled = transition.is_none_or(|t| t.enabled());
    // Held by orgsplit's own reason: this action (or its interrupted run, killed between the
    // call and its record) found the transition enabled. The reason is the only mark: the
    // state read after the call cannot tell who disabled it.
    let ours = reason(&sw.cx.step.account, sw.cx.step.address.as_str());
    let held_by_us =
        !enabled && transition.and_then(|t| t.disabled_reason()) == Some(ours.as_str());
    match sw.phase {
        Phase::SourceHold => {
            if enabled {
                client
                    .disable_stage_transition()
                    .pipeline_name(name)
                    .stage_name(&stage)
                    .transition_type(StageTransitionType::Inbound)
                    .reason(&ours)
                    .send()
                    .await
                    .map_err(sw.cx.error_in(account, PIPELINE, "DisableStageTransition"))?;
            }
            let prior = if enabled || held_by_us { ENABLED } else { DISABLED };
            Ok(Outcome::changed(enabled).with_output(OutputKey::PriorState, prior))
        }
        Phase::SourceRelease => {
            // Without a record (the hold was interrupted), orgsplit's reason says it held it.
            let was_enabled = match sw.forward.get(OutputKey::PriorState.as_str()) {
                Some(prior) => prior == ENABLED,
                None => held_by_us,
            };
            if !was_enabled || enabled {
                return Ok(Outcome::unchanged());
            }
            client
                .enable_stage_transition()
                .pipeline_name(name)
                .stage_name(&stage)
                .transition_type(StageTransitionType::Inbound)
                .send()
                .await
                .map_err(sw.cx.error_in(account, PIPELINE, "EnableStageTransition"))?;
            Ok(Outcome::changed(true))
        }
        other => Err(StepError::Failed(format!("{} is not a pipeline action", other.as_str()))),
    }
}

/// `Moved by orgsplit to account 222222222222 (OU dev)`: only characters the reason allows.
fn reason(account: &str, address: &str) -> String {
    let ou = address.split('/').nth(2).unwrap_or("");
    let allowed = |c: &char| c.is_ascii_alphanumeric() || " !@().*?-".contains(*c);
    let ou: String = ou.chars().filter(allowed).collect();
    format!("Moved by orgsplit to account {account} (OU {ou})")
}

#[cfg(test)]
mod tests {
    use super::reason;

    #[test]
    fn the_hold_reason_uses_only_characters_codepipeline_allows() {
        let r = reason("222222222222", "cutover/1/dev_team/dev-workloads/pipeline:x/source-hold");
        assert_eq!(r, "Moved by orgsplit to account 222222222222 (OU devteam)");
        let allowed = |c: char| c.is_ascii_alphanumeric() || " !@().*?-".contains(c);
        assert!(r.chars().all(allowed) && (1..=300).contains(&r.len()), "{r}");
    }
}
