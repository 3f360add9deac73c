//! Organization steps, in the management account: trusted access for StackSets, the
//! guardrail SCP, OUs, accounts (created idempotently: the e-mail is looked up first), moves
//! into OUs, and SCP attachments.

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{CreateAccountState, PolicyType, PolicyTypeStatus};
use orgsplit_aws::{AccountSession, AwsError, every_page, organizations};
use serde_json::Value;
use std::time::{Duration, Instant};

use super::support::ou_id;
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::journal::OutputKey;
use orgsplit_model::step;

const ORG: &str = "organizations";
const GLOBAL: &str = "global";
/// How long account creation may take before the step gives up (AWS: usually minutes).
const ACCOUNT_CREATION_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const POLL: Duration = Duration::from_secs(2);
/// How long an enabling policy type may stay `PENDING_ENABLE` (AWS: seconds to minutes).
const POLICY_TYPE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The root's id and the status of its SCP policy type (None: not enabled at all).
async fn root_id(session: &AccountSession) -> Result<(String, Option<PolicyTypeStatus>), AwsError> {
    let root = organizations::root(session).await?;
    let scp = root.as_ref().and_then(|r| {
        r.policy_types()
            .iter()
            .find(|p| p.r#type() == Some(&PolicyType::ServiceControlPolicy))
            .and_then(|p| p.status().cloned())
    });
    let id = root.as_ref().and_then(|r| r.id()).unwrap_or_default();
    Ok((id.to_string(), scp))
}

/// Enables the SCP policy type on the root and waits until it is ENABLED: EnablePolicyType is
/// asynchronous, the type is `PENDING_ENABLE` meanwhile, and an AttachPolicy then fails with
/// `PolicyTypeNotEnabledException`
/// (<https://docs.aws.amazon.com/organizations/latest/APIReference/API_PolicyTypeSummary.html>).
/// `PolicyTypeAlreadyEnabledException` (another caller won the race) counts as success.
/// Returns whether this call enabled it.
async fn ensure_scp_enabled(session: &AccountSession) -> Result<bool, StepError> {
    let (root, status) = root_id(session).await?;
    let mut changed = false;
    if status.is_none() {
        let out = session
            .organizations()
            .enable_policy_type()
            .root_id(&root)
            .policy_type(PolicyType::ServiceControlPolicy)
            .send()
            .await;
        match out {
            Ok(_) => changed = true,
            Err(e)
                if aws_sdk_organizations::error::ProvideErrorMetadata::code(&e)
                    == Some("PolicyTypeAlreadyEnabledException") => {}
            Err(e) => return Err(session.error_of(ORG, "EnablePolicyType", GLOBAL)(e).into()),
        }
    }
    let deadline = Instant::now() + POLICY_TYPE_TIMEOUT;
    let mut delay = Duration::from_millis(250);
    loop {
        match root_id(session).await?.1 {
            Some(PolicyTypeStatus::Enabled) => return Ok(changed),
            status if Instant::now() > deadline => {
                return Err(StepError::Failed(format!(
                    "the SCP policy type of root {root} is {} after {} s: run apply again later",
                    status.map_or("not enabled".to_string(), |s| s.as_str().to_string()),
                    POLICY_TYPE_TIMEOUT.as_secs()
                )));
            }
            _ => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(POLL);
            }
        }
    }
}

pub async fn ou(cx: &StepContext, inputs: &step::Ou) -> Result<Outcome, StepError> {
    let session = cx.session().await?;
    let name = inputs.name.as_str();
    let parent = match inputs.parent_id.as_str() {
        p if !p.is_empty() => p.to_string(),
        _ => root_id(&session).await?.0,
    };
    if let Some(id) = organizations::ou_named(&session, &parent, name).await? {
        return Ok(Outcome::unchanged().with_output(OutputKey::OuId, id));
    }
    let created = session
        .organizations()
        .create_organizational_unit()
        .parent_id(&parent)
        .name(name)
        .send()
        .await;
    match created {
        Ok(out) => {
            let id = out.organizational_unit().and_then(|o| o.id()).ok_or_else(|| {
                StepError::Verify(format!("CreateOrganizationalUnit {name} returned no id"))
            })?;
            Ok(Outcome::changed(true).with_output(OutputKey::OuId, id))
        }
        // Created by someone else between our look and our create: take theirs.
        Err(e)
            if aws_sdk_organizations::error::ProvideErrorMetadata::code(&e)
                == Some("DuplicateOrganizationalUnitException") =>
        {
            let id = organizations::ou_named(&session, &parent, name).await?.ok_or_else(|| {
                StepError::Verify(format!("OU {name} reported as duplicate but not found"))
            })?;
            Ok(Outcome::unchanged().with_output(OutputKey::OuId, id))
        }
        Err(e) => Err(session.error_of(ORG, "CreateOrganizationalUnit", GLOBAL)(e).into()),
    }
}

