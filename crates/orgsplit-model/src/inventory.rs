//! The inventory: what the source account holds, with tags, non-secret configuration and
//! references, plus the organization's current shape. Written by `orgsplit inventory`,
//! read by the planner.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::canonical::digest_of;
use crate::kind::ResourceKind;

pub const INVENTORY_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub format_version: u32,
    pub orgsplit_version: String,
    /// RFC 3339, UTC. An input (the collector's clock), never read by the planner.
    pub created_at: String,
    pub source_account_id: String,
    pub regions: Vec<String>,
    pub organization: OrganizationState,
    /// Sorted by (kind, region, name): the same account gives the same file.
    pub resources: Vec<Resource>,
}

impl Inventory {
    /// Puts resources in their canonical order.
    pub fn normalise(&mut self) {
        self.resources
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.organization.normalise();
    }

    pub fn digest(&self) -> String {
        digest_of(self)
    }
}

/// The organization as it is: what the plan compares its desired OUs and accounts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationState {
    pub id: String,
    pub management_account_id: String,
    pub root_id: String,
    pub ous: Vec<OuState>,
    pub accounts: Vec<AccountState>,
    /// Service principals with trusted access (e.g. `member.org.stacksets.cloudformation.amazonaws.com`).
    pub service_access: Vec<String>,
    /// Service control policies by name (the guardrail SCP is found by its name).
    pub policies: Vec<PolicyState>,
}

impl OrganizationState {
    fn normalise(&mut self) {
        self.policies.sort_by(|a, b| a.name.cmp(&b.name));
        self.ous.sort_by(|a, b| a.id.cmp(&b.id));
        self.accounts.sort_by(|a, b| a.id.cmp(&b.id));
        self.service_access.sort();
    }

    pub fn account_by_email(&self, email: &str) -> Option<&AccountState> {
        self.accounts
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(email))
    }

    /// An OU directly under the root, by name.
    pub fn root_ou(&self, name: &str) -> Option<&OuState> {
        self.ous
            .iter()
            .find(|o| o.parent_id == self.root_id && o.name == name)
    }

    /// A fingerprint of the organization's shape (OUs, accounts, parents), for staleness:
    /// the order AWS lists things in does not change it.
    pub fn fingerprint(&self) -> String {
        let mut sorted = self.clone();
        sorted.normalise();
        digest_of(&sorted)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyState {
    pub id: String,
    pub name: String,
    /// Roots, OUs and accounts the policy is attached to.
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OuState {
    pub id: String,
    pub name: String,
    pub parent_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    pub id: String,
    pub name: String,
    pub email: String,
    pub status: String,
    pub parent_id: String,
}

/// One resource of the source account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub kind: ResourceKind,
    /// The name rules match against and the address uses (an SSM path, a role name, …).
    pub name: String,
    pub arn: String,
    /// `None` for global (IAM) resources.
    pub region: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Non-secret configuration, as AWS describes it, needed to re-create the resource.
    pub config: Value,
    /// What this resource uses, by ARN (or image URI), with where in `config` it was found.
    pub references: Vec<Reference>,
    /// `sha256:` of the live object's state this inventory saw (config and tags).
    pub fingerprint: String,
}

impl Resource {
    /// Builds a resource and computes its fingerprint from what was read.
    pub fn new(
        kind: ResourceKind,
        name: impl Into<String>,
        arn: impl Into<String>,
        region: Option<String>,
        tags: BTreeMap<String, String>,
        config: Value,
        mut references: Vec<Reference>,
    ) -> Self {
        references.sort();
        references.dedup();
        let mut r = Resource {
            kind,
            name: name.into(),
            arn: arn.into(),
            region,
            tags,
            config,
            references,
            fingerprint: String::new(),
        };
        r.fingerprint = r.compute_fingerprint();
        r
    }

    pub fn compute_fingerprint(&self) -> String {
        digest_of(&serde_json::json!({ "config": self.config, "tags": self.tags }))
    }

    pub fn sort_key(&self) -> (ResourceKind, &str, &str) {
        (
            self.kind,
            self.region.as_deref().unwrap_or(""),
            self.name.as_str(),
        )
    }

    /// `ssm:/prod/app/DB_URL`, or `ssm@eu-west-1:/dev/x` outside the home region.
    pub fn label(&self, home_region: &str) -> String {
        match &self.region {
            Some(r) if r != home_region => format!("{}@{}:{}", self.kind, r, self.name),
            _ => format!("{}:{}", self.kind, self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reference {
    /// The referenced resource's ARN (for ECR images: the repository ARN).
    pub arn: String,
    /// Where it was found, e.g. `containerDefinitions[0].secrets[1].valueFrom`.
    pub via: String,
}

impl Reference {
    pub fn new(arn: impl Into<String>, via: impl Into<String>) -> Self {
        Reference {
            arn: arn.into(),
            via: via.into(),
        }
    }
}
