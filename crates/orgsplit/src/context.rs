//! What most commands need: the config, and AWS access built from it and the flags.

use orgsplit_apply::{ApplyError, JournalError, LockError};
use orgsplit_aws::{Aws, AwsOptions};
use orgsplit_inventory::InventoryOptions;
use orgsplit_model::plan::{PlanError, PlanOutline};
use orgsplit_model::{Config, Inventory, Plan};
use std::path::Path;

use crate::cli::GlobalArgs;
use crate::exit::CliError;
use crate::printer::Printer;
use crate::progress::InventoryProgress;

/// `--account` values: each must be a 12-digit account id.
pub fn check_account_ids(accounts: &[String]) -> Result<(), CliError> {
    match accounts.iter().find(|a| !orgsplit_model::is_account_id(a)) {
        Some(a) => Err(CliError::invalid(format!("--account {a}: not a 12-digit account id"))),
        None => Ok(()),
    }
}

pub fn load_config(g: &GlobalArgs) -> Result<Config, CliError> {
    Ok(Config::load(&g.config)?)
}

pub async fn aws(g: &GlobalArgs, config: &Config) -> Result<Aws, CliError> {
    let mut opts = AwsOptions::new(g.region.clone().unwrap_or_else(|| config.home_region.clone()));
    opts.profile = g.profile.clone();
    opts.endpoint_url = g.endpoint_url.clone();
    opts.access_role = config.access_role.clone();
    opts.rates = orgsplit_aws::RateTable::from_limits(&config.limits);
    Ok(Aws::load(opts).await?)
}

/// The StackSets the config's OUs name: a `stacksets/` folder beside the config first, then
/// the shipped ones.
pub fn catalog(config: &Config) -> Result<Vec<orgsplit_stacksets::Entry>, CliError> {
    let mut names: Vec<String> = config.ous.iter().flat_map(|o| o.stacksets.clone()).collect();
    names.sort();
    names.dedup();
    let dir = config
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("stacksets");
    match orgsplit_stacksets::resolve(&dir, &names) {
        Err(orgsplit_stacksets::CatalogError::Unknown { name, dir }) => {
            // Point at the OU that names it, in the config file.
            let (i, j) = config
                .ous
                .iter()
                .enumerate()
                .find_map(|(i, o)| o.stacksets.iter().position(|s| *s == name).map(|j| (i, j)))
                .unwrap_or((0, 0));
            Err(config
                .stackset_error(
                    i,
                    j,
                    format!(
                        "{} is neither a StackSet shipped with orgsplit nor a folder {}",
                        orgsplit_model::quote::quote(&name),
                        dir.join(&name).display()
                    ),
                    Some(format!(
                        "shipped: {}; or create {}/ with template.yaml and stackset.toml (orgsplit init writes the shipped ones)",
                        orgsplit_stacksets::shipped_names().join(", "),
                        dir.join(&name).display()
                    )),
                )
                .into())
        }
        other => Ok(other?),
    }
}

/// Now, RFC 3339 to the second, UTC: the one clock read, passed to the pure crates.
pub fn now() -> String {
    let t = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Whether a file is flushed to disk before it replaces the one it replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// `fsync`'d before the rename: after a crash the file is the old one or the new one,
    /// whole (an inventory, which took minutes of API calls to read).
    Synced,
    /// Not `fsync`'d: a crash of the machine soon after may leave the file empty or cut
    /// short, which its reader refuses, and the command that wrote it writes it again. For
    /// the plan: it is read only through its format version and digest (`docs/plan.md`), and
    /// the `fsync` of a 140 MB plan was 0.06 s of its one second (docs/performance.md).
    Unsynced,
}

/// Writes a file whole or not at all: a temporary file beside it, then a rename.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), CliError> {
    write_atomic_with(path, Durability::Synced, |w| w.write_all(text.as_bytes()))
}

