//! `orgsplit pipelines scan | migrate | rollback`.

use orgsplit_aws::{AccountSession, Aws};
use orgsplit_model::{Config, Secret};
use orgsplit_pipelines::PipelinesError;
use orgsplit_pipelines::connection::{self, ConnectionInfo};
use orgsplit_pipelines::grant::{arn_account, arn_region};
use orgsplit_pipelines::migrate::{self, Migrated, SavedDeclaration};
use orgsplit_pipelines::scan::{self, PipelineScan, StateReport, StateSource};
use orgsplit_pipelines::tfstate::{TokenForm, TokenMatcher};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{GlobalArgs, Output, PipelinesCommand};
use crate::context;
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;

pub async fn run(
    g: &GlobalArgs,
    command: PipelinesCommand,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    match command {
        PipelinesCommand::Scan {
            account,
            tfstates,
            token_env,
        } => scan_cmd(g, account, &tfstates, token_env.as_deref(), printer).await,
        PipelinesCommand::Migrate {
            account,
            connection_arn,
            create_connection,
            pipelines,
            dry_run,
            yes,
        } => {
            let choice = match (connection_arn, create_connection) {
                (Some(arn), _) => Choice::Arn(arn),
                (None, Some(name)) => Choice::Create(name),
                (None, None) => {
                    return Err(CliError::invalid(
                        "pipelines migrate: --connection-arn ARN or --create-connection NAME is required",
                    ));
                }
            };
            migrate_cmd(g, account, choice, &pipelines, dry_run, yes, printer).await
        }
        PipelinesCommand::Rollback {
            account,
            pipeline,
            token_env,
        } => rollback_cmd(g, account, &pipeline, &token_env, printer).await,
    }
}

fn pipelines_error(e: PipelinesError) -> CliError {
    match e {
        PipelinesError::Aws(a) => (*a).into(),
        e @ PipelinesError::Input { .. } => CliError::invalid(e.to_string()),
        e @ PipelinesError::Refused(_) => CliError::refused(e.to_string()),
        e => CliError::failure(e.to_string()),
    }
}

fn account_arg(account: Option<String>, config: &Config) -> Result<String, CliError> {
    let account = account.unwrap_or_else(|| config.source_account_id.clone());
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CliError::invalid(format!(
            "--account {account}: not a 12-digit account id"
        )));
    }
    Ok(account)
}

/// The token in `VAR`, never shown.
fn token_from_env(var: &str) -> Result<Secret, CliError> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
        Ok(_) => Err(CliError::invalid(format!(
            "--token-env {var}: the variable is empty"
        ))),
        Err(_) => Err(
            CliError::invalid(format!("--token-env {var}: the variable is not set")).hint(format!(
                "export {var} with the GitHub token (it is never printed)"
            )),
        ),
    }
}

/// Where migrate saves declarations and rollback reads them: `plans/pipelines/` beside
/// the config.
fn save_dir(config: &Config) -> PathBuf {
    config
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("plans")
        .join("pipelines")
}

async fn session(aws: &Aws, account: &str) -> Result<AccountSession, CliError> {
    Ok(aws.session(account).await?)
}

// ---------------------------------------------------------------- scan