pub async fn account(cx: &StepContext, inputs: &step::Account) -> Result<Outcome, StepError> {
    let session = cx.session().await?;
    let name = inputs.name.as_str();
    let email = inputs.email.as_str();
    // A creation already in flight (an earlier run was interrupted after CreateAccount):
    // wait for it rather than asking a second time. Read before ListAccounts: a creation
    // that finishes between the two reads is then in the second one. In the other order it
    // could finish after ListAccounts and before ListCreateAccountStatus, be in neither, and
    // a second account would be created (found by the crash suite).
    let in_flight = in_progress_request(&session, name).await?;
    if in_flight.is_none()
        && let Some(id) =
            organizations::accounts_by_email(&session).await?.get(&email.to_ascii_lowercase())
    {
        return Ok(Outcome::unchanged().with_output(OutputKey::AccountId, id.clone()));
    }
    let org = session.organizations();
    let (request, changed) = match in_flight {
        Some(r) => (r, false),
        None => {
            let _permit = cx
                .shared
                .account_creations
                .acquire()
                .await
                .map_err(|e| StepError::Failed(e.to_string()))?;
            let out = org
                .create_account()
                .account_name(name)
                .email(email)
                .role_name(&cx.aws.options().access_role)
                .send()
                .await
                .map_err(session.error_of(ORG, "CreateAccount", GLOBAL))?;
            let request = out
                .create_account_status()
                .and_then(|s| s.id())
                .ok_or_else(|| StepError::Verify("CreateAccount returned no request id".into()))?
                .to_string();
            let id = wait_for_account(&org, &session, &request, name, email).await?;
            let outcome = verified_account(&session, id.clone(), email, true).await?;
            super::account_ready::wait_until_usable(cx, &id, name).await?;
            return Ok(outcome);
        }
    };
    let id = wait_for_account(&org, &session, &request, name, email).await?;
    let outcome = verified_account(&session, id.clone(), email, changed).await?;
    super::account_ready::wait_until_usable(cx, &id, name).await?;
    Ok(outcome)
}

async fn in_progress_request(
    session: &AccountSession,
    name: &str,
) -> Result<Option<String>, AwsError> {
    let request =
        session.organizations().list_create_account_status().states(CreateAccountState::InProgress);
    let error_of = session.error_of(ORG, "ListCreateAccountStatus", GLOBAL);
    let statuses = every_page!(request, create_account_statuses).map_err(error_of)?;
    Ok(statuses
        .iter()
        .find(|s| s.account_name() == Some(name))
        .and_then(|s| s.id())
        .map(str::to_string))
}

async fn wait_for_account(
    org: &Client,
    session: &AccountSession,
    request: &str,
    name: &str,
    email: &str,
) -> Result<String, StepError> {
    let deadline = Instant::now() + ACCOUNT_CREATION_TIMEOUT;
    loop {
        let out = org
            .describe_create_account_status()
            .create_account_request_id(request)
            .send()
            .await
            .map_err(session.error_of(ORG, "DescribeCreateAccountStatus", GLOBAL))?;
        let status = out.create_account_status();
        match status.and_then(|s| s.state()) {
            Some(CreateAccountState::Succeeded) => {
                return status.and_then(|s| s.account_id()).map(str::to_string).ok_or_else(|| {
                    StepError::Verify(format!("account {name} SUCCEEDED without an id"))
                });
            }
            Some(CreateAccountState::Failed) => {
                let reason = status
                    .and_then(|s| s.failure_reason())
                    .map_or("no reason given".to_string(), |r| r.as_str().to_string());
                return Err(StepError::Failed(format!(
                    "creating account {name} <{email}> FAILED: {reason}"
                )));
            }
            _ if Instant::now() > deadline => {
                return Err(StepError::Failed(format!(
                    "creating account {name} <{email}> is still IN_PROGRESS after {} minutes (request {request}): run apply again later",
                    ACCOUNT_CREATION_TIMEOUT.as_secs() / 60
                )));
            }
            _ => tokio::time::sleep(POLL).await,
        }
    }
}

async fn verified_account(
    session: &AccountSession,
    id: String,
    email: &str,
    changed: bool,
) -> Result<Outcome, StepError> {
    let out = session
        .organizations()
        .describe_account()
        .account_id(&id)
        .send()
        .await
        .map_err(session.error_of(ORG, "DescribeAccount", GLOBAL))?;
    let found = out.account().and_then(|a| a.email()).unwrap_or_default();
    if !found.eq_ignore_ascii_case(email) {
        return Err(StepError::Verify(format!(
            "account {id} has e-mail {found}, expected {email}"
        )));
    }
    Ok(Outcome::changed(changed).with_output(OutputKey::AccountId, id))
}

async fn parent_of(session: &AccountSession, account: &str) -> Result<String, AwsError> {
    let parent = organizations::parent_of(session, account).await?;
    Ok(parent.unwrap_or_default())
}

