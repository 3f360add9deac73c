//! The inventory: what the source account holds, with tags, non-secret configuration and
//! references, plus the organization's current shape. Written by `orgsplit inventory`,
//! read by the planner.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::canonical::{CanonicalHasher, digest_of};
use crate::kind::ResourceKind;
use crate::resource_config::ResourceConfig;

pub const INVENTORY_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Inventory {
    pub format_version: u32,
    pub orgsplit_version: String,
    /// RFC 3339, UTC. An input (the collector's clock), never read by the planner.
    pub created_at: String,
    pub source_account_id: String,
    /// The organization's partition (`aws`, `aws-cn`, `aws-us-gov`), from the caller's
    /// identity: the planner builds every ARN in it. An inventory written before it was
    /// recorded is `aws`, as every ARN in it is.
    #[serde(default = "default_partition")]
    pub partition: String,
    pub regions: Vec<String>,
    pub organization: OrganizationState,
    /// Sorted by (kind, region, name): the same account gives the same file.
    pub resources: Vec<Resource>,
    /// The kinds orgsplit does not migrate that were listed directly (so an untagged one is
    /// seen), per region, and the listings that failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<Coverage>,
}

/// One direct listing of a kind orgsplit does not migrate, in one region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Coverage {
    /// What was listed: `Lambda functions`, `DynamoDB tables`, …
    pub listing: String,
    pub region: String,
    /// How many were found (0 when the listing failed).
    pub found: usize,
    /// Why the listing failed (`ListFunctions: AccessDeniedException`), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn default_partition() -> String {
    crate::arn::DEFAULT_PARTITION.to_string()
}

impl Inventory {
    /// Puts resources in their canonical order.
    pub fn normalise(&mut self) {
        self.resources.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.coverage.sort();
        self.organization.normalise();
    }

    /// `sha256:` of the inventory's compact JSON, as orgsplit writes it: the same before the
    /// file is written (configurations as trees) and after it is read back (configurations as
    /// their text), whatever whitespace the file has. Written straight into the hasher: no
    /// configuration is parsed and no second copy of a large inventory is made.
    pub fn digest(&self) -> String {
        let mut hasher = CanonicalHasher::default();
        serde_json::to_writer(&mut hasher, self).expect("hashing cannot fail");
        hasher.finish()
    }
}

