//! The `stacksets/` catalog: the StackSets orgsplit ships (built into the binary) and the
//! folders beside a config that add to or override them.
//!
//! Architecture Invariant: the StackSet reconcile that apply and the trigger share lives
//! here ([`reconcile`]); this crate knows templates and their parameters, not plans.

pub mod reconcile;
pub mod template;

use orgsplit_model::stackset::{
    ConcurrencyMode, OperationPreferences, ParameterSource, RegionConcurrency, StackSetSpec,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A StackSet shipped with orgsplit.
pub struct Shipped {
    pub name: &'static str,
    pub template: &'static str,
    pub stackset_toml: &'static str,
}

pub const SHIPPED: &[Shipped] = &[Shipped {
    name: "baseline",
    template: include_str!("../../../stacksets/baseline/template.yaml"),
    stackset_toml: include_str!("../../../stacksets/baseline/stackset.toml"),
}];

/// The trigger's own template (a plain CloudFormation stack in the management account, not a
/// StackSet): `orgsplit init` writes it beside the StackSets, where docs/trigger.md says it is.
pub const TRIGGER_TEMPLATE: &str = include_str!("../../../stacksets/trigger/template.yaml");
/// The trigger's Control Tower part: a stack in Control Tower's home Region forwarding its
/// lifecycle events to us-east-1 (what `trigger install` makes with
/// `[trigger] control_tower_home_region`).
pub const TRIGGER_CONTROL_TOWER_FORWARD_TEMPLATE: &str =
    include_str!("../../../stacksets/trigger-control-tower-forward/template.yaml");

/// The names of the StackSets shipped with orgsplit.
pub fn shipped_names() -> Vec<&'static str> {
    SHIPPED.iter().map(|s| s.name).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("StackSet {name:?} is neither shipped with orgsplit nor a folder {dir}/{name}/")]
    Unknown { name: String, dir: PathBuf },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StackSetToml {
    description: String,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    parameters: BTreeMap<String, ParameterToml>,
    #[serde(default)]
    operation: Option<OperationToml>,
}

/// `[operation]`: every key optional, the others keep orgsplit's defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationToml {
    max_concurrent_percentage: Option<u8>,
    failure_tolerance_percentage: Option<u8>,
    region_concurrency: Option<RegionConcurrency>,
    concurrency_mode: Option<ConcurrencyMode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParameterToml {
    from: Option<String>,
    value: Option<String>,
}

fn parse(
    name: &str,
    path: &Path,
    toml_text: &str,
    template: &str,
) -> Result<StackSetSpec, CatalogError> {
    let invalid = |message: String| CatalogError::Invalid { path: path.to_path_buf(), message };
    let raw: StackSetToml =
        toml::from_str(toml_text).map_err(|e| invalid(e.message().to_string()))?;
    let mut parameters = BTreeMap::new();
    for (key, p) in raw.parameters {
        let source = match (p.from.as_deref(), p.value) {
            (Some("ou.admin_account_id"), None) => ParameterSource::OuAdminAccountId,
            (Some("organization.id"), None) => ParameterSource::OrganizationId,
            (Some("ou.name"), None) => ParameterSource::OuName,
            (Some("ou.environment"), None) => ParameterSource::Environment,
            (None, Some(v)) => ParameterSource::Value(v),
            (Some(other), None) => {
                return Err(invalid(format!("parameters.{key}: unknown source {other:?}")));
            }
            _ => {
                return Err(invalid(format!(
                    "parameters.{key}: give exactly one of `from` and `value`"
                )));
            }
        };
        if !template.contains(&format!("\n  {key}:")) {
            return Err(invalid(format!(
                "parameters.{key}: the template declares no such parameter"
            )));
        }
        parameters.insert(key, source);
    }
    let mut operation = OperationPreferences::default();
    if let Some(op) = raw.operation {
        if let Some(p) = op.max_concurrent_percentage {
            if !(1..=100).contains(&p) {
                return Err(invalid(format!(
                    "operation.max_concurrent_percentage: {p} is not between 1 and 100"
                )));
            }
            operation.max_concurrent_percentage = p;
        }
        if let Some(p) = op.failure_tolerance_percentage {
            if p > 100 {
                return Err(invalid(format!(
                    "operation.failure_tolerance_percentage: {p} is not between 0 and 100"
                )));
            }
            operation.failure_tolerance_percentage = p;
        }
        operation.region_concurrency =
            op.region_concurrency.unwrap_or(operation.region_concurrency);
        operation.concurrency_mode = op.concurrency_mode.unwrap_or(operation.concurrency_mode);
    }
    Ok(StackSetSpec {
        template: name.to_string(),
        description: raw.description,
        template_digest: orgsplit_model::canonical::sha256_hex(template.as_bytes()),
        template_body: template.to_string(),
        capabilities: raw.capabilities,
        parameters,
        operation,
    })
}

/// A resolved catalog entry with its template text.
#[derive(Debug, Clone)]
pub struct Entry {
    pub spec: StackSetSpec,
    pub template: String,
}

