//! `orgsplit inventory --out FILE`.

use orgsplit_model::Inventory;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::{GlobalArgs, Output};
use crate::context;
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;

pub fn summary(inv: &Inventory) -> BTreeMap<String, usize> {
    let mut by_kind = BTreeMap::new();
    for r in &inv.resources {
        *by_kind.entry(r.kind.to_string()).or_default() += 1;
    }
    by_kind
}

pub async fn run(g: &GlobalArgs, out: &Path, printer: &Printer) -> Result<ExitStatus, CliError> {
    let config = context::load_config(g)?;
    let (inv, calls) = context::live_inventory(g, &config, printer).await?;
    let mut text = serde_json::to_string_pretty(&inv).expect("inventory serialises");
    text.push('\n');
    context::write_atomic(out, &text)?;
    let by_kind = summary(&inv);
    match g.output {
        Output::Json => printer.data(&json!({ "file": out, "resources": inv.resources.len(), "by_kind": by_kind, "regions": inv.regions, "api_calls": calls, "digest": inv.digest() }).to_string()),
        Output::Text => {
            let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
            printer.data(&format!(
                "wrote {}: {} resources in {} ({}), {} API calls",
                out.display(),
                inv.resources.len(),
                inv.regions.join(", "),
                kinds.join(", "),
                calls
            ));
        }
    }
    Ok(ExitStatus::Success)
}