async fn scan_cmd(
    g: &GlobalArgs,
    account: Option<String>,
    tfstates: &[String],
    token_env: Option<&str>,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    let config = context::load_config(g)?;
    let account = account_arg(account, &config)?;
    let sources: Vec<StateSource> = tfstates
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|e: String| CliError::invalid(format!("--tfstate {e}")))
        })
        .collect::<Result<_, _>>()?;
    // Local states are checked before any AWS call: a typo is one error line, nothing read.
    for source in &sources {
        if let StateSource::Local(path) = source
            && !path.exists()
        {
            return Err(CliError::invalid(format!(
                "--tfstate {}: no such file or folder",
                path.display()
            )));
        }
    }
    let token = token_env
        .map(token_from_env)
        .transpose()?
        .map(|t| Arc::new(TokenMatcher::new(&t)));
    let aws = context::aws(g, &config).await?;
    let session = session(&aws, &account).await?;

    let mut pipelines = Vec::new();
    let mut total = 0;
    for region in &config.regions {
        printer.status(&format!("reading pipelines in {account} ({region})"));
        let (found, n) = scan::pipelines(&session, region, &[])
            .await
            .map_err(pipelines_error)?;
        pipelines.extend(found.into_iter().filter(PipelineScan::has_v1_sources));
        total += n;
    }
    let mut states = Vec::new();
    for source in &sources {
        printer.status(&format!("reading Terraform states in {source}"));
        states.extend(
            scan::states(&session, &config.home_region, source, token.as_ref())
                .await
                .map_err(pipelines_error)?,
        );
    }

    match g.output {
        Output::Json => printer.data(
            &serde_json::to_string_pretty(&json!({
                "account": account,
                "regions": config.regions,
                "pipelines_total": total,
                "pipelines": pipelines,
                "states": states,
                "summary": summary_json(&pipelines, &states, token.is_some()),
            }))
            .expect("json"),
        ),
        Output::Text => printer.data(&scan_text(
            &account,
            &config.regions,
            total,
            &pipelines,
            &states,
            token.is_some(),
        )),
    }
    if let Some(bad) = states.iter().find(|s| s.error.is_some()) {
        let n = states.iter().filter(|s| s.error.is_some()).count();
        return Err(CliError::invalid(format!(
            "{}: not a Terraform state: {}{}",
            bad.location,
            bad.error.as_deref().unwrap_or_default(),
            if n > 1 {
                format!(" (and {} more)", n - 1)
            } else {
                String::new()
            }
        ))
        .hint("the other states were scanned; fix or remove that file and scan again"));
    }
    Ok(ExitStatus::Success)
}

fn form_counts(states: &[StateReport]) -> BTreeMap<String, usize> {
    let mut by_form = BTreeMap::new();
    for r in states.iter().flat_map(|s| &s.scan.references) {
        *by_form.entry(r.form.to_string()).or_default() += 1;
    }
    by_form
}

fn summary_json(
    pipelines: &[PipelineScan],
    states: &[StateReport],
    with_token: bool,
) -> serde_json::Value {
    let refs = states.iter().flat_map(|s| &s.scan.references);
    json!({
        "v1_pipelines": pipelines.len(),
        "webhooks": pipelines.iter().map(|p| p.webhooks.len()).sum::<usize>(),
        "states_read": states.len(),
        "states_with_tokens": states.iter().filter(|s| s.scan.references.iter().any(|r| matches!(r.form, TokenForm::Raw | TokenForm::Hashed))).count(),
        "references": refs.clone().count(),
        "by_form": form_counts(states),
        "matching_token": with_token.then(|| refs.filter(|r| r.matches_token == Some(true)).count()),
    })
}

