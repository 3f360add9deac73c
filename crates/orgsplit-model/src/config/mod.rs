//! `orgsplit.toml`: parsing and validation.
//!
//! Every error names the file, the line and the key, because the person fixing it has the
//! file open in an editor. Parsing goes through `toml::Spanned` for every value a semantic
//! check can reject, so a rejected value points at its own line.

use regex::Regex;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::kind::ResourceKind;

mod buckets;
mod connection;
mod limits;
pub use connection::{DEFAULT_CONNECTION_NAME, RAM_PRINCIPAL};
pub use limits::{LIMITED_SERVICES, Limit, Limits};
mod raw;
mod validate;

use self::raw::RawConfig;
use self::validate::{Cx, validate};

/// The only configuration format this orgsplit reads.
pub const CONFIG_VERSION: i64 = 1;

/// Why `_` is refused in OU names that have StackSets and in StackSet folder names.
const STACKSET_NAME_HINT: &str = "StackSet names allow only letters, digits and '-' (CloudFormation CreateStackSet): use '-' instead of '_'";

/// The environment names with a meaning of their own.
pub const SHARED: &str = "shared";
pub const IGNORE: &str = "ignore";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub key: String,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.key,
            self.message
        )
    }
}

impl std::error::Error for ConfigError {}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    /// `sha256:` of the file's bytes, recorded in the plan.
    pub digest: String,
    pub home_region: String,
    pub regions: Vec<String>,
    pub access_role: String,
    pub source_account_id: String,
    pub copy_objects: bool,
    pub ous: Vec<OuConfig>,
    pub accounts: Vec<AccountConfig>,
    pub rules: Vec<Rule>,
    pub guardrails: Guardrails,
    pub networks: BTreeMap<String, NetworkMapping>,
    /// `[bucket_names]`: the copy's name of a source bucket, by source name, instead of the
    /// generated `NAME-ACCOUNT`.
    pub bucket_names: BTreeMap<String, BucketNameOverride>,
    /// `[connection]`: the organization's one GitHub connection.
    pub connection: ConnectionConfig,
    /// `[trigger]`: where the new-account trigger's events come from.
    pub trigger: TriggerConfig,
    /// `[limits]`: orgsplit's own request rates.
    pub limits: Limits,
}

/// `[trigger]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TriggerConfig {
    /// Control Tower's home Region, when the organization has a landing zone: its lifecycle
    /// events (`CreateManagedAccount`, `UpdateManagedAccount`) are delivered there only, so
    /// `trigger install` forwards them to us-east-1 from there.
    pub control_tower_home_region: Option<String>,
}

/// The organization's GitHub connection: created once in its owner's account, shared
/// through AWS RAM with every account whose pipelines use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionConfig {
    pub owner: ConnectionOwner,
    /// 1 to 32 characters; `orgsplit-github` by default.
    pub name: String,
}

impl ConnectionConfig {
    /// The owner's account id, given the organization's management account.
    pub fn owner_id<'a>(&'a self, management: &'a str, source: &'a str) -> &'a str {
        match &self.owner {
            ConnectionOwner::Management => management,
            ConnectionOwner::Source => source,
            ConnectionOwner::Account(id) => id,
        }
    }
}

/// Which account owns the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionOwner {
    /// The organization's management account (the default): it outlives the split, and
    /// orgsplit already acts there.
    Management,
    /// The shared source account.
    Source,
    /// Another account of the organization (a shared-services or tooling account).
    Account(String),
}

/// The name a bucket's copy takes, as `[bucket_names]` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketNameOverride {
    /// One name: for a bucket copied into one environment only (names are global).
    One(String),
    /// A name per environment the bucket is copied into.
    PerEnvironment(BTreeMap<String, String>),
}

