//! One step of a plan, and the typed contract between the planner, which writes a step's
//! inputs, and apply, which acts on them.
//!
//! In the plan file a step is `{"kind": "...", "inputs": {...}}` beside its address, action
//! and dependencies; here `kind` and `inputs` are one value, [`StepSpec`], so a step of one
//! kind cannot carry another kind's inputs, and a field apply reads is a field the planner
//! had to write. Inputs never hold a secret value: values are read from the source account
//! when the step runs.
//!
//! Where a step copies a resource, `config` is the resource as AWS describes it (the wire
//! shape of the service's Describe/Get call, rewritten for the target account): AWS owns
//! that shape, and apply turns it into its create call through the SDK's own types.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

use crate::kind::ResourceKind;
use crate::resource_config::ResourceConfig;

mod organization;
pub use organization::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    /// Stable across re-plans of the same inputs: `prod/prod-workloads/ssm:/prod/app/DB_URL`.
    pub address: String,
    pub action: Action,
    /// The step's kind and what it needs to act (`kind` and `inputs` in the file).
    #[serde(flatten)]
    pub spec: StepSpec,
    /// The account the step acts in: an id, or `${account:NAME}` for one apply creates.
    pub account: String,
    // Empty and absent members are left out of the file (format 3): a plan of 100,000 steps
    // spends nothing on them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Addresses of steps that must succeed first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Keys of `Plan::fingerprints` this step reads besides its source: a step whose inputs
    /// name a `source_arn` reads that resource's fingerprint without listing it (format 5;
    /// [`Step::read_keys`] gives them all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<String>,
    /// Why this step exists (the rule that classified the resource, …). Empty for a step of a
    /// resource, whose reason is stated once, in its resource entry (format 5).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Step {
    /// A step in no region, after nothing, reading no fingerprint, with no reason or note yet:
    /// the builder methods below add them.
    pub fn new(address: impl Into<String>, action: Action, account: &str, spec: StepSpec) -> Step {
        Step {
            address: address.into(),
            action,
            spec,
            account: account.to_string(),
            region: None,
            depends_on: Vec::new(),
            reads: Vec::new(),
            reason: String::new(),
            notes: Vec::new(),
        }
    }

    pub fn in_region(mut self, region: &str) -> Step {
        self.region = Some(region.to_string());
        self
    }

    /// In `region`, or in none (a global resource).
    pub fn in_region_opt(mut self, region: Option<&str>) -> Step {
        self.region = region.map(str::to_string);
        self
    }

    /// Steps that must succeed first.
    pub fn after<S: Into<String>>(mut self, addresses: impl IntoIterator<Item = S>) -> Step {
        self.depends_on.extend(addresses.into_iter().map(Into::into));
        self
    }

    /// A fingerprint of the prior state the step reads.
    pub fn reading(mut self, key: &str) -> Step {
        self.reads.push(key.to_string());
        self
    }

    pub fn because(mut self, reason: impl Into<String>) -> Step {
        self.reason = reason.into();
        self
    }

    pub fn noting(mut self, note: impl Into<String>) -> Step {
        self.notes.push(note.into());
        self
    }

    pub fn noting_all(mut self, notes: impl IntoIterator<Item = String>) -> Step {
        self.notes.extend(notes);
        self
    }

    pub fn kind(&self) -> StepKind {
        self.spec.kind()
    }

    /// Every fingerprint key this step reads: its source's ARN (when its inputs name one),
    /// then `reads` (a plan of format 4 lists the source there too: it is not given twice).
    pub fn read_keys(&self) -> impl Iterator<Item = &str> {
        let source = self.spec.source_arn();
        source
            .into_iter()
            .chain(self.reads.iter().map(String::as_str).filter(move |k| Some(*k) != source))
    }
}

/// The address of OU `ou`'s `ou` step (later steps read its `ou_id`).
pub fn ou_address(ou: &str) -> String {
    format!("{ou}/ou:{ou}")
}