/// Resolves `names`: a folder `dir/NAME/` (template.yaml + stackset.toml) wins over the
/// shipped default of the same name.
pub fn resolve(dir: &Path, names: &[String]) -> Result<Vec<Entry>, CatalogError> {
    let mut out = Vec::new();
    for name in names {
        let folder = dir.join(name);
        let entry = if folder.is_dir() {
            let read = |file: &str| {
                let path = folder.join(file);
                std::fs::read_to_string(&path).map_err(|source| CatalogError::Io { path, source })
            };
            let template = read("template.yaml")?;
            let spec =
                parse(name, &folder.join("stackset.toml"), &read("stackset.toml")?, &template)?;
            Entry { spec, template }
        } else if let Some(s) = SHIPPED.iter().find(|s| s.name == name) {
            let spec = parse(
                name,
                Path::new(&format!("(shipped)/{name}/stackset.toml")),
                s.stackset_toml,
                s.template,
            )?;
            Entry { spec, template: s.template.to_string() }
        } else {
            return Err(CatalogError::Unknown { name: name.clone(), dir: dir.to_path_buf() });
        };
        out.push(entry);
    }
    Ok(out)
}

/// Writes the shipped StackSets under `dir` (for `orgsplit init`); returns the files written.
pub fn write_shipped(dir: &Path) -> Result<Vec<PathBuf>, CatalogError> {
    let mut written = Vec::new();
    for s in SHIPPED {
        let folder = dir.join(s.name);
        std::fs::create_dir_all(&folder)
            .map_err(|source| CatalogError::Io { path: folder.clone(), source })?;
        for (file, text) in [("template.yaml", s.template), ("stackset.toml", s.stackset_toml)] {
            let path = folder.join(file);
            std::fs::write(&path, text)
                .map_err(|source| CatalogError::Io { path: path.clone(), source })?;
            written.push(path);
        }
    }
    for (name, text) in [
        ("trigger", TRIGGER_TEMPLATE),
        ("trigger-control-tower-forward", TRIGGER_CONTROL_TOWER_FORWARD_TEMPLATE),
    ] {
        let folder = dir.join(name);
        std::fs::create_dir_all(&folder)
            .map_err(|source| CatalogError::Io { path: folder.clone(), source })?;
        let path = folder.join("template.yaml");
        std::fs::write(&path, text)
            .map_err(|source| CatalogError::Io { path: path.clone(), source })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_baseline_resolves_with_its_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let entries = resolve(dir.path(), &["baseline".to_string()]).unwrap();
        let spec = &entries[0].spec;
        assert_eq!(spec.stackset_name("prod"), "orgsplit-baseline-prod");
        assert_eq!(spec.parameters["AdminAccountId"], ParameterSource::OuAdminAccountId);
        assert_eq!(spec.parameters["OrganizationId"], ParameterSource::OrganizationId);
        assert!(entries[0].template.contains("aws:PrincipalOrgID"));
    }

    #[test]
    fn a_folder_overrides_and_unknown_names_fail() {
        let dir = tempfile::tempdir().unwrap();
        write_shipped(dir.path()).unwrap();
        let toml_path = dir.path().join("baseline/stackset.toml");
        let edited =
            std::fs::read_to_string(&toml_path).unwrap().replace("terraform-apply and", "EDITED");
        std::fs::write(&toml_path, edited).unwrap();
        let entries = resolve(dir.path(), &["baseline".to_string()]).unwrap();
        assert!(entries[0].spec.description.starts_with("EDITED"));
        assert!(matches!(
            resolve(dir.path(), &["nope".to_string()]),
            Err(CatalogError::Unknown { .. })
        ));
        std::fs::write(
            &toml_path,
            "description = \"x\"\n[parameters]\nMissing = { from = \"ou.name\" }\n",
        )
        .unwrap();
        let err = resolve(dir.path(), &["baseline".to_string()]).unwrap_err().to_string();
        assert!(
            err.contains("parameters.Missing: the template declares no such parameter"),
            "{err}"
        );
    }

    #[test]
    fn operation_preferences_default_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        write_shipped(dir.path()).unwrap();
        let shipped = resolve(dir.path(), &["baseline".to_string()]).unwrap().remove(0);
        assert_eq!(shipped.spec.operation, OperationPreferences::default());
        let toml_path = dir.path().join("baseline/stackset.toml");
        let base = std::fs::read_to_string(&toml_path).unwrap();
        let with = |operation: &str| {
            std::fs::write(&toml_path, format!("{base}\n[operation]\n{operation}\n")).unwrap();
            resolve(dir.path(), &["baseline".to_string()])
        };
        let set =
            with("max_concurrent_percentage = 25\nregion_concurrency = \"SEQUENTIAL\"").unwrap();
        let op = set[0].spec.operation;
        assert_eq!(op.max_concurrent_percentage, 25);
        assert_eq!(op.region_concurrency, RegionConcurrency::Sequential);
        assert_eq!(op.failure_tolerance_percentage, 10, "the others keep their defaults");
        for (bad, says) in [
            (
                "max_concurrent_percentage = 0",
                "operation.max_concurrent_percentage: 0 is not between 1 and 100",
            ),
            ("failure_tolerance_percentage = 101", "operation.failure_tolerance_percentage: 101"),
            ("concurrency_mode = \"FAST\"", "unknown variant `FAST`"),
            ("max_concurrent_count = 3", "unknown field `max_concurrent_count`"),
        ] {
            let err = with(bad).unwrap_err().to_string();
            assert!(err.contains(says) && err.contains("stackset.toml"), "{bad}: {err}");
        }
    }
}
