//! `orgsplit pipelines rollback`: a migrated pipeline back to its saved declaration.

use super::*;

pub(super) async fn rollback_cmd(
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
    printer
        .status(&format!("restoring {} ({}) in {}", saved.pipeline, saved.region, saved.account));
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
            parts.push(format!("v1 GitHub source restored from {} with the token", path.display()));
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