/// The organization as it is: what the plan compares its desired OUs and accounts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrganizationState {
    pub id: String,
    pub management_account_id: String,
    pub root_id: String,
    pub ous: Vec<OuState>,
    pub accounts: Vec<AccountState>,
    /// Service principals with trusted access (e.g. `member.org.stacksets.cloudformation.amazonaws.com`).
    pub service_access: Vec<String>,
    /// CloudFormation's `DescribeOrganizationsAccess` status in the home region (`ENABLED`,
    /// `DISABLED`; empty in inventories written before it was read).
    #[serde(default)]
    pub stacksets_access: String,
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
        self.accounts.iter().find(|a| a.email.eq_ignore_ascii_case(email))
    }

    /// An OU directly under the root, by name.
    pub fn root_ou(&self, name: &str) -> Option<&OuState> {
        self.ous.iter().find(|o| o.parent_id == self.root_id && o.name == name)
    }

    /// A fingerprint of the organization's shape (OUs, accounts, parents), for staleness:
    /// the order AWS lists things in does not change it.
    pub fn fingerprint(&self) -> String {
        let mut sorted = self.clone();
        sorted.normalise();
        digest_of(&sorted)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PolicyState {
    pub id: String,
    pub name: String,
    /// Roots, OUs and accounts the policy is attached to.
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OuState {
    pub id: String,
    pub name: String,
    pub parent_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccountState {
    pub id: String,
    pub name: String,
    pub email: String,
    pub status: String,
    pub parent_id: String,
}

/// One resource of the source account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Resource {
    pub kind: ResourceKind,
    /// The name rules match against and the address uses (an SSM path, a role name, …).
    pub name: String,
    pub arn: String,
    /// `None` for global (IAM) resources.
    pub region: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Non-secret configuration, as AWS describes it, needed to re-create the resource.
    // Read as its text; parsed when a member of it is read (see `ResourceConfig`).
    #[serde(deserialize_with = "ResourceConfig::deserialize_text")]
    pub config: ResourceConfig,
    /// What this resource uses, by ARN (or image URI), with where in `config` it was found.
    pub references: Vec<Reference>,
    /// `sha256:` of the live object's state this inventory saw (config and tags).
    pub fingerprint: String,
    /// How many tags with the reserved `aws:` prefix were dropped from `tags` and `config`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reserved_tags_dropped: usize,
    /// What could not be read (`GetBucketPolicy: AccessDenied`): `config` lacks it, so the
    /// planner makes the resource a manual item rather than copy it incompletely.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Whether a tag key is reserved for AWS: "The aws: prefix is reserved for AWS use. You can't
/// edit or delete a tag's key or value when the tag has a tag key with the aws: prefix" (any
/// case), and every write of one is refused
/// (<https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions>).
/// CloudFormation, CDK and SAM put `aws:cloudformation:*` on everything they create.
pub fn is_reserved_tag_key(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
}

/// Drops reserved tags from every tag list (`[{Key, Value}]`, `[{key, value}]`) and tag map
/// under a member whose name contains "tag" in a configuration; returns how many.
fn drop_reserved_tags(value: &mut Value) -> usize {
    let mut dropped = 0;
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let tag_member = k.to_ascii_lowercase().contains("tag");
                match v {
                    Value::Array(items) if tag_member => {
                        let before = items.len();
                        items.retain(|item| {
                            !item
                                .get("Key")
                                .or_else(|| item.get("key"))
                                .and_then(Value::as_str)
                                .is_some_and(is_reserved_tag_key)
                        });
                        dropped += before - items.len();
                    }
                    Value::Object(tags) if tag_member && tags.values().all(Value::is_string) => {
                        let before = tags.len();
                        tags.retain(|key, _| !is_reserved_tag_key(key));
                        dropped += before - tags.len();
                    }
                    _ => {}
                }
                dropped += drop_reserved_tags(v);
            }
        }
        Value::Array(items) => {
            for item in items {
                dropped += drop_reserved_tags(item);
            }
        }
        _ => {}
    }
    dropped
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
        // Reserved tags can never be written, so they are dropped here, once, for every
        // collector: the plan never sees them and apply never copies them.
        let mut tags = tags;
        let mut config = config;
        let before = tags.len();
        tags.retain(|k, _| !is_reserved_tag_key(k));
        let reserved_tags_dropped = before - tags.len() + drop_reserved_tags(&mut config);
        let mut r = Resource {
            kind,
            name: name.into(),
            arn: arn.into(),
            region,
            tags,
            config: config.into(),
            references,
            fingerprint: String::new(),
            reserved_tags_dropped,
            unreadable: Vec::new(),
        };
        r.fingerprint = r.compute_fingerprint();
        r
    }

    /// Adds tags read apart from the resource (the Tagging API sweep), dropping reserved ones
    /// like [`Resource::new`] does, and recomputes the fingerprint.
    pub fn add_tags(&mut self, tags: BTreeMap<String, String>) {
        for (k, v) in tags {
            if is_reserved_tag_key(&k) {
                self.reserved_tags_dropped += 1;
            } else {
                self.tags.insert(k, v);
            }
        }
        self.fingerprint = self.compute_fingerprint();
    }

    /// A digest of what a step copies: the configuration without its volatile members
    /// ([`VOLATILE`]), and the tags. Staleness is a change in what a step copies, not in what
    /// moves by itself.
    pub fn compute_fingerprint(&self) -> String {
        let mut copied = self.config.to_tree();
        if let Some(members) = copied.as_object_mut() {
            members.retain(|key, _| !is_volatile(self.kind, key));
        }
        digest_of(&serde_json::json!({ "config": copied, "tags": self.tags }))
    }

    pub fn sort_key(&self) -> (ResourceKind, &str, &str) {
        (self.kind, self.region.as_deref().unwrap_or(""), self.name.as_str())
    }

    /// `ssm:/prod/app/DB_URL`, or `ssm@eu-west-1:/dev/x` outside the home region.
    pub fn label(&self, home_region: &str) -> String {
        let mut label = String::new();
        self.label_into(home_region, &mut label);
        label
    }

    /// [`Resource::label`] appended to `out` (a step's address is its account's prefix and
    /// its label: one string, built without a second one).
    pub fn label_into(&self, home_region: &str, out: &mut String) {
        let kind = self.kind.as_str();
        let region = self.region.as_deref().filter(|r| *r != home_region);
        out.reserve(kind.len() + region.map_or(0, |r| r.len() + 1) + 1 + self.name.len());
        out.push_str(kind);
        if let Some(region) = region {
            out.push('@');
            out.push_str(region);
        }
        out.push(':');
        out.push_str(&self.name);
    }
}

