//! `orgsplit init [DIR]`: the example config and the shipped StackSets, for editing.

use std::path::Path;

use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;

const EXAMPLE_CONFIG: &str = include_str!("../../../../plans/examples/orgsplit.toml");

pub fn run(dir: &Path, force: bool, printer: &Printer) -> Result<ExitStatus, CliError> {
    let config = dir.join("orgsplit.toml");
    let stacksets = dir.join("stacksets");
    if !force {
        let existing: Vec<String> = [config.clone(), stacksets.join("baseline")]
            .iter()
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(CliError::refused(format!(
                "{} already exists: nothing written",
                existing.join(" and ")
            ))
            .hint("edit it, or pass --force to overwrite"));
        }
    }
    if dir.exists() && !dir.is_dir() {
        return Err(CliError::invalid(format!(
            "{}: exists and is not a folder: nothing written",
            dir.display()
        ))
        .hint("name a folder (new or existing) to write orgsplit.toml and stacksets/ into"));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::failure(format!("{}: {e}", dir.display())))?;
    std::fs::write(&config, EXAMPLE_CONFIG)
        .map_err(|e| CliError::failure(format!("{}: {e}", config.display())))?;
    let mut written = vec![config];
    written.extend(orgsplit_stacksets::write_shipped(&stacksets)?);
    for path in &written {
        printer.data(&format!("wrote {}", path.display()));
    }
    printer.status("next: edit orgsplit.toml (source account, OUs, accounts, rules), then `orgsplit plan --out plan.json`");
    Ok(ExitStatus::Success)
}