/// [`write_atomic`] of what `write` streams out: a large plan is never held as one string.
/// No process ever sees a part of the file: it is renamed into place once written.
pub fn write_atomic_with<T>(
    path: &Path,
    durability: Durability,
    write: impl FnOnce(&mut (dyn std::io::Write + Send)) -> std::io::Result<T>,
) -> Result<T, CliError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let fail =
        |e: std::io::Error| CliError::failure(format!("{}: cannot write: {e}", path.display()));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    // The plan's writer hands over 512 KiB chunks, which go past this buffer to the file.
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, tmp);
    let written = write(&mut buffered).map_err(fail)?;
    let tmp = buffered.into_inner().map_err(|e| fail(e.into_error()))?;
    match durability {
        Durability::Synced => tmp.as_file().sync_all().map_err(fail)?,
        // ext4 writes a file back in the `rename` that puts it over another one (its
        // `auto_da_alloc`, on by default: "the file is renamed over an existing file", Linux
        // commit afd4672dc761): 0.1 s for a 140 MB plan, in the command's time. Renamed onto no
        // file, the kernel writes it back later. So the old file goes first: for that instant
        // there is no file at `path`, never a part of one.
        Durability::Unsynced => match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(e)),
            _ => {}
        },
    }
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(written)
}

/// Asks on the terminal before a change: `--yes` skips it, and with no terminal to ask on
/// the command is refused (exit 3). Only `yes` is accepted.
pub fn confirm(
    question: &str,
    what: &str,
    count: &str,
    hint: &str,
    yes: bool,
    printer: &crate::printer::Printer,
) -> Result<(), CliError> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::refused(format!(
            "{what}: stdin is not a terminal, so there is nobody to confirm {count}"
        ))
        .hint(hint));
    }
    #[allow(clippy::print_stderr)]
    {
        eprint!("{question}\n  Only 'yes' is accepted: ");
        let _ = std::io::stderr().flush();
    }
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim() != "yes" {
        return Err(CliError::refused(format!("{what} cancelled: nothing was changed")));
    }
    printer.status("");
    Ok(())
}

/// Reads and verifies a plan file: every command that acts on a plan goes through here.
pub fn read_plan(path: &Path) -> Result<Plan, CliError> {
    read_plan_with(path, Plan::from_json)
}

/// A plan's outline (`status`): its steps' addresses and actions, the digest not checked.
pub fn read_plan_outline(path: &Path) -> Result<PlanOutline, CliError> {
    read_plan_with(path, PlanOutline::from_json)
}

fn read_plan_with<T>(
    path: &Path,
    read: impl FnOnce(&str) -> Result<T, PlanError>,
) -> Result<T, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::invalid(format!("{}: cannot read: {e}", path.display())))?;
    read(&text).map_err(|e| {
        let message = format!("{}: {e}", path.display());
        match e {
            PlanError::Malformed(_) => CliError::invalid(message)
                .hint("plan files are written by `orgsplit plan`; re-run it"),
            PlanError::UnknownVersion { .. } => CliError::refused(message)
                .hint("use the orgsplit version that wrote the plan, or re-run `orgsplit plan`"),
            PlanError::DigestMismatch { .. } => CliError::refused(message).hint(
                "a reviewed plan must not be edited: re-run `orgsplit plan` and review again",
            ),
        }
    })
}

/// The source account's inventory, read now (`inventory`, and `plan` without --inventory),
/// with the number of API calls it took.
pub async fn live_inventory(
    g: &GlobalArgs,
    config: &Config,
    printer: &Printer,
) -> Result<(Inventory, u64), CliError> {
    let aws = aws(g, config).await?;
    let opts = InventoryOptions {
        source_account_id: config.source_account_id.clone(),
        home_region: config.home_region.clone(),
        regions: config.regions.clone(),
        created_at: now(),
        count_objects: true,
    };
    let progress = InventoryProgress::new(printer.progress);
    let result = orgsplit_inventory::inventory(&aws, &opts, &progress).await;
    progress.finish();
    Ok((result?, aws.counter().total()))
}

/// AWS access for a plan: its home region and access role, the flags' profile and endpoint.
pub async fn plan_aws(g: &GlobalArgs, plan: &Plan) -> Result<Aws, CliError> {
    let mut opts = AwsOptions::new(g.region.clone().unwrap_or_else(|| plan.home_region.clone()));
    opts.profile = g.profile.clone();
    opts.endpoint_url = g.endpoint_url.clone();
    opts.access_role = plan.access_role.clone();
    opts.rates = orgsplit_aws::RateTable::from_limits(&plan.limits);
    Ok(Aws::load(opts).await?)
}