/// Members of a resource's recorded configuration that change by themselves, with no one
/// changing what orgsplit copies: objects written to a bucket, a secret rotated (its value is
/// read at apply time), a parameter written again (likewise), a service scaled, a rule or
/// schedule enabled or disabled, a standalone task's progress. They are kept in the inventory
/// for the reader and left out of the fingerprint. A service's desired count and a rule's or
/// schedule's state are not copied either: copies are created quiesced, and `cutover` moves
/// the live values over.
pub const VOLATILE: &[(ResourceKind, &[&str])] = &[
    (ResourceKind::S3Bucket, &["ObjectCount", "ObjectBytes"]),
    (ResourceKind::Secret, &["LastChangedDate"]),
    (ResourceKind::SsmParameter, &["Version", "LastModifiedDate"]),
    (ResourceKind::EcsService, &["desiredCount"]),
    (ResourceKind::EventsRule, &["State"]),
    (ResourceKind::Schedule, &["State"]),
    (ResourceKind::EcsTask, &["startedAt", "lastStatus"]),
];

/// Whether `member` of a `kind` resource's configuration is volatile (see [`VOLATILE`]).
pub fn is_volatile(kind: ResourceKind, member: &str) -> bool {
    VOLATILE.iter().any(|(k, members)| *k == kind && members.contains(&member))
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Reference {
    /// The referenced resource's ARN (for ECR images: the repository ARN).
    pub arn: String,
    /// Where it was found, e.g. `containerDefinitions[0].secrets[1].valueFrom`.
    pub via: String,
}

impl Reference {
    pub fn new(arn: impl Into<String>, via: impl Into<String>) -> Self {
        Reference { arn: arn.into(), via: via.into() }
    }
}

#[cfg(test)]
mod reserved_tag_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reserved_tags_are_dropped_from_tags_and_nested_tag_lists_and_counted() {
        let tags: BTreeMap<String, String> = [
            ("Team", "mail"),
            ("aws:cloudformation:stack-name", "s"),
            ("AWS:Foo", "x"),
            ("awsx", "kept: not the prefix"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let config = json!({
            "tags": [{"key": "aws:cloudformation:logical-id", "value": "T"}, {"key": "Team", "value": "mail"}],
            "Targets": [{"EcsParameters": {"Tags": [{"Key": "aws:ecs:x", "Value": "1"}]}}],
            "dockerLabels": {"aws:not-a-tag": "kept"}
        });
        let r =
            Resource::new(ResourceKind::EcsTaskDefinition, "t", "arn", None, tags, config, vec![]);
        assert_eq!(r.tags.keys().collect::<Vec<_>>(), ["Team", "awsx"]);
        assert_eq!(r.config["tags"], json!([{"key": "Team", "value": "mail"}]));
        assert_eq!(r.config["Targets"][0]["EcsParameters"]["Tags"], json!([]));
        assert_eq!(r.config["dockerLabels"], json!({"aws:not-a-tag": "kept"}));
        assert_eq!(r.reserved_tags_dropped, 4);
    }

    #[test]
    fn tags_added_later_are_filtered_the_same_way() {
        let mut r = Resource::new(
            ResourceKind::SsmParameter,
            "/p",
            "arn",
            None,
            BTreeMap::new(),
            json!({}),
            vec![],
        );
        let before = r.fingerprint.clone();
        r.add_tags(
            [("aws:cloudformation:stack-name", "s"), ("Team", "mail")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        assert_eq!(r.tags.keys().collect::<Vec<_>>(), ["Team"]);
        assert_eq!(r.reserved_tags_dropped, 1);
        assert_ne!(r.fingerprint, before);
    }

    #[test]
    fn what_moves_by_itself_leaves_the_fingerprint_and_what_is_copied_changes_it() {
        let bucket = |config: serde_json::Value| {
            let tags = BTreeMap::new();
            Resource::new(ResourceKind::S3Bucket, "b", "arn:aws:s3:::b", None, tags, config, vec![])
        };
        let before = bucket(json!({"Versioning": "Enabled", "ObjectCount": 3, "ObjectBytes": 10}));
        let written = bucket(json!({"Versioning": "Enabled", "ObjectCount": 9, "ObjectBytes": 99}));
        let suspended =
            bucket(json!({"Versioning": "Suspended", "ObjectCount": 3, "ObjectBytes": 10}));
        assert_eq!(before.fingerprint, written.fingerprint);
        assert_ne!(before.fingerprint, suspended.fingerprint);
        // The same member name in another kind is not volatile there.
        assert!(is_volatile(ResourceKind::SsmParameter, "Version"));
        assert!(!is_volatile(ResourceKind::Secret, "Version"));
    }

    #[test]
    fn the_prefix_is_matched_in_any_case_and_only_at_the_start() {
        assert!(is_reserved_tag_key("aws:x"));
        assert!(is_reserved_tag_key("AwS:x"));
        assert!(!is_reserved_tag_key("aws"));
        assert!(!is_reserved_tag_key("my-aws:x"));
        assert!(!is_reserved_tag_key("é"));
    }
}