fn scan_text(
    account: &str,
    regions: &[String],
    total: usize,
    pipelines: &[PipelineScan],
    states: &[StateReport],
    with_token: bool,
) -> String {
    let mut t = String::new();
    t.push_str(&format!(
        "Pipelines with a v1 GitHub source in account {account}: {} of {total} ({})\n",
        pipelines.len(),
        regions.join(", ")
    ));
    for p in pipelines {
        for s in &p.sources {
            let hooks: Vec<&str> = p
                .webhooks
                .iter()
                .filter(|w| w.target_action == s.source.action)
                .map(|w| w.name.as_str())
                .collect();
            t.push_str(&format!(
                "  {}  {}  {}.{}  {}/{}@{}  {}{}\n",
                p.region,
                p.name,
                s.source.stage,
                s.source.action,
                s.source.owner,
                s.source.repo,
                s.source.branch,
                s.trigger,
                if hooks.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", hooks.join(", "))
                }
            ));
        }
    }
    if !states.is_empty() {
        t.push_str(&format!("\nTerraform states: {} read\n", states.len()));
    }
    for s in states {
        if let Some(e) = &s.error {
            t.push_str(&format!("  {}: not a Terraform state: {e}\n", s.location));
            continue;
        }
        if s.scan.references.is_empty() {
            t.push_str(&format!("  {}: no OAuthToken\n", s.location));
            continue;
        }
        t.push_str(&format!("  {}:\n", s.location));
        for r in &s.scan.references {
            let what = match (r.form, r.matches_token) {
                (TokenForm::Raw | TokenForm::Hashed, Some(true)) => " (is the token)",
                (TokenForm::Raw | TokenForm::Hashed, Some(false)) => " (another token)",
                (TokenForm::Masked, _) => " (no token: masked by the API)",
                (TokenForm::Empty, _) => " (no token)",
                _ => "",
            };
            t.push_str(&format!(
                "    {}  {}{what}\n",
                r.resource.as_deref().unwrap_or(&r.path),
                r.form
            ));
        }
    }
    let by_form = form_counts(states);
    let refs: usize = by_form.values().sum();
    let with_tokens = states
        .iter()
        .filter(|s| {
            s.scan
                .references
                .iter()
                .any(|r| matches!(r.form, TokenForm::Raw | TokenForm::Hashed))
        })
        .count();
    let forms: Vec<String> = by_form.iter().map(|(f, n)| format!("{n} {f}")).collect();
    t.push_str(&format!(
        "\n{} v1 GitHub pipelines, {} webhooks; {refs} OAuthToken references{} in {} states, {with_tokens} holding a token",
        pipelines.len(),
        pipelines.iter().map(|p| p.webhooks.len()).sum::<usize>(),
        if forms.is_empty() {
            String::new()
        } else {
            format!(" ({})", forms.join(", "))
        },
        states.len(),
    ));
    if with_token {
        let n = states
            .iter()
            .flat_map(|s| &s.scan.references)
            .filter(|r| r.matches_token == Some(true))
            .count();
        t.push_str(&format!("; {n} are the given token"));
    }
    t.push_str(".\n");
    t
}

// ---------------------------------------------------------------- migrate

enum Choice {
    Arn(String),
    Create(String),
}