/// The address of the `scp` step of policy `name` (its attachments read its `policy_id`).
pub fn scp_address(name: &str) -> String {
    format!("organization/scp:{name}")
}

/// The opening of a placeholder for the ARN of the secret a step copies: `${secret-arn:ADDRESS}`.
/// Secrets Manager gives every secret a random six-character suffix, so the copy's full ARN
/// is known only once the `secret` step at ADDRESS has created it; apply replaces the
/// placeholder by that step's `secret_arn` output
/// (<https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html#iam-resources>).
pub const SECRET_ARN_PLACEHOLDER: &str = "${secret-arn:";

/// The placeholder for the full ARN of the secret the step at `address` copies.
pub fn secret_arn_placeholder(address: &str) -> String {
    format!("{SECRET_ARN_PLACEHOLDER}{address}}}")
}

/// The opening of a placeholder for the ARN of the KMS key a `kms-key` step creates:
/// `${kms-key-arn:ADDRESS}`. A new key's id is chosen by KMS, so its ARN is known only once
/// the step has run; apply replaces the placeholder by that step's `kms_key_arn` output.
/// IAM policies and the services' `KmsKeyId` members take the key's ARN (an alias ARN in an
/// IAM policy's `Resource` does not grant use of the key:
/// <https://docs.aws.amazon.com/kms/latest/developerguide/cmks-in-iam-policies.html>).
pub const KMS_KEY_ARN_PLACEHOLDER: &str = "${kms-key-arn:";

/// The placeholder for the ARN of the key the step at `address` creates.
pub fn kms_key_arn_placeholder(address: &str) -> String {
    format!("{KMS_KEY_ARN_PLACEHOLDER}{address}}}")
}

impl Action {
    /// `NoOp` for what exists already, `Create` for what does not.
    pub fn create_unless(exists: bool) -> Action {
        if exists { Action::NoOp } else { Action::Create }
    }
}

/// A closed set: a plan with any other action is rejected on read.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Move,
    Delete,
    Manual,
    NoOp,
}

impl Action {
    /// The review's symbol, Terraform-like.
    pub fn symbol(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Move => '>',
            Action::Delete => '-',
            Action::Manual => '!',
            Action::NoOp => '=',
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Move => "move",
            Action::Delete => "delete",
            Action::Manual => "manual",
            Action::NoOp => "no-op",
        }
    }

    /// Whether applying the step changes anything.
    pub fn is_change(self) -> bool {
        !matches!(self, Action::NoOp)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step's kind, without its inputs: for ordering, journals, events and summaries.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    OrgTrustedAccess,
    Scp,
    Ou,
    ScpAttachment,
    StackSet,
    Account,
    AccountMove,
    /// Enables an opt-in Region in an account (from the management account).
    RegionOptIn,
    StackSetInstances,
    Budget,
    EcrPullAccess,
    SsmParameter,
    Secret,
    IamPolicy,
    IamRole,
    LogGroup,
    S3Bucket,
    EcsCluster,
    EcsTaskDefinition,
    EcsService,
    EventsRule,
    Schedule,
    /// The organization's GitHub connection (CodeConnections), in its owner's account.
    Connection,
    /// Shares the connection with one account through AWS RAM.
    ConnectionShare,
    KmsKey,
    /// Sets a copied key's policy once the principals it names exist.
    KmsKeyPolicy,
    CodeBuildProject,
    Pipeline,
    Manual,
}

