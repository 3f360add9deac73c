//! Classification: which environment each resource belongs to, and why.
//!
//! 1. The first rule whose conditions all match decides (explicit beats inferred).
//! 2. A resource no rule matches takes the environments of the resources that use it,
//!    followed transitively: used by one environment, it goes there; used by two or more
//!    (or by a shared resource), it becomes `shared` and the plan says so.
//! 3. A standalone ECS task follows its task definition; it is never copied.
//! 4. Anything left is `unclassified`: apply refuses until a rule covers it.

use orgsplit_model::config::{Config, IGNORE, Rule, SHARED};
use orgsplit_model::plan::Warning;
use orgsplit_model::{Resource, ResourceKind};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use crate::refs::RefIndex;

pub const UNCLASSIFIED: &str = "unclassified";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// An OU environment, `shared`, `ignore` or `unclassified`.
    pub environment: Arc<str>,
    /// Shared: 100,000 resources have about 12,500 distinct reasons and a handful of
    /// environments (10 MB at that size, were each its own string), and a rule's is written
    /// once, not once per resource it matches.
    pub reason: Arc<str>,
}

/// One `Arc<str>` for each distinct string.
#[derive(Default)]
struct Strings(HashSet<Arc<str>>);

impl Strings {
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(kept) = self.0.get(s) {
            return kept.clone();
        }
        let kept: Arc<str> = s.into();
        self.0.insert(kept.clone());
        kept
    }
}

#[derive(Debug)]
pub struct Classified {
    pub per_resource: Vec<Classification>,
    /// For each resource, the indices of the resources it references (resolved).
    pub references: Vec<Vec<usize>>,
    pub warnings: Vec<Warning>,
}

/// The name a rule's `name_pattern` is matched against.
pub fn match_name(r: &Resource) -> &str {
    if r.kind == ResourceKind::Other {
        // The resource's own id, not the whole ARN: `prod-mail-outbox` in an SQS queue's ARN.
        let resource = r.arn.splitn(6, ':').nth(5).unwrap_or(&r.arn);
        return resource.rsplit(['/', ':']).next().unwrap_or(resource);
    }
    &r.name
}

fn rule_matches(rule: &Rule, r: &Resource) -> bool {
    if let Some(tag) = &rule.tag {
        match r.tags.get(&tag.key) {
            Some(v) if tag.values.iter().any(|want| want == v) => {}
            _ => return false,
        }
    }
    if let Some(re) = &rule.name_pattern
        && !re.is_match(match_name(r))
    {
        return false;
    }
    if !rule.kinds.is_empty() && !rule.kinds.contains(&r.kind) {
        return false;
    }
    true
}

fn first_rule<'c>(config: &'c Config, r: &Resource) -> Option<&'c Rule> {
    config.rules.iter().find(|rule| rule_matches(rule, r))
}

/// Lists up to three labels, then how many more.
fn summarise(labels: &[String]) -> String {
    const SHOWN: usize = 3;
    if labels.len() <= SHOWN {
        labels.join(", ")
    } else {
        format!("{} and {} more", labels[..SHOWN].join(", "), labels.len() - SHOWN)
    }
}

pub fn classify(config: &Config, resources: &[Resource]) -> Classified {
    classify_with(config, resources, &RefIndex::new(resources))
}