async fn migrate_cmd(
    g: &GlobalArgs,
    account: Option<String>,
    choice: Choice,
    only: &[String],
    dry_run: bool,
    yes: bool,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    let config = context::load_config(g)?;
    let account = account_arg(account, &config)?;
    if let Choice::Arn(arn) = &choice {
        let ok = arn.starts_with("arn:")
            && (arn.contains(":codestar-connections:") || arn.contains(":codeconnections:"))
            && arn_region(arn).is_some();
        if !ok {
            return Err(CliError::invalid(format!(
                "--connection-arn {arn}: not a CodeStar connection ARN (arn:aws:codestar-connections:REGION:ACCOUNT:connection/ID)"
            )));
        }
        if arn_account(arn) != Some(account.as_str()) {
            return Err(CliError::invalid(format!(
                "--connection-arn {arn}: the connection is not in account {account}, whose pipelines are converted"
            ))
            .hint("a pipeline can only use a connection of its own account"));
        }
    }
    if let Choice::Create(name) = &choice
        && (name.is_empty() || name.len() > 32)
    {
        return Err(CliError::invalid(format!(
            "--create-connection {name}: a connection name has 1 to 32 characters"
        )));
    }
    let aws = context::aws(g, &config).await?;
    let session = session(&aws, &account).await?;

    let mut selected = Vec::new();
    for region in &config.regions {
        printer.status(&format!("reading pipelines in {account} ({region})"));
        let (found, _) = scan::pipelines(&session, region, only)
            .await
            .map_err(pipelines_error)?;
        selected.extend(found);
    }
    for name in only {
        if !selected.iter().any(|p| &p.name == name) {
            // Either absent or already converted with no webhook left.
            let exists = pipeline_exists(&session, &config.regions, name).await?;
            if !exists {
                return Err(CliError::invalid(format!(
                    "--pipeline {name}: no such pipeline in account {account} ({})",
                    config.regions.join(", ")
                )));
            }
        }
    }
    let mut regions: Vec<String> = selected.iter().map(|p| p.region.clone()).collect();
    regions.sort();
    regions.dedup();
    if let Choice::Arn(arn) = &choice {
        let region = arn_region(arn).unwrap_or_default();
        let elsewhere: Vec<String> = selected
            .iter()
            .filter(|p| p.region != region)
            .map(|p| format!("{} ({})", p.name, p.region))
            .collect();
        if !elsewhere.is_empty() {
            return Err(CliError::invalid(format!(
                "--connection-arn {arn}: the connection is in {region}, but {} {} elsewhere",
                elsewhere.join(", "),
                if elsewhere.len() == 1 { "is" } else { "are" }
            ))
            .hint("a pipeline's source uses a connection of its own region: choose pipelines with --pipeline, or use --create-connection NAME (one connection per region)"));
        }
    }
    if selected.is_empty() {
        printer.data(&match g.output {
            Output::Json => json!({"account": account, "dry_run": dry_run, "pipelines": []}).to_string(),
            Output::Text => format!(
                "Nothing to migrate: no v1 GitHub source and no v1 webhook in account {account} ({}).\n",
                config.regions.join(", ")
            ),
        });
        return Ok(ExitStatus::Success);
    }

    let dir = save_dir(&config);
    for p in &selected {
        migrate::precheck(p, &account, &dir).map_err(pipelines_error)?;
    }
    // An existing connection is read before anything is asked or changed.
    let given = match &choice {
        Choice::Arn(_) => Some(resolve_connections(&session, &choice, &regions, false).await?),
        Choice::Create(_) => None,
    };
    if let Some(c) = given.as_ref().and_then(|m| m.values().flatten().next())
        && c.provider != "GitHub"
    {
        return Err(CliError::invalid(format!(
            "--connection-arn {}: a {} connection, not a GitHub one",
            c.arn, c.provider
        )));
    }
    if dry_run {
        let connections = match given {
            Some(c) => c,
            None => resolve_connections(&session, &choice, &regions, false).await?,
        };
        return dry_run_report(g, &account, &selected, &connections, printer);
    }

    context::confirm(
        &format!(
            "Convert {} pipelines of account {account} to CodeStar Connections ({})?",
            selected.len(),
            selected
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "pipelines migrate",
        &format!("{} pipelines", selected.len()),
        "review with --dry-run, then pass --yes",
        yes,
        printer,
    )?;
    let connections = match given {
        Some(c) => c,
        None => resolve_connections(&session, &choice, &regions, true).await?,
    };
    let waiting: Vec<&ConnectionInfo> = connections
        .values()
        .flatten()
        .filter(|c| !c.is_available())
        .collect();
    if !waiting.is_empty() {
        let listed: Vec<String> = waiting
            .iter()
            .map(|c| {
                format!(
                    "{} ({}) in {} is {}",
                    c.name,
                    c.arn,
                    arn_region(&c.arn).unwrap_or_default(),
                    c.status
                )
            })
            .collect();
        let urls: Vec<String> = waiting
            .iter()
            .map(|c| connection::console_url(arn_region(&c.arn).unwrap_or_default()))
            .collect();
        return Err(CliError::refused(format!(
            "not AVAILABLE yet, so nothing was converted in account {account}: connection {}",
            listed.join("; ")
        ))
        .hint(format!(
            "complete the GitHub handshake at {} (choose the connection, then \"Update pending connection\"), then run migrate again",
            urls.join(" and ")
        )));
    }

    let now = context::now();
    let mut done: Vec<Migrated> = Vec::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    for p in &selected {
        let arn = &connections[&p.region]
            .as_ref()
            .expect("every region's connection was resolved")
            .arn;
        printer.status(&format!("migrating {} ({})", p.name, p.region));
        match migrate::migrate(&session, p, arn, &dir, &now).await {
            Ok(m) => done.push(m),
            Err(e) => failed.push((p.name.clone(), e.to_string())),
        }
    }
    for w in done.iter().flat_map(|m| &m.warnings) {
        printer.warn(w);
    }
    match g.output {
        Output::Json => printer.data(
            &serde_json::to_string_pretty(&json!({
                "account": account,
                "connections": connections.values().flatten().collect::<Vec<_>>(),
                "pipelines": done,
                "failed": failed.iter().map(|(p, e)| json!({"pipeline": p, "error": e})).collect::<Vec<_>>(),
            }))
            .expect("json"),
        ),
        Output::Text => {
            let mut t = String::new();
            for m in &done {
                t.push_str(&migrated_line(m));
            }
            for (p, e) in &failed {
                t.push_str(&format!("! {p}: failed: {e}\n"));
            }
            t.push_str(&format!(
                "Migrated {} pipelines: {} changed, {} unchanged, {} failed.\n",
                selected.len(),
                done.iter().filter(|m| m.changed()).count(),
                done.iter().filter(|m| !m.changed()).count(),
                failed.len()
            ));
            printer.data(&t);
        }
    }
    if let Some((p, e)) = failed.first() {
        return Err(CliError::failure(format!(
            "pipelines migrate: {} pipelines failed (first: {p}: {e})",
            failed.len()
        ))
        .hint("fix the cause and run migrate again: it only changes what differs"));
    }
    Ok(ExitStatus::Success)
}

async fn pipeline_exists(
    session: &AccountSession,
    regions: &[String],
    name: &str,
) -> Result<bool, CliError> {
    for region in regions {
        let got = session
            .codepipeline(region)
            .get_pipeline()
            .name(name)
            .send()
            .await;
        match got {
            Ok(_) => return Ok(true),
            Err(e) => {
                let err = orgsplit_aws::call_error(
                    "codepipeline",
                    "GetPipeline",
                    &session.account_id,
                    region,
                    e,
                );
                if !err.is_not_found() {
                    return Err(err.into());
                }
            }
        }
    }
    Ok(false)
}

/// The connection of each region; `None` for a dry run's connection that does not exist
/// yet.
async fn resolve_connections(
    session: &AccountSession,
    choice: &Choice,
    regions: &[String],
    create: bool,
) -> Result<BTreeMap<String, Option<ConnectionInfo>>, CliError> {
    let mut out = BTreeMap::new();
    for region in regions {
        let client = session.codestar_connections(region);
        let account = session.account_id.as_str();
        let found = match choice {
            Choice::Arn(arn) => {
                let got = connection::get(&client, account, region, arn)
                    .await
                    .map_err(|e| pipelines_error(e.into()))?;
                Some(got.ok_or_else(|| {
                    CliError::invalid(format!(
                        "--connection-arn {arn}: no such connection in account {account} ({region})"
                    ))
                })?)
            }
            Choice::Create(name) if create => Some(
                connection::find_or_create(&client, account, region, name, "GitHub")
                    .await
                    .map_err(|e| pipelines_error(e.into()))?
                    .0,
            ),
            Choice::Create(name) => connection::find(&client, account, region, name, "GitHub")
                .await
                .map_err(|e| pipelines_error(e.into()))?,
        };
        out.insert(region.clone(), found);
    }
    Ok(out)
}

fn migrated_line(m: &Migrated) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &m.saved {
        parts.push(format!("saved {}", p.display()));
    }
    if m.granted {
        parts.push("role granted UseConnection".into());
    }
    if m.updated {
        parts.push("source converted".into());
    }
    if !m.webhooks_deleted.is_empty() {
        parts.push(format!(
            "webhooks deleted: {}",
            m.webhooks_deleted.join(", ")
        ));
    }
    parts.push("verified".into());
    format!(
        "{} {} ({}): {}\n",
        if m.changed() { "~" } else { " " },
        m.pipeline,
        m.region,
        parts.join("; ")
    )
}

