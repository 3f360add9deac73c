//! `orgsplit pipelines scan`: v1 GitHub sources and where their token also lives.

use super::*;

pub(super) async fn scan_cmd(
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
        .map(|s| s.parse().map_err(|e: String| CliError::invalid(format!("--tfstate {e}"))))
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
    let token = token_env.map(token_from_env).transpose()?.map(|t| Arc::new(TokenMatcher::new(&t)));
    let aws = context::aws(g, &config).await?;
    let session = session(&aws, &account).await?;

    let mut pipelines = Vec::new();
    let mut total = 0;
    for region in &config.regions {
        printer.status(&format!("reading pipelines in {account} ({region})"));
        let (found, n) = scan::pipelines(&session, region, &[]).await.map_err(pipelines_error)?;
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
            if n > 1 { format!(" (and {} more)", n - 1) } else { String::new() }
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
                if hooks.is_empty() { String::new() } else { format!(" ({})", hooks.join(", ")) }
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
            s.scan.references.iter().any(|r| matches!(r.form, TokenForm::Raw | TokenForm::Hashed))
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