impl StepKind {
    /// The copy step for a migrated resource kind.
    pub fn copy_of(kind: ResourceKind) -> Option<StepKind> {
        Some(match kind {
            ResourceKind::SsmParameter => StepKind::SsmParameter,
            ResourceKind::Secret => StepKind::Secret,
            ResourceKind::IamPolicy => StepKind::IamPolicy,
            ResourceKind::IamRole => StepKind::IamRole,
            ResourceKind::LogGroup => StepKind::LogGroup,
            ResourceKind::S3Bucket => StepKind::S3Bucket,
            ResourceKind::EcsCluster => StepKind::EcsCluster,
            ResourceKind::EcsTaskDefinition => StepKind::EcsTaskDefinition,
            ResourceKind::EcsService => StepKind::EcsService,
            ResourceKind::EventsRule => StepKind::EventsRule,
            ResourceKind::Schedule => StepKind::Schedule,
            ResourceKind::Pipeline => StepKind::Pipeline,
            ResourceKind::KmsKey => StepKind::KmsKey,
            ResourceKind::CodeBuildProject => StepKind::CodeBuildProject,
            ResourceKind::EcrRepository => StepKind::EcrPullAccess,
            ResourceKind::EcsTask | ResourceKind::Other => return None,
        })
    }
}

/// A step's kind with its typed inputs: the closed set of what apply can do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "inputs", rename_all = "kebab-case")]
pub enum StepSpec {
    OrgTrustedAccess(TrustedAccess),
    Scp(Scp),
    Ou(Ou),
    ScpAttachment(ScpAttachment),
    // Boxed, as the next one: the rare large kinds would size every step (376 bytes with
    // them inline, of which a 100k plan holds 122,824).
    StackSet(Box<StackSet>),
    Account(Account),
    AccountMove(AccountMove),
    RegionOptIn(RegionOptIn),
    StackSetInstances(StackSetInstances),
    Budget(Budget),
    EcrPullAccess(EcrPullAccess),
    SsmParameter(ValueCopy),
    Secret(ValueCopy),
    IamPolicy(ResourceCopy),
    IamRole(ResourceCopy),
    LogGroup(ResourceCopy),
    S3Bucket(BucketCopy),
    EcsCluster(ResourceCopy),
    EcsTaskDefinition(ResourceCopy),
    EcsService(Box<ServiceCopy>),
    EventsRule(ResourceCopy),
    Schedule(ResourceCopy),
    Connection(Connection),
    ConnectionShare(ConnectionShare),
    KmsKey(KeyCopy),
    KmsKeyPolicy(KeyPolicy),
    CodeBuildProject(ResourceCopy),
    Pipeline(PipelineCopy),
    /// A person's work: apply never runs it, the review lists it.
    Manual(Manual),
}

impl StepSpec {
    pub fn kind(&self) -> StepKind {
        match self {
            StepSpec::OrgTrustedAccess(_) => StepKind::OrgTrustedAccess,
            StepSpec::Scp(_) => StepKind::Scp,
            StepSpec::Ou(_) => StepKind::Ou,
            StepSpec::ScpAttachment(_) => StepKind::ScpAttachment,
            StepSpec::StackSet(_) => StepKind::StackSet,
            StepSpec::Account(_) => StepKind::Account,
            StepSpec::AccountMove(_) => StepKind::AccountMove,
            StepSpec::RegionOptIn(_) => StepKind::RegionOptIn,
            StepSpec::StackSetInstances(_) => StepKind::StackSetInstances,
            StepSpec::Budget(_) => StepKind::Budget,
            StepSpec::EcrPullAccess(_) => StepKind::EcrPullAccess,
            StepSpec::SsmParameter(_) => StepKind::SsmParameter,
            StepSpec::Secret(_) => StepKind::Secret,
            StepSpec::IamPolicy(_) => StepKind::IamPolicy,
            StepSpec::IamRole(_) => StepKind::IamRole,
            StepSpec::LogGroup(_) => StepKind::LogGroup,
            StepSpec::S3Bucket(_) => StepKind::S3Bucket,
            StepSpec::EcsCluster(_) => StepKind::EcsCluster,
            StepSpec::EcsTaskDefinition(_) => StepKind::EcsTaskDefinition,
            StepSpec::EcsService(_) => StepKind::EcsService,
            StepSpec::EventsRule(_) => StepKind::EventsRule,
            StepSpec::Schedule(_) => StepKind::Schedule,
            StepSpec::Connection(_) => StepKind::Connection,
            StepSpec::ConnectionShare(_) => StepKind::ConnectionShare,
            StepSpec::KmsKey(_) => StepKind::KmsKey,
            StepSpec::KmsKeyPolicy(_) => StepKind::KmsKeyPolicy,
            StepSpec::CodeBuildProject(_) => StepKind::CodeBuildProject,
            StepSpec::Pipeline(_) => StepKind::Pipeline,
            StepSpec::Manual(_) => StepKind::Manual,
        }
    }

