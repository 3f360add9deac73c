//! Which steps a review shows: `orgsplit show --account --kind --address`.

use orgsplit_model::plan::{AccountPlan, Plan, Step, StepKind};
use orgsplit_model::quote::cut;

/// A filter the command line got wrong: one line, and what to write instead when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub message: String,
    pub hint: Option<String>,
}

/// A selection of steps. Empty selects every step.
#[derive(Debug, Clone, Default)]
pub struct StepFilter {
    /// An account's name or id: only that account's steps (not the organization's, nor an
    /// OU's own).
    pub account: Option<String>,
    /// Only steps of these kinds (any of them).
    pub kinds: Vec<StepKind>,
    /// Only steps whose address matches this glob (`*` also matches `/`).
    pub address: Option<globset::GlobMatcher>,
}

impl StepFilter {
    /// Reads the command line's filters; the error names the flag and the value.
    pub fn parse(
        account: Option<&str>,
        kinds: &[String],
        address: Option<&str>,
    ) -> Result<StepFilter, FilterError> {
        let kinds = kinds
            .iter()
            .flat_map(|k| k.split(','))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|name| {
                serde_json::from_value::<StepKind>(serde_json::Value::String(name.to_string()))
                    .map_err(|e| {
                        // serde's message lists every kind: "unknown variant `x`, expected one
                        // of `org-trusted-access`, …".
                        let message = e.to_string();
                        let known = message.split_once("expected ").map(|(_, k)| k.to_string());
                        FilterError {
                            message: format!("--kind {}: not a step kind", cut(name)),
                            hint: known.map(|k| format!("step kinds: {}", k.replace('`', ""))),
                        }
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let address = address
            .map(|glob| {
                globset::Glob::new(glob).map(|g| g.compile_matcher()).map_err(|e| FilterError {
                    message: format!("--address {}: not a glob: {}", cut(glob), e.kind()),
                    hint: None,
                })
            })
            .transpose()?;
        Ok(StepFilter { account: account.map(str::to_string), kinds, address })
    }

    pub fn is_empty(&self) -> bool {
        self.account.is_none() && self.kinds.is_empty() && self.address.is_none()
    }

    /// An `--account` that names no account of the OUs shown (`ou`: one, or all) is an error,
    /// with the accounts those OUs have as its hint.
    pub fn check_against(&self, plan: &Plan, ou: Option<&str>) -> Result<(), FilterError> {
        let Some(wanted) = &self.account else { return Ok(()) };
        let accounts = || {
            plan.ous
                .iter()
                .filter(|o| ou.is_none_or(|only| only == o.name))
                .flat_map(|o| o.accounts.iter())
        };
        if accounts().any(|a| self.selects_account(a)) {
            return Ok(());
        }
        let known: Vec<&str> = accounts().map(|a| a.name.as_str()).collect();
        Err(FilterError {
            message: format!("--account {}: the plan has no such account", cut(wanted)),
            hint: Some(format!(
                "accounts: {} (by name; an account apply creates has no id in the plan)",
                cut(&known.join(", "))
            )),
        })
    }

    /// Whether steps outside any account (the organization's, an OU's own) can be selected.
    pub(crate) fn selects_outside_accounts(&self) -> bool {
        self.account.is_none()
    }

    pub(crate) fn selects_account(&self, account: &AccountPlan) -> bool {
        self.account
            .as_deref()
            .is_none_or(|a| a == account.name || account.account_id.as_deref() == Some(a))
    }

    pub(crate) fn selects_step(&self, step: &Step) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&step.kind()))
            && self.address.as_ref().is_none_or(|g| g.is_match(&step.address))
    }

    /// What the filter keeps, for the review's header.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(a) = &self.account {
            parts.push(format!("account {a}"));
        }
        if !self.kinds.is_empty() {
            let names: Vec<String> = self.kinds.iter().map(|k| kind_name(*k)).collect();
            parts.push(format!("kind {}", names.join(" or ")));
        }
        if let Some(g) = &self.address {
            parts.push(format!("address {}", g.glob()));
        }
        parts.join(", ")
    }
}

/// A step kind as the plan file spells it (`ssm-parameter`).
pub(crate) fn kind_name(kind: StepKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{kind:?}"),
    }
}
