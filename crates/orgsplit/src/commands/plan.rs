//! `orgsplit plan [--inventory FILE] --out FILE [--detailed-exitcode]`.

use orgsplit_model::inventory::INVENTORY_FORMAT_VERSION;
use orgsplit_model::{Config, Inventory};
use orgsplit_planner::{
    BuildError, PlanInput, ReviewOptions, Written, render_review_counted, write_plan,
};
use std::path::Path;

use crate::cli::{GlobalArgs, Output};
use crate::context;
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;

fn read_inventory(path: &Path, config: &Config) -> Result<Inventory, CliError> {
    let text = read_text(path)
        .map_err(|e| CliError::invalid(format!("{}: cannot read: {e}", path.display())))?;
    // Read into its types at once (a 100,000-resource inventory is never a JSON tree), on both
    // cores (`Inventory::from_text`). An inventory of another format is named as such rather
    // than as a shape error: when it does not fit the types, its version is probed before the
    // shape is blamed.
    let not_this_format = || {
        CliError::invalid(format!(
            "{}: format_version: not an inventory of format {INVENTORY_FORMAT_VERSION}",
            path.display()
        ))
    };
    let inv: Inventory = match Inventory::from_text(&text) {
        Ok(inv) if inv.format_version == INVENTORY_FORMAT_VERSION => inv,
        Ok(_) => return Err(not_this_format()),
        Err(shape) => {
            let version = orgsplit_model::canonical::format_version_of(&text).map_err(|e| {
                CliError::invalid(format!("{}: not an inventory file: {e}", path.display()))
            })?;
            if version.as_ref().and_then(|v| v.as_u64())
                != Some(u64::from(INVENTORY_FORMAT_VERSION))
            {
                return Err(not_this_format());
            }
            return Err(CliError::invalid(format!(
                "{}: not an inventory file: {shape}",
                path.display()
            )));
        }
    };
    if inv.source_account_id != config.source_account_id {
        return Err(CliError::invalid(format!(
            "{}: source_account_id: the inventory is of account {}, but {} names {}",
            path.display(),
            inv.source_account_id,
            config.path.display(),
            config.source_account_id
        )));
    }
    Ok(inv)
}

/// A file's text. A large one (an inventory of 100,000 resources is 68 MB) is read in two
/// halves at once: the kernel's copy of it, and the first touch of the memory it is copied to,
/// were 0.05 s on one core while the other waited.
fn read_text(path: &Path) -> std::io::Result<String> {
    #[cfg(unix)]
    {
        use std::io::{Read, Seek, SeekFrom};
        use std::os::unix::fs::FileExt;
        const IN_HALVES_FROM: usize = 8 << 20;
        let mut file = std::fs::File::open(path)?;
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
        if (IN_HALVES_FROM..usize::MAX).contains(&len) {
            let mut bytes = vec![0; len];
            let half = len / 2;
            let (first, second) = bytes.split_at_mut(half);
            let whole = std::thread::scope(|scope| {
                let file = &file;
                let second = scope.spawn(move || file.read_exact_at(second, half as u64));
                let first = file.read_exact_at(first, 0);
                first.and(second.join().expect("reading a file does not panic"))
            });
            if whole.is_ok() {
                // The file may have grown since its length was read: the rest is read on.
                file.seek(SeekFrom::Start(len as u64))?;
                file.read_to_end(&mut bytes)?;
                return String::from_utf8(bytes).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "stream did not contain valid UTF-8",
                    )
                });
            }
            // Shorter than it was: read again, as it is now.
        }
    }
    std::fs::read_to_string(path)
}

pub async fn run(
    g: &GlobalArgs,
    inventory_file: Option<&Path>,
    out: &Path,
    detailed: bool,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    let config = context::load_config(g)?;
    let catalog = crate::context::catalog(&config)?;
    let specs: Vec<_> = catalog.into_iter().map(|e| e.spec).collect();
    let inv = match inventory_file {
        Some(path) => read_inventory(path, &config)?,
        None => context::live_inventory(g, &config, printer).await?.0,
    };
    // The plan is written as it is built, one workloads account at a time (never whole in
    // memory). An error of the plan's own (a bucket name clash found at the last account)
    // stops the writer: the temporary file is dropped and the old plan, if any, stays.
    let mut plan_error = None;
    let written = context::write_atomic_with(out, context::Durability::Unsynced, |w| {
        let input = PlanInput {
            config: &config,
            inventory: &inv,
            stacksets: &specs,
            created_at: context::now(),
        };
        match write_plan(input, w) {
            Ok(written) => Ok(written),
            Err(BuildError::Write(e)) => Err(e),
            Err(e) => {
                let message = e.to_string();
                plan_error = Some(e);
                Err(std::io::Error::other(message))
            }
        }
    });
    if let Some(e) = plan_error {
        return Err(CliError::invalid(e.to_string()));
    }
    let Written { digest, review, tallies, has_changes } = written?;
    match g.output {
        // The file is the plan: printed as written.
        Output::Json => printer.data(
            std::fs::read_to_string(out)
                .map_err(|e| CliError::failure(format!("{}: cannot read: {e}", out.display())))?
                .trim_end(),
        ),
        Output::Text => {
            let options = ReviewOptions { color: printer.color_stdout, ..ReviewOptions::default() };
            printer.data(&render_review_counted(&review, &tallies, &options));
            printer.status(&format!("wrote {} ({digest})", out.display()));
        }
    }
    for w in &review.warnings {
        tracing::info!(subject = w.subject.as_deref().unwrap_or(""), "{}", w.message);
    }
    if !review.unclassified.is_empty() {
        printer.warn(&format!(
            "{} unclassified resources: apply will refuse until a [[rule]] covers them",
            review.unclassified.len()
        ));
    }
    let status = if detailed && has_changes { ExitStatus::CHANGES } else { ExitStatus::Success };
    // The process ends with this command: freeing a large inventory piece by piece would cost
    // a tenth of the planning time, for memory the exit gives back anyway.
    std::mem::forget(inv);
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::read_text;

    /// A file read in halves is the file, whatever character its middle cuts; a file that is
    /// not UTF-8 fails as `read_to_string` fails.
    #[test]
    fn a_large_file_read_in_halves_is_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inventory.json");
        let text: String = "{\"é€𝄞\": \"ab\"},".repeat(600_000);
        assert!(text.len() > 8 << 20);
        std::fs::write(&path, &text).unwrap();
        assert!(read_text(&path).unwrap() == text, "the text read differs");
        let mut bytes = text.into_bytes();
        let middle = bytes.len() / 2;
        bytes[middle] = 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            read_text(&path).unwrap_err().to_string(),
            std::fs::read_to_string(&path).unwrap_err().to_string()
        );
    }
}