    /// The ARN of the source resource the step copies, grants access to, or is the manual
    /// item of.
    pub fn source_arn(&self) -> Option<&str> {
        match self {
            StepSpec::EcrPullAccess(e) => Some(&e.source_arn),
            StepSpec::Manual(m) => Some(&m.source_arn),
            other => other.copy().map(|c| c.source_arn.as_str()),
        }
    }

    /// The copied resource's common inputs, for the steps that copy one.
    pub fn copy(&self) -> Option<&ResourceCopy> {
        match self {
            StepSpec::SsmParameter(v) | StepSpec::Secret(v) => Some(&v.copy),
            StepSpec::IamPolicy(c)
            | StepSpec::IamRole(c)
            | StepSpec::LogGroup(c)
            | StepSpec::EcsCluster(c)
            | StepSpec::EcsTaskDefinition(c)
            | StepSpec::EventsRule(c)
            | StepSpec::Schedule(c)
            | StepSpec::CodeBuildProject(c) => Some(c),
            StepSpec::KmsKey(k) => Some(&k.copy),
            StepSpec::S3Bucket(b) => Some(&b.copy),
            StepSpec::EcsService(s) => Some(&s.copy),
            StepSpec::Pipeline(p) => Some(&p.copy),
            _ => None,
        }
    }

    /// The copied resource's common inputs, to change them.
    pub fn copy_mut(&mut self) -> Option<&mut ResourceCopy> {
        match self {
            StepSpec::SsmParameter(v) | StepSpec::Secret(v) => Some(&mut v.copy),
            StepSpec::IamPolicy(c)
            | StepSpec::IamRole(c)
            | StepSpec::LogGroup(c)
            | StepSpec::EcsCluster(c)
            | StepSpec::EcsTaskDefinition(c)
            | StepSpec::EventsRule(c)
            | StepSpec::Schedule(c)
            | StepSpec::CodeBuildProject(c) => Some(c),
            StepSpec::KmsKey(k) => Some(&mut k.copy),
            StepSpec::S3Bucket(b) => Some(&mut b.copy),
            StepSpec::EcsService(s) => Some(&mut s.copy),
            StepSpec::Pipeline(p) => Some(&mut p.copy),
            _ => None,
        }
    }

    /// The name a step creates or manages, where it has one (an account's, an OU's, a copy's).
    pub fn name(&self) -> Option<&str> {
        match self {
            StepSpec::Account(a) => Some(&a.name),
            StepSpec::Ou(o) => Some(&o.name),
            StepSpec::Scp(s) => Some(&s.name),
            StepSpec::Budget(b) => Some(&b.name),
            StepSpec::Connection(c) => Some(&c.name),
            other => other.copy().map(|c| c.name.as_str()),
        }
    }
}

/// The source account's ECR repository stays; its policy lets the target account pull.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EcrPullAccess {
    pub repository: String,
    pub source_arn: String,
    pub grant_account: String,
    pub actions: Vec<String>,
}

/// A CodeConnections connection, found by name or created (PENDING until a person completes
/// the provider's handshake in the console).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Connection {
    pub name: String,
    pub provider_type: String,
}

/// The connection of the step at `connection` shared with `account` through the AWS RAM
/// resource share `share_name` of the connection's owner (the step's account), in the
/// connection's Region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectionShare {
    pub share_name: String,
    /// The connection step's address: its output is the connection's ARN.
    pub connection: String,
    /// The account given access: an id, or `${account:NAME}` for one the plan creates.
    pub account: String,
}

