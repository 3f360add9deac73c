//! Validation of the configuration: every error names the file, line and key.

use crate::canonical::sha256_hex;
use crate::is_account_id;
use crate::kind::ResourceKind;
use crate::quote::quote;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

use super::raw::*;
use super::*;

pub(super) struct Cx<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
}

impl Cx<'_> {
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
        (line, column)
    }

    pub(super) fn err(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        let (line, column) = self.line_col(span.start);
        ConfigError {
            path: self.path.to_path_buf(),
            line,
            column,
            key: key.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub(super) fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim().to_string();
        // For an unknown or missing field toml points at the key or its table; name it.
        let snippet = self.text.get(span.clone()).unwrap_or("").trim();
        let key = if let Some(field) = between(&message, "unknown field `", "`") {
            field.to_string()
        } else if let Some(field) = between(&message, "missing field `", "`") {
            field.to_string()
        } else if let Some(key) = self.key_before(span.start) {
            // A value of the wrong type (`version = "1"`): toml points at the value.
            key
        } else if !snippet.is_empty() && snippet.len() < 60 && !snippet.contains('\n') {
            snippet.to_string()
        } else {
            "(syntax)".to_string()
        };
        self.err(span, key, message)
    }
}

impl Cx<'_> {
    /// The key of a `key = value` line when `offset` falls in its value.
    fn key_before(&self, offset: usize) -> Option<String> {
        let start = self.text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
        let line = self.text.get(start..offset)?;
        let (key, _) = line.split_once('=')?;
        let key = key.trim().trim_matches('"');
        (!key.is_empty() && !key.contains(['[', ']', '#', '\'']) && key.len() < 60)
            .then(|| key.to_string())
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

fn is_region(s: &str) -> bool {
    static_regex(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$").is_match(s)
}

fn is_email(s: &str) -> bool {
    // What AWS Organizations accepts, roughly: one @, a dotted domain, no spaces.
    static_regex(r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$").is_match(s) && s.len() <= 64
}

fn is_simple_name(s: &str) -> bool {
    static_regex(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$").is_match(s)
}

fn static_regex(pattern: &str) -> Regex {
    // The handful of fixed patterns above; compiling them per call is cheap next to IO.
    Regex::new(pattern).expect("fixed pattern")
}

/// `regions`: at least one, each an AWS Region, none twice.
fn regions(cx: &Cx<'_>, raw: &Spanned<Vec<Spanned<String>>>) -> Result<Vec<String>, ConfigError> {
    let region_list = raw.get_ref();
    if region_list.is_empty() {
        return Err(cx.err(raw.span(), "regions", "at least one region is required"));
    }
    let mut regions = Vec::new();
    for (i, r) in region_list.iter().enumerate() {
        if !is_region(r.get_ref()) {
            return Err(cx.err(
                r.span(),
                format!("regions[{i}]"),
                format!("{:?} is not an AWS region", r.get_ref()),
            ));
        }
        if regions.contains(r.get_ref()) {
            return Err(cx.err(
                r.span(),
                format!("regions[{i}]"),
                format!("region {:?} is listed twice", r.get_ref()),
            ));
        }
        regions.push(r.get_ref().clone());
    }
    Ok(regions)
}

/// `[[rule]]`s: each names a known environment (or `shared`, `ignore`), a tag or a name
/// pattern that compiles, and known kinds.
fn rules(
    cx: &Cx<'_>,
    raw: &[Spanned<RawRule>],
    environments: &BTreeSet<String>,
) -> Result<Vec<Rule>, ConfigError> {
    let mut rules = Vec::new();
    for (i, rule_spanned) in raw.iter().enumerate() {
        let r = rule_spanned.get_ref();
        let env = r.environment.get_ref();
        if !environments.contains(env) && env != SHARED && env != IGNORE {
            let known: Vec<&str> =
                environments.iter().map(String::as_str).chain([SHARED, IGNORE]).collect();
            return Err(cx.err(
                r.environment.span(),
                format!("rule[{i}].environment"),
                format!("{env:?} is not an OU's environment (one of: {})", known.join(", ")),
            ));
        }
        if r.tag.is_none() && r.name_pattern.is_none() && r.kinds.is_empty() {
            return Err(cx.err(
                rule_spanned.span(),
                format!("rule[{i}]"),
                "a rule needs at least one of `tag`, `name_pattern`, `kinds`",
            ));
        }
        let tag = match &r.tag {
            Some(t) => {
                let t = t.get_ref();
                if t.key.get_ref().is_empty() {
                    return Err(cx.err(
                        t.key.span(),
                        format!("rule[{i}].tag.key"),
                        "must not be empty",
                    ));
                }
                if t.values.get_ref().is_empty() {
                    return Err(cx.err(
                        t.values.span(),
                        format!("rule[{i}].tag.values"),
                        "at least one value is required",
                    ));
                }
                Some(TagCondition {
                    key: t.key.get_ref().clone(),
                    values: t.values.get_ref().clone(),
                })
            }
            None => None,
        };
        let name_pattern = match &r.name_pattern {
            Some(p) => match Regex::new(p.get_ref()) {
                Ok(re) => Some(re),
                Err(e) => {
                    let detail =
                        e.to_string().lines().last().unwrap_or("invalid").trim().to_string();
                    return Err(cx.err(
                        p.span(),
                        format!("rule[{i}].name_pattern"),
                        format!("invalid regex {:?}: {detail}", p.get_ref()),
                    ));
                }
            },
            None => None,
        };
        let mut kinds = Vec::new();
        for (j, k) in r.kinds.iter().enumerate() {
            match ResourceKind::parse(k.get_ref()) {
                Some(kind) => kinds.push(kind),
                None => {
                    let known: Vec<&str> = ResourceKind::ALL.iter().map(|k| k.as_str()).collect();
                    return Err(cx.err(
                        k.span(),
                        format!("rule[{i}].kinds[{j}]"),
                        format!("unknown kind {:?} (one of: {})", k.get_ref(), known.join(", ")),
                    ));
                }
            }
        }
        rules.push(Rule { number: i + 1, environment: env.clone(), tag, name_pattern, kinds });
    }
    Ok(rules)
}

/// `[guardrails]`: a budget with its alert e-mail, the longest a standalone task may run,
/// protected tag keys.
fn guardrails(cx: &Cx<'_>, raw: Option<RawGuardrails>) -> Result<Guardrails, ConfigError> {
    Ok(match raw {
        None => Guardrails {
            monthly_budget_usd: None,
            budget_email: None,
            max_task_hours: 24,
            protected_tag_keys: Vec::new(),
        },
        Some(g) => {
            if let Some(b) = &g.monthly_budget_usd
                && !(*b.get_ref() > 0.0 && b.get_ref().is_finite())
            {
                return Err(cx.err(
                    b.span(),
                    "guardrails.monthly_budget_usd",
                    "must be a positive amount",
                ));
            }
            if let Some(e) = &g.budget_email
                && !is_email(e.get_ref())
            {
                return Err(cx.err(
                    e.span(),
                    "guardrails.budget_email",
                    format!("{:?} is not a valid e-mail address", e.get_ref()),
                ));
            }
            if let (Some(b), None) = (&g.monthly_budget_usd, &g.budget_email) {
                return Err(cx.err(
                    b.span(),
                    "guardrails.budget_email",
                    "a budget needs `budget_email` for its alert",
                ));
            }
            let max_task_hours = match &g.max_task_hours {
                Some(h) if *h.get_ref() <= 0 || *h.get_ref() > 24 * 365 => {
                    return Err(cx.err(
                        h.span(),
                        "guardrails.max_task_hours",
                        "must be between 1 and 8760",
                    ));
                }
                Some(h) => *h.get_ref() as u32,
                None => 24,
            };
            let mut keys = Vec::new();
            for (i, k) in g.protected_tag_keys.iter().enumerate() {
                if k.get_ref().is_empty() || keys.contains(k.get_ref()) {
                    return Err(cx.err(
                        k.span(),
                        format!("guardrails.protected_tag_keys[{i}]"),
                        "empty or duplicate tag key",
                    ));
                }
                keys.push(k.get_ref().clone());
            }
            Guardrails {
                monthly_budget_usd: g.monthly_budget_usd.map(|b| *b.get_ref()),
                budget_email: g.budget_email.map(|e| e.get_ref().clone()),
                max_task_hours,
                protected_tag_keys: keys,
            }
        }
    })
}

/// `[[network]]`s: at most one per environment, with at least one subnet.
fn networks(
    cx: &Cx<'_>,
    raw: &[Spanned<RawNetwork>],
    environments: &BTreeSet<String>,
) -> Result<BTreeMap<String, NetworkMapping>, ConfigError> {
    let mut networks = BTreeMap::new();
    for (i, n) in raw.iter().enumerate() {
        let n = n.get_ref();
        let env = n.environment.get_ref();
        if !environments.contains(env) {
            return Err(cx.err(
                n.environment.span(),
                format!("network[{i}].environment"),
                format!("{env:?} is not an OU's environment"),
            ));
        }
        if n.subnets.get_ref().is_empty() {
            return Err(cx.err(
                n.subnets.span(),
                format!("network[{i}].subnets"),
                "at least one subnet is required",
            ));
        }
        if networks.contains_key(env) {
            return Err(cx.err(
                n.environment.span(),
                format!("network[{i}].environment"),
                format!("environment {env:?} already has a network"),
            ));
        }
        networks.insert(
            env.clone(),
            NetworkMapping {
                subnets: n.subnets.get_ref().clone(),
                security_groups: n.security_groups.clone(),
                assign_public_ip: n.assign_public_ip,
            },
        );
    }
    Ok(networks)
}

pub(super) fn validate(cx: &Cx<'_>, raw: RawConfig) -> Result<Config, ConfigError> {
    if *raw.version.get_ref() != CONFIG_VERSION {
        return Err(cx.err(
            raw.version.span(),
            "version",
            format!(
                "unsupported config version {} (this orgsplit reads version {CONFIG_VERSION})",
                raw.version.get_ref()
            ),
        ));
    }
    if !is_region(raw.home_region.get_ref()) {
        return Err(cx.err(
            raw.home_region.span(),
            "home_region",
            format!("{:?} is not an AWS region", raw.home_region.get_ref()),
        ));
    }
    let regions = regions(cx, &raw.regions)?;
    let access_role = match &raw.access_role {
        Some(r) if r.get_ref().trim().is_empty() => {
            return Err(cx.err(r.span(), "access_role", "must not be empty"));
        }
        Some(r) => r.get_ref().clone(),
        None => "OrganizationAccountAccessRole".to_string(),
    };
    let source = raw.source.get_ref();
    if !is_account_id(source.account_id.get_ref()) {
        return Err(cx.err(
            source.account_id.span(),
            "source.account_id",
            format!("{:?} is not a 12-digit account id", source.account_id.get_ref()),
        ));
    }

    // OUs first (names only), so accounts can refer to them.
    let mut ou_names = BTreeSet::new();
    let mut environments = BTreeSet::new();
    for (i, ou) in raw.ous.iter().enumerate() {
        let ou = ou.get_ref();
        let name = ou.name.get_ref();
        if !is_simple_name(name) {
            return Err(cx.err(
                ou.name.span(),
                format!("ou[{i}].name"),
                format!("{name:?} is not a valid name (letters, digits, '-' and '_')"),
            ));
        }
        if !ou_names.insert(name.clone()) {
            return Err(cx.err(
                ou.name.span(),
                format!("ou[{i}].name"),
                format!("duplicate OU name {name:?}"),
            ));
        }
        // A StackSet is named `orgsplit-FOLDER-OU`, and CloudFormation allows only
        // `[a-zA-Z][-a-zA-Z0-9]*` up to 128 characters (CreateStackSet, StackSetName).
        if !ou.stacksets.is_empty() && name.contains('_') {
            let mut e = cx.err(
                ou.name.span(),
                format!("ou[{i}].name"),
                format!(
                    "{} cannot be part of a StackSet name (orgsplit-FOLDER-{name})",
                    quote(name)
                ),
            );
            e.hint = Some(STACKSET_NAME_HINT.into());
            return Err(e);
        }
        let env = ou.environment.get_ref();
        if !is_simple_name(env) || env == SHARED || env == IGNORE {
            return Err(cx.err(
                ou.environment.span(),
                format!("ou[{i}].environment"),
                format!(
                    "{env:?} cannot be an OU's environment ('shared' and 'ignore' are reserved)"
                ),
            ));
        }
        if !environments.insert(env.clone()) {
            return Err(cx.err(
                ou.environment.span(),
                format!("ou[{i}].environment"),
                format!("environment {env:?} already belongs to another OU"),
            ));
        }
    }
    if raw.ous.is_empty() {
        return Err(cx.err(0..0, "ou", "at least one [[ou]] is required"));
    }

    let mut accounts = Vec::new();
    let mut account_names = BTreeSet::new();
    let mut emails = BTreeSet::new();
    for (i, acc) in raw.accounts.iter().enumerate() {
        let a = acc.get_ref();
        let name = a.name.get_ref();
        if !is_simple_name(name) || name.len() > 50 {
            return Err(cx.err(
                a.name.span(),
                format!("account[{i}].name"),
                format!(
                    "{} is not a valid account name (letters, digits, '-' and '_', at most 50: Organizations' AccountName limit)",
                    quote(name)
                ),
            ));
        }
        if !account_names.insert(name.clone()) {
            return Err(cx.err(
                a.name.span(),
                format!("account[{i}].name"),
                format!("duplicate account name {name:?}"),
            ));
        }
        let email = a.email.get_ref();
        if !is_email(email) {
            return Err(cx.err(
                a.email.span(),
                format!("account[{i}].email"),
                format!("{email:?} is not a valid e-mail address"),
            ));
        }
        if !emails.insert(email.to_ascii_lowercase()) {
            return Err(cx.err(
                a.email.span(),
                format!("account[{i}].email"),
                format!("e-mail {email:?} is used by another account"),
            ));
        }
        if !ou_names.contains(a.ou.get_ref()) {
            return Err(cx.err(
                a.ou.span(),
                format!("account[{i}].ou"),
                format!("{:?} names no [[ou]]", a.ou.get_ref()),
            ));
        }
        accounts.push(AccountConfig {
            name: name.clone(),
            email: email.clone(),
            ou: a.ou.get_ref().clone(),
            workloads: a.workloads,
        });
    }

    let mut ous = Vec::new();
    for (i, ou_spanned) in raw.ous.iter().enumerate() {
        let ou = ou_spanned.get_ref();
        let name = ou.name.get_ref().clone();
        let admin = ou.admin_account.get_ref();
        let admin_account = if account_names.contains(admin) {
            AdminAccount::Named(admin.clone())
        } else if is_account_id(admin) {
            AdminAccount::Id(admin.clone())
        } else {
            let mut e = cx.err(
                ou.admin_account.span(),
                format!("ou[{i}].admin_account"),
                format!("{admin:?} names no [[account]] and is not a 12-digit account id"),
            );
            e.hint =
                Some("name an [[account]] of this file, or give the admin account's id".into());
            return Err(e);
        };
        let mut stacksets = Vec::new();
        for (j, s) in ou.stacksets.iter().enumerate() {
            if !is_simple_name(s.get_ref()) || s.get_ref().contains('_') {
                let mut e = cx.err(
                    s.span(),
                    format!("ou[{i}].stacksets[{j}]"),
                    format!("{} is not a valid StackSet folder name", quote(s.get_ref())),
                );
                e.hint = Some(STACKSET_NAME_HINT.into());
                return Err(e);
            }
            if stacksets.contains(s.get_ref()) {
                return Err(cx.err(
                    s.span(),
                    format!("ou[{i}].stacksets[{j}]"),
                    format!("{:?} is listed twice", s.get_ref()),
                ));
            }
            stacksets.push(s.get_ref().clone());
        }
        let workloads: Vec<_> = raw
            .accounts
            .iter()
            .filter(|a| a.get_ref().ou.get_ref() == &name && a.get_ref().workloads)
            .collect();
        match workloads.len() {
            1 => {}
            0 => {
                let mut e = cx.err(
                    ou.name.span(),
                    format!("ou[{i}]"),
                    format!("OU {name:?} has no account with `workloads = true`"),
                );
                e.hint =
                    Some("exactly one account per OU receives its environment's workloads".into());
                return Err(e);
            }
            _ => {
                let second = workloads[1];
                let idx = raw.accounts.iter().position(|a| std::ptr::eq(a, second)).unwrap_or(0);
                return Err(cx.err(
                    second.span(),
                    format!("account[{idx}].workloads"),
                    format!("OU {name:?} already has a workloads account; exactly one is allowed"),
                ));
            }
        }
        ous.push(OuConfig {
            name,
            environment: ou.environment.get_ref().clone(),
            admin_account,
            stackset_positions: ou.stacksets.iter().map(|s| cx.line_col(s.span().start)).collect(),
            stacksets,
        });
    }

    let rules = rules(cx, &raw.rules, &environments)?;

    let guardrails = guardrails(cx, raw.guardrails)?;

    let networks = networks(cx, &raw.networks, &environments)?;

    let bucket_names = super::buckets::bucket_names(cx, &raw.bucket_names, &environments)?;

    let connection = super::connection::connection(cx, raw.connection)?;

    let limits = super::limits::limits(cx, raw.limits)?;

    let trigger = match raw.trigger.and_then(|t| t.control_tower_home_region) {
        Some(r) if !is_region(r.get_ref()) => {
            return Err(cx.err(
                r.span(),
                "trigger.control_tower_home_region",
                format!("{} is not an AWS region", quote(r.get_ref())),
            ));
        }
        r => TriggerConfig { control_tower_home_region: r.map(Spanned::into_inner) },
    };

    Ok(Config {
        path: cx.path.to_path_buf(),
        digest: sha256_hex(cx.text.as_bytes()),
        home_region: raw.home_region.get_ref().clone(),
        regions,
        access_role,
        source_account_id: source.account_id.get_ref().clone(),
        copy_objects: raw.copy_objects,
        ous,
        accounts,
        rules,
        guardrails,
        networks,
        bucket_names,
        connection,
        trigger,
        limits,
    })
}