/// [`classify`] with the inventory's index already built.
pub(crate) fn classify_with(
    config: &Config,
    resources: &[Resource],
    index: &RefIndex<'_>,
) -> Classified {
    let home = config.home_region.as_str();
    let references: Vec<Vec<usize>> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut targets: Vec<usize> = r
                .references
                .iter()
                .filter_map(|x| index.resolve(&x.arn))
                .filter(|&t| t != i)
                .collect();
            targets.sort_unstable();
            targets.dedup();
            targets
        })
        .collect();
    let mut referrers: Vec<Vec<usize>> = vec![Vec::new(); resources.len()];
    for (i, targets) in references.iter().enumerate() {
        // A running task uses things but does not pull them into an environment.
        if resources[i].kind == ResourceKind::EcsTask {
            continue;
        }
        for &t in targets {
            referrers[t].push(i);
        }
    }

    let ruled: Vec<Option<&Rule>> = resources.iter().map(|r| first_rule(config, r)).collect();

    // Fixed point over "environments of my users"; the sets only grow, so it ends.
    let mut inferred: Vec<BTreeSet<String>> = vec![BTreeSet::new(); resources.len()];
    loop {
        let mut changed = false;
        for i in 0..resources.len() {
            if ruled[i].is_some() || resources[i].kind == ResourceKind::EcsTask {
                continue;
            }
            let mut envs = BTreeSet::new();
            for &p in &referrers[i] {
                match ruled[p] {
                    Some(rule) if rule.environment == IGNORE => {}
                    Some(rule) => {
                        envs.insert(rule.environment.clone());
                    }
                    None => envs.extend(inferred[p].iter().cloned()),
                }
            }
            if envs != inferred[i] {
                inferred[i] = envs;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    let mut strings = Strings::default();
    // Each rule's environment and reason, written once.
    let by_rule: Vec<(Arc<str>, Arc<str>)> = config
        .rules
        .iter()
        .map(|rule| (strings.get(&rule.environment), strings.get(&rule.describe())))
        .collect();
    let rule_number = |rule: &Rule| {
        config.rules.iter().position(|r| std::ptr::eq(r, rule)).expect("one of the rules")
    };
    let unclassified = strings.get(UNCLASSIFIED);
    let mut warnings = Vec::new();
    let mut per_resource: Vec<Classification> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if let Some(rule) = ruled[i] {
                let (environment, reason) = by_rule[rule_number(rule)].clone();
                return Classification { environment, reason };
            }
            if r.kind == ResourceKind::EcsTask {
                return Classification {
                    environment: unclassified.clone(),
                    reason: strings.get(""),
                };
            }
            let envs = &inferred[i];
            let users: Vec<String> =
                referrers[i].iter().map(|&p| resources[p].label(home)).collect();
            match envs.len() {
                0 => Classification {
                    environment: unclassified.clone(),
                    reason: strings.get("no rule matches and nothing classified uses it"),
                },
                1 => Classification {
                    reason: strings.get(&format!("used by {}", summarise(&users))),
                    environment: strings.get(envs.iter().next().expect("one")),
                },
                _ => {
                    let named: Vec<&str> =
                        envs.iter().map(String::as_str).filter(|e| *e != SHARED).collect();
                    if named.len() >= 2 {
                        let outcome = if r.kind == ResourceKind::EcrRepository {
                            "it stays in the source account and every environment gets pull access"
                        } else {
                            "copied into every environment as shared"
                        };
                        warnings.push(Warning {
                            subject: Some(r.label(home)),
                            message: format!(
                                "used by {} ({}): {outcome}",
                                named.join(" and "),
                                summarise(&users)
                            ),
                        });
                    }
                    Classification {
                        environment: strings.get(SHARED),
                        reason: strings.get(&format!("shared: used by {}", summarise(&users))),
                    }
                }
            }
        })
        .collect();

    // Tasks follow their task definition (after the others are settled).
    for (i, r) in resources.iter().enumerate() {
        if r.kind != ResourceKind::EcsTask || ruled[i].is_some() {
            continue;
        }
        if let Some(&td) =
            references[i].iter().find(|&&t| resources[t].kind == ResourceKind::EcsTaskDefinition)
        {
            let env = per_resource[td].environment.clone();
            per_resource[i] = Classification {
                environment: env,
                reason: strings.get(&format!("runs {}", resources[td].label(home))),
            };
        } else {
            per_resource[i].reason =
                strings.get("its task definition is not in the inventory and no rule matches");
        }
    }

    // A user in one environment of something left in another: its copy would point back at
    // the source account.
    for (i, targets) in references.iter().enumerate() {
        let user_env = &*per_resource[i].environment;
        if resources[i].kind == ResourceKind::EcsTask || [IGNORE, UNCLASSIFIED].contains(&user_env)
        {
            continue;
        }
        for &t in targets {
            let used_env = &*per_resource[t].environment;
            if used_env == SHARED || used_env == user_env || used_env == IGNORE {
                continue;
            }
            warnings.push(Warning {
                subject: Some(resources[i].label(home)),
                message: format!(
                    "{} ({user_env}) uses {} ({used_env}): that reference keeps pointing at the source account",
                    resources[i].label(home),
                    resources[t].label(home)
                ),
            });
        }
    }
    warnings.sort();
    warnings.dedup();
    Classified { per_resource, references, warnings }
}