/// What every copy step has: the source resource, its configuration as AWS describes it
/// (rewritten for the target), and its tags (reserved `aws:` keys already dropped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceCopy {
    pub source_arn: String,
    pub name: String,
    pub config: ResourceConfig,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A copy whose value is secret: read from the source when the step runs, never planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ValueCopy {
    #[serde(flatten)]
    pub copy: ResourceCopy,
    /// Always [`VALUE_READ_AT_APPLY`]: says so to the reviewer.
    pub value: String,
}

/// The `value` a plan shows for a secret or parameter value.
pub const VALUE_READ_AT_APPLY: &str = "read from the source at apply time";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BucketCopy {
    #[serde(flatten)]
    pub copy: ResourceCopy,
    /// Bucket names are global: the copy's name.
    pub target_name: String,
    pub copy_objects: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceCopy {
    #[serde(flatten)]
    pub copy: ResourceCopy,
    /// The environment's `[[network]]`; none makes the step manual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Network {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

/// A customer-managed KMS key: created in the target with the source's description, usage,
/// spec, aliases, rotation and (rewritten) key policy, as `config` holds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KeyCopy {
    #[serde(flatten)]
    pub copy: ResourceCopy,
    /// Whether the key policy names principals this plan creates in the account: then the key
    /// is created under AWS's default key policy (the account's IAM policies decide) and the
    /// `kms-key-policy` step sets `config.Policy` once they exist, since KMS refuses a policy
    /// naming a principal that does not exist, and those principals' own policies may need
    /// the key's ARN first.
    pub policy_later: bool,
}

/// Puts a copied key's policy, after the principals it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KeyPolicy {
    /// `${kms-key-arn:ADDRESS}` of the key's step.
    pub key_arn: String,
    /// The key's aliases (for messages and the review).
    pub name: String,
    pub policy: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PipelineCopy {
    #[serde(flatten)]
    pub copy: ResourceCopy,
    /// How many v1 GitHub webhooks triggered the source: decides `DetectChanges`.
    pub v1_webhooks: usize,
}

/// A resource orgsplit does not move: a person acts, guided by the step's notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Manual {
    pub source_arn: String,
    /// When a standalone task was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kind_and_inputs_are_two_fields_of_the_step() {
        let step = Step {
            address: "dev/ou:dev".into(),
            action: Action::Create,
            spec: StepSpec::Ou(Ou { name: "dev".into(), parent_id: "r-1".into(), ou_id: None }),
            account: "000000000000".into(),
            region: None,
            depends_on: vec![],
            reads: vec![],
            reason: String::new(),
            notes: vec![],
        };
        let value = serde_json::to_value(&step).unwrap();
        assert_eq!(value["kind"], "ou");
        assert_eq!(value["inputs"], json!({"name": "dev", "parent_id": "r-1", "ou_id": null}));
        assert_eq!(serde_json::from_value::<Step>(value).unwrap(), step);
    }

    #[test]
    fn inputs_of_another_kind_are_refused() {
        let text = r#"{"address": "a", "action": "create", "kind": "ou",
            "inputs": {"policy": "p", "ou": "dev"}, "account": "1", "region": null,
            "depends_on": [], "reads": [], "reason": "", "notes": []}"#;
        let err = serde_json::from_str::<Step>(text).unwrap_err().to_string();
        assert!(err.contains("missing field `name`"), "{err}");
    }

    #[test]
    fn a_copy_keeps_its_extra_inputs_beside_the_common_ones() {
        let inputs = json!({"source_arn": "arn:aws:s3:::b", "name": "b", "config": {},
            "tags": {"team": "a"}, "target_name": "b-1", "copy_objects": true});
        let spec: StepSpec =
            serde_json::from_value(json!({"kind": "s3-bucket", "inputs": inputs})).unwrap();
        assert_eq!(spec.kind(), StepKind::S3Bucket);
        assert_eq!(spec.name(), Some("b"));
        assert_eq!(serde_json::to_value(&spec).unwrap()["inputs"], inputs);
    }
}