fn dry_run_report(
    g: &GlobalArgs,
    account: &str,
    selected: &[PipelineScan],
    connections: &BTreeMap<String, Option<ConnectionInfo>>,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    let arn_of = |region: &str| -> String {
        match connections.get(region).and_then(Option::as_ref) {
            Some(c) => c.arn.clone(),
            None => format!(
                "arn:aws:codestar-connections:{region}:{account}:connection/(created by migrate)"
            ),
        }
    };
    let mut items = Vec::new();
    let mut text = String::new();
    for (region, c) in connections {
        text.push_str(&match c {
            Some(c) => format!("Connection in {region}: {} ({}), {}\n", c.name, c.arn, c.status),
            None => format!("Connection in {region}: none yet; migrate creates it PENDING and waits for the handshake\n"),
        });
    }
    for p in selected {
        let arn = arn_of(&p.region);
        let before = migrate::for_review(&p.declaration);
        let after = migrate::for_review(&migrate::converted(p, &arn));
        let diff = similar::TextDiff::from_lines(&before, &after)
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("{} (now)", p.name),
                &format!("{} (after migrate)", p.name),
            )
            .to_string();
        let role = migrate::role_of(p).map(str::to_string);
        let hooks: Vec<&str> = p.webhooks.iter().map(|w| w.name.as_str()).collect();
        text.push_str(&format!("\n~ pipeline {} ({})\n", p.name, p.region));
        if p.has_v1_sources() {
            text.push_str(&format!(
                "    save the declaration (token masked) as plans/pipelines/{}.v1.json\n",
                p.name
            ));
        }
        if let Some(r) = &role {
            text.push_str(&format!(
                "    allow role {r}: codestar-connections:UseConnection, codeconnections:UseConnection on the connection\n"
            ));
        }
        if !hooks.is_empty() {
            text.push_str(&format!(
                "    deregister and delete webhooks: {}\n",
                hooks.join(", ")
            ));
        }
        if diff.is_empty() {
            text.push_str("    (declaration unchanged)\n");
        } else {
            text.push_str(&diff);
        }
        items.push(json!({
            "region": p.region, "pipeline": p.name, "role": role, "webhooks": hooks,
            "diff": diff,
        }));
    }
    text.push_str(&format!(
        "\nDry run: {} pipelines would be migrated; nothing was changed.\n",
        selected.len()
    ));
    printer.data(&match g.output {
        Output::Json => serde_json::to_string_pretty(&json!({
            "account": account, "dry_run": true,
            "connections": connections, "pipelines": items,
        }))
        .expect("json"),
        Output::Text => text,
    });
    Ok(ExitStatus::Success)
}