pub async fn account_move(
    cx: &StepContext,
    inputs: &step::AccountMove,
) -> Result<Outcome, StepError> {
    let session = cx.session().await?;
    let account = inputs.account.as_str();
    let to = ou_id(cx, &session, &inputs.to_ou).await?;
    let from = parent_of(&session, account).await?;
    if from == to {
        return Ok(Outcome::unchanged());
    }
    session
        .organizations()
        .move_account()
        .account_id(account)
        .source_parent_id(&from)
        .destination_parent_id(&to)
        .send()
        .await
        .map_err(session.error_of(ORG, "MoveAccount", GLOBAL))?;
    let now = parent_of(&session, account).await?;
    if now != to {
        return Err(StepError::Verify(format!(
            "account {account} is under {now} after the move, not {to}"
        )));
    }
    Ok(Outcome::changed(true))
}

/// The SCP named `name`: (id, content).
async fn find_policy(
    session: &AccountSession,
    name: &str,
) -> Result<Option<(String, String)>, AwsError> {
    let policies = organizations::scps(session).await?;
    let Some(id) = policies.iter().find(|p| p.name() == Some(name)).and_then(|p| p.id()) else {
        return Ok(None);
    };
    let content = organizations::policy_content(session, id).await?;
    Ok(Some((id.to_string(), content)))
}

fn same_json(a: &str, b: &Value) -> bool {
    serde_json::from_str::<Value>(a).is_ok_and(|v| &v == b)
}

pub async fn scp(cx: &StepContext, inputs: &step::Scp) -> Result<Outcome, StepError> {
    let session = cx.session().await?;
    let name = inputs.name.as_str();
    let description = inputs.description.as_str();
    let content = &inputs.content;
    let text = serde_json::to_string(content).expect("JSON serialises");
    let org = session.organizations();
    let mut changed = ensure_scp_enabled(&session).await?;
    let id = match find_policy(&session, name).await? {
        Some((id, live)) if same_json(&live, content) => id,
        Some((id, _)) => {
            org.update_policy()
                .policy_id(&id)
                .content(&text)
                .send()
                .await
                .map_err(session.error_of(ORG, "UpdatePolicy", GLOBAL))?;
            changed = true;
            id
        }
        None => {
            let out = org
                .create_policy()
                .name(name)
                .description(description)
                .r#type(PolicyType::ServiceControlPolicy)
                .content(&text)
                .send()
                .await
                .map_err(session.error_of(ORG, "CreatePolicy", GLOBAL))?;
            changed = true;
            out.policy()
                .and_then(|p| p.policy_summary())
                .and_then(|s| s.id())
                .ok_or_else(|| StepError::Verify(format!("CreatePolicy {name} returned no id")))?
                .to_string()
        }
    };
    if changed {
        match find_policy(&session, name).await? {
            Some((_, live)) if same_json(&live, content) => {}
            _ => {
                return Err(StepError::Verify(format!(
                    "SCP {name} does not hold the planned content"
                )));
            }
        }
    }
    Ok(Outcome::changed(changed).with_output(OutputKey::PolicyId, id))
}

async fn attached(session: &AccountSession, policy: &str, target: &str) -> Result<bool, AwsError> {
    let targets = organizations::policy_targets(session, policy).await?;
    Ok(targets.iter().any(|t| t == target))
}

pub async fn scp_attachment(
    cx: &StepContext,
    inputs: &step::ScpAttachment,
) -> Result<Outcome, StepError> {
    let session = cx.session().await?;
    let name = inputs.policy.as_str();
    let ou = inputs.ou.as_str();
    let target = ou_id(cx, &session, ou).await?;
    let policy = match cx.output(&step::scp_address(name), OutputKey::PolicyId) {
        Some(id) => id,
        None => find_policy(&session, name)
            .await?
            .map(|(id, _)| id)
            .ok_or_else(|| StepError::Failed(format!("SCP {name} does not exist")))?,
    };
    if attached(&session, &policy, &target).await? {
        return Ok(Outcome::unchanged());
    }
    // The SCP step enabled the policy type and waited, but it may have run in an earlier
    // apply that stopped while the type was still PENDING_ENABLE.
    ensure_scp_enabled(&session).await?;
    let out =
        session.organizations().attach_policy().policy_id(&policy).target_id(&target).send().await;
    if let Err(e) = out
        && aws_sdk_organizations::error::ProvideErrorMetadata::code(&e)
            != Some("DuplicatePolicyAttachmentException")
    {
        return Err(session.error_of(ORG, "AttachPolicy", GLOBAL)(e).into());
    }
    if !attached(&session, &policy, &target).await? {
        return Err(StepError::Verify(format!(
            "SCP {name} is not attached to OU {ou} after AttachPolicy"
        )));
    }
    Ok(Outcome::changed(true))
}