/// The plan's AWS access, once the caller, the organization and the staleness of the OU's
/// sources are checked (cutover and cleanup; apply says more about what it found). Cleanup
/// (`with_no_op`) checks the sources of `no-op` copies too: it deletes them.
pub async fn checked_aws(
    g: &GlobalArgs,
    plan: &Plan,
    ou: &str,
    journal: &orgsplit_apply::Journal,
    with_no_op: bool,
    printer: &crate::printer::Printer,
) -> Result<Aws, CliError> {
    let aws = plan_aws(g, plan).await?;
    printer.status(&format!("checking the plan against the live organization (OU {ou})"));
    let states = journal.states();
    let checked = if with_no_op {
        orgsplit_apply::precheck_copies(&aws, plan, ou, &states).await
    } else {
        orgsplit_apply::precheck(&aws, plan, ou, &states).await
    };
    let checked = checked.map_err(apply_error)?;
    printer.status(&format!(
        "plan {} is current ({} live objects compared); caller {}",
        short(&plan.digest),
        checked.compared,
        checked.caller_arn
    ));
    Ok(aws)
}

/// The first 12 hex digits of a digest, for messages.
pub fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

pub fn lock_error(e: LockError) -> CliError {
    match e {
        LockError::Held { .. } => CliError::refused(e.to_string()).hint(
            "wait for it to finish; only one apply, cutover or cleanup of a plan runs at a time",
        ),
        LockError::Io { .. } => CliError::failure(e.to_string()),
    }
}

pub fn journal_error(e: JournalError) -> CliError {
    match e {
        JournalError::Malformed { .. } => CliError::invalid(e.to_string())
            .hint("the journal is written by apply only; restore it or move it away to start over"),
        JournalError::OtherPlan { .. } => CliError::refused(e.to_string()).hint(
            "apply the plan that journal belongs to, or move the journal away if that plan is abandoned",
        ),
        JournalError::Io { .. } => CliError::failure(e.to_string()),
    }
}

/// The exit status of each refusal apply and cutover share.
pub fn apply_error(e: ApplyError) -> CliError {
    let message = e.to_string();
    match e {
        ApplyError::UnknownOu { .. } => CliError::invalid(message),
        ApplyError::WrongCaller { .. } => CliError::refused(message)
            .hint("use the management account's credentials the plan was made with (--profile)"),
        ApplyError::WrongOrganization { .. } => CliError::refused(message)
            .hint("this plan belongs to another organization: re-run `orgsplit plan` here"),
        ApplyError::Unclassified { .. } => CliError::refused(message)
            .hint("add [[rule]]s that classify them (or environment = \"ignore\") and re-run `orgsplit plan`"),
        ApplyError::Stale { .. } => CliError::refused(message)
            .hint("plan is stale: re-run `orgsplit plan` and review it again"),
        ApplyError::Journal(j) => journal_error(j),
        ApplyError::Lock(l) => lock_error(l),
        ApplyError::Aws(a) => (*a).into(),
        ApplyError::Inventory(i) => (*i).into(),
        ApplyError::NotApplied { .. } => CliError::refused(message)
            .hint("finish the OU's apply first: orgsplit apply PLAN --ou NAME"),
        ApplyError::Unfinished { command: "rollback", .. } => CliError::refused(message)
            .hint("finish it first: orgsplit cutover PLAN --ou NAME --rollback"),
        ApplyError::Unfinished { .. } => CliError::refused(message)
            .hint("finish it first by running the same command again"),
        ApplyError::NotCutOver { .. } => CliError::refused(message)
            .hint("cut the OU over first: orgsplit cutover PLAN --ou NAME"),
        ApplyError::CleanupBegan { .. } => CliError::refused(message).hint(
            "the copies run the OU now; to go back, re-plan from the copies' accounts",
        ),
        ApplyError::Internal(_) => CliError::failure(message),
    }
}