// ---------------------------------------------------------------- rollback

async fn rollback_cmd(
    g: &GlobalArgs,
    account: Option<String>,
    pipeline: &str,
    token_env: &str,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    let valid = !pipeline.is_empty()
        && pipeline.len() <= 100
        && pipeline
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'@' | b'-' | b'_'));
    if !valid {
        return Err(CliError::invalid(format!(
            "--pipeline {pipeline}: not a pipeline name ([A-Za-z0-9.@_-], 1 to 100 characters)"
        )));
    }
    let token = token_from_env(token_env)?;
    let config = context::load_config(g)?;
    let path = SavedDeclaration::path(&save_dir(&config), pipeline);
    if !path.exists() {
        return Err(CliError::invalid(format!(
            "--pipeline {pipeline}: no saved declaration at {}",
            path.display()
        ))
        .hint("rollback restores what `orgsplit pipelines migrate` saved"));
    }
    let saved = SavedDeclaration::load(&path).map_err(pipelines_error)?;
    if saved.pipeline != pipeline {
        return Err(CliError::invalid(format!(
            "{}: holds pipeline {}, not {pipeline}",
            path.display(),
            saved.pipeline
        )));
    }
    if let Some(a) = &account
        && a != &saved.account
    {
        return Err(CliError::invalid(format!(
            "--account {a}: {} was saved from account {}",
            path.display(),
            saved.account
        )));
    }
    let aws = context::aws(g, &config).await?;
    let session = session(&aws, &saved.account).await?;
    printer.status(&format!(
        "restoring {} ({}) in {}",
        saved.pipeline, saved.region, saved.account
    ));
    let done = orgsplit_pipelines::rollback::rollback(&session, &saved, &token)
        .await
        .map_err(pipelines_error)?;
    drop(token);
    printer.data(&match g.output {
        Output::Json => serde_json::to_string_pretty(&json!({
            "account": saved.account, "from": path, "result": done,
        }))
        .expect("json"),
        Output::Text => {
            let mut parts = Vec::new();
            parts.push(format!(
                "v1 GitHub source restored from {} with the token",
                path.display()
            ));
            if !done.webhooks_created.is_empty() {
                parts.push(format!(
                    "webhooks created and registered: {}",
                    done.webhooks_created.join(", ")
                ));
            }
            parts.push("verified".into());
            format!(
                "{} {} ({}): {}\n",
                if done.changed() { "~" } else { " " },
                done.pipeline,
                done.region,
                parts.join("; ")
            )
        }
    });
    Ok(ExitStatus::Success)
}