impl BucketNameOverride {
    /// The copy's name in `environment`'s workloads account, if the override gives one.
    pub fn for_environment(&self, environment: &str) -> Option<&str> {
        match self {
            BucketNameOverride::One(name) => Some(name),
            BucketNameOverride::PerEnvironment(names) => names.get(environment).map(String::as_str),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OuConfig {
    pub name: String,
    pub environment: String,
    pub admin_account: AdminAccount,
    pub stacksets: Vec<String>,
    /// Where each of `stacksets` is written in the file: (line, column), for errors found
    /// later (a folder that does not exist).
    pub stackset_positions: Vec<(usize, usize)>,
}

/// An OU's admin account: one of the configured accounts, or an existing account by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAccount {
    Named(String),
    Id(String),
}

impl Config {
    /// An error about the `j`-th StackSet folder of the `i`-th OU, pointing at it in the file.
    pub fn stackset_error(
        &self,
        i: usize,
        j: usize,
        message: String,
        hint: Option<String>,
    ) -> ConfigError {
        let (line, column) = self.ous[i].stackset_positions.get(j).copied().unwrap_or((1, 1));
        ConfigError {
            path: self.path.clone(),
            line,
            column,
            key: format!("ou[{i}].stacksets[{j}]"),
            message,
            hint,
        }
    }
}

impl fmt::Display for AdminAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminAccount::Named(n) | AdminAccount::Id(n) => f.write_str(n),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountConfig {
    pub name: String,
    pub email: String,
    pub ou: String,
    pub workloads: bool,
}

/// One classification rule. A rule matches when every condition it has matches.
#[derive(Debug, Clone)]
pub struct Rule {
    /// 1-based position in the file: "rule 3" in the review.
    pub number: usize,
    pub environment: String,
    pub tag: Option<TagCondition>,
    pub name_pattern: Option<Regex>,
    pub kinds: Vec<ResourceKind>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCondition {
    pub key: String,
    pub values: Vec<String>,
}

impl Rule {
    /// How the review explains a match: `rule 5: name matches '…'`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(tag) = &self.tag {
            if tag.values.len() == 1 {
                parts.push(format!("tag {}={}", tag.key, tag.values[0]));
            } else {
                parts.push(format!("tag {} in [{}]", tag.key, tag.values.join(", ")));
            }
        }
        if let Some(re) = &self.name_pattern {
            parts.push(format!("name matches '{}'", re.as_str()));
        }
        if !self.kinds.is_empty() {
            let kinds: Vec<&str> = self.kinds.iter().map(|k| k.as_str()).collect();
            parts.push(format!("kind in [{}]", kinds.join(", ")));
        }
        format!("rule {}: {}", self.number, parts.join(" and "))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Guardrails {
    pub monthly_budget_usd: Option<f64>,
    pub budget_email: Option<String>,
    pub max_task_hours: u32,
    pub protected_tag_keys: Vec<String>,
}

/// Where an environment's ECS services run in the target account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkMapping {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

impl Config {
    pub fn ou(&self, name: &str) -> Option<&OuConfig> {
        self.ous.iter().find(|o| o.name == name)
    }

    pub fn account(&self, name: &str) -> Option<&AccountConfig> {
        self.accounts.iter().find(|a| a.name == name)
    }

    /// The environments that own an OU, in file order.
    pub fn environments(&self) -> Vec<&str> {
        self.ous.iter().map(|o| o.environment.as_str()).collect()
    }

    /// The OU whose workloads are `environment`.
    pub fn ou_for_environment(&self, environment: &str) -> Option<&OuConfig> {
        self.ous.iter().find(|o| o.environment == environment)
    }

    /// The account of an OU that receives its environment's workloads.
    pub fn workloads_account(&self, ou: &str) -> Option<&AccountConfig> {
        self.accounts.iter().find(|a| a.ou == ou && a.workloads)
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            key: "(file)".into(),
            message: format!("cannot read: {e}"),
            hint: Some("pass --config PATH, or run `orgsplit init` to write an example".into()),
        })?;
        Config::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let cx = Cx { path, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;
        validate(&cx, raw)
    }
}
