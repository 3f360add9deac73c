//! `orgsplit pipelines migrate`: v1 GitHub sources to CodeConnections sources.

use super::*;
use crate::report::Batch;

pub(super) async fn migrate_cmd(
    g: &GlobalArgs,
    account: Option<String>,
    choice: ConnectionChoice,
    only: &[String],
    dry_run: bool,
    yes: bool,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    let config = context::load_config(g)?;
    let account = account_arg(account, &config)?;
    if let ConnectionChoice::Arn(arn) = &choice {
        let ok = arn.starts_with("arn:")
            && (arn.contains(":codestar-connections:") || arn.contains(":codeconnections:"))
            && arn_region(arn).is_some();
        if !ok {
            return Err(CliError::invalid(format!(
                "--connection-arn {arn}: not a connection ARN (arn:aws:codeconnections:REGION:ACCOUNT:connection/ID)"
            )));
        }
    }
    if let ConnectionChoice::Create(name) = &choice
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
        let (found, _) = scan::pipelines(&session, region, only).await.map_err(pipelines_error)?;
        selected.extend(found);
    }
    for name in only {
        if !selected.iter().any(|p| &p.name == name) {
            // Either absent or already converted with no webhook left.
            let exists = selection::pipeline_exists(&session, &config.regions, name)
                .await
                .map_err(pipelines_error)?;
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
        ConnectionChoice::Arn(_) => Some(
            selection::resolve_connections(&session, &choice, &regions, &config.home_region, false)
                .await
                .map_err(pipelines_error)?,
        ),
        ConnectionChoice::Create(_) => None,
        // Read (not made) before anything is asked: a dry run shows it, or that it is to be made.
        ConnectionChoice::Organization => {
            let org = OrgConnection::resolve(&aws, &config).await?;
            let found = org.find().await?;
            Some(regions.iter().map(|r| (r.clone(), found.clone())).collect())
        }
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
            None => selection::resolve_connections(
                &session,
                &choice,
                &regions,
                &config.home_region,
                false,
            )
            .await
            .map_err(pipelines_error)?,
        };
        return dry_run_report(g, &account, &selected, &connections, printer);
    }

    context::confirm(
        &format!(
            "Convert {} pipelines of account {account} to CodeStar Connections ({})?",
            selected.len(),
            selected.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
        "pipelines migrate",
        &format!("{} pipelines", selected.len()),
        "review with --dry-run, then pass --yes",
        yes,
        printer,
    )?;
    let connections = match (&choice, given) {
        (ConnectionChoice::Organization, _) => {
            let org = OrgConnection::resolve(&aws, &config).await?;
            let arn = org.find_create_and_share(&account).await?;
            let shared = ConnectionChoice::Arn(arn);
            selection::resolve_connections(&session, &shared, &regions, &config.home_region, false)
                .await
                .map_err(pipelines_error)?
        }
        (_, Some(c)) => c,
        (_, None) => {
            selection::resolve_connections(&session, &choice, &regions, &config.home_region, true)
                .await
                .map_err(pipelines_error)?
        }
    };
    // One connection serves every region: each is listed once.
    let mut waiting: Vec<&ConnectionInfo> =
        connections.values().flatten().filter(|c| !c.is_available()).collect();
    waiting.sort_by(|a, b| a.arn.cmp(&b.arn));
    waiting.dedup_by(|a, b| a.arn == b.arn);
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
        let arn =
            &connections[&p.region].as_ref().expect("every region's connection was resolved").arn;
        printer.status(&format!("migrating {} ({})", p.name, p.region));
        match migrate::migrate(&session, p, arn, &dir, &now).await {
            Ok(m) => done.push(m),
            Err(e) => failed.push((p.name.clone(), e.to_string())),
        }
    }
    for w in done.iter().flat_map(|m| &m.warnings) {
        printer.warn(w);
    }
    let batch = Batch {
        command: "pipelines migrate",
        done: "Migrated",
        items: "pipelines",
        asked: selected.len(),
        changed: done.iter().filter(|m| m.changed()).count(),
        unchanged: done.iter().filter(|m| !m.changed()).count(),
        failures: &failed,
    };
    let json = json!({
        "account": account,
        "connections": connections.values().flatten().collect::<Vec<_>>(),
        "pipelines": done,
        "failed": failed.iter().map(|(p, e)| json!({"pipeline": p, "error": e})).collect::<Vec<_>>(),
    });
    batch.print(printer, g.output, json, done.iter().map(migrated_line).collect(), "! ");
    batch.status()
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
        parts.push(format!("webhooks deleted: {}", m.webhooks_deleted.join(", ")));
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
                "arn:{}:codeconnections:{region}:{account}:connection/(created by migrate)",
                orgsplit_model::arn::partition_of_region(region)
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
            .header(&format!("{} (now)", p.name), &format!("{} (after migrate)", p.name))
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
            text.push_str(&format!("    deregister and delete webhooks: {}\n", hooks.join(", ")));
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

/// `--org-connection`: the organization's connection (`[connection]`), in its owner's account.
struct OrgConnection {
    aws: Aws,
    owner: String,
    name: String,
    region: String,
}

impl OrgConnection {
    async fn resolve(aws: &Aws, config: &Config) -> Result<OrgConnection, CliError> {
        // orgsplit runs as the management account.
        let management = aws.caller().await?.0;
        let owner = config.connection.owner_id(&management, &config.source_account_id).to_string();
        Ok(OrgConnection {
            aws: aws.clone(),
            owner,
            name: config.connection.name.clone(),
            region: config.home_region.clone(),
        })
    }

    async fn find(&self) -> Result<Option<ConnectionInfo>, CliError> {
        let owner = session(&self.aws, &self.owner).await?;
        let client = owner.codeconnections(&self.region);
        connection::find(&client, &self.owner, &self.region, &self.name, "GitHub", true)
            .await
            .map_err(|e| pipelines_error(e.into()))
    }

    /// Found or created in the owner's account, then shared with `account` (sharing with the
    /// organization enabled first, from the management account): its ARN.
    async fn find_create_and_share(&self, account: &str) -> Result<String, CliError> {
        let owner = session(&self.aws, &self.owner).await?;
        let client = owner.codeconnections(&self.region);
        let (found, _) = connection::find_or_create(
            &client,
            &self.owner,
            &self.region,
            &self.name,
            "GitHub",
            true,
        )
        .await
        .map_err(|e| pipelines_error(e.into()))?;
        if account != self.owner {
            let mgmt = session(&self.aws, &self.aws.caller().await?.0).await?;
            orgsplit_pipelines::share::enable_org_sharing(&mgmt, &self.region)
                .await
                .map_err(|e| pipelines_error(e.into()))?;
            orgsplit_pipelines::share::ensure_shared(
                &owner.ram(&self.region),
                &self.owner,
                &self.region,
                &self.name,
                &found.arn,
                account,
            )
            .await
            .map_err(|e| pipelines_error(e.into()))?;
            let consumer = session(&self.aws, account).await?.codeconnections(&self.region);
            let readable = orgsplit_pipelines::share::wait_until_readable(
                &consumer,
                account,
                &self.region,
                &found.arn,
            )
            .await?;
            if !readable {
                return Err(CliError::failure(format!(
                    "connection {} was shared with account {account}, which still cannot read it: run migrate again in a few minutes",
                    found.arn
                )));
            }
        }
        Ok(found.arn)
    }
}
