//! `orgsplit audit [--account ID]... [--fail-on high|medium|low]`.

use orgsplit_audit::{AccountRole, AuditOptions, AuditReport, AuditedAccount, Severity};
use time::OffsetDateTime;

use crate::cli::{FailOn, GlobalArgs, Output};
use crate::context::{aws, check_account_ids, load_config};
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;
use crate::progress::AuditProgress;

pub async fn run(
    g: &GlobalArgs,
    accounts: &[String],
    fail_on: Option<FailOn>,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    check_account_ids(accounts)?;
    let config = load_config(g)?;
    let aws = aws(g, &config).await?;
    let opts = AuditOptions { accounts: accounts.to_vec(), now: OffsetDateTime::now_utc() };
    let progress = AuditProgress::new(printer.progress);
    let result = orgsplit_audit::audit(&aws, &config, &opts, &progress).await;
    progress.finish();
    let report = result.map_err(audit_error)?;
    match g.output {
        Output::Json => {
            printer.data(&serde_json::to_string_pretty(&report).expect("report serialises"))
        }
        Output::Text => printer.data(&render(&report, printer.color_stdout)),
    }
    let unread: Vec<&AuditedAccount> =
        report.accounts.iter().filter(|a| a.error.is_some()).collect();
    if let Some(first) = unread.first() {
        return Err(CliError::failure(format!(
            "audit: {} accounts could not be read (first: {}: {})",
            unread.len(),
            first.account_id,
            first.error.as_deref().unwrap_or_default()
        ))
        .hint(
            "check that the access role exists in those accounts and trusts the management account",
        ));
    }
    if let Some(threshold) = fail_on {
        let threshold = match threshold {
            FailOn::High => Severity::High,
            FailOn::Medium => Severity::Medium,
            FailOn::Low => Severity::Low,
        };
        let failing = report.findings.iter().filter(|f| f.severity >= threshold).count();
        if failing > 0 {
            return Err(CliError::failure(format!(
                "audit: {failing} findings at or above {threshold} (--fail-on {threshold})"
            )));
        }
    }
    Ok(ExitStatus::Success)
}

fn audit_error(e: orgsplit_audit::AuditError) -> CliError {
    match e {
        orgsplit_audit::AuditError::Inventory(i) => (*i).into(),
        orgsplit_audit::AuditError::Aws(a) => (*a).into(),
        other @ orgsplit_audit::AuditError::UnknownAccount { .. } => {
            CliError::invalid(other.to_string())
        }
    }
}

fn describe(a: &AuditedAccount) -> String {
    let role = match a.role {
        AccountRole::Management => "management account",
        AccountRole::Source => "source account",
        AccountRole::Member => "member account",
    };
    let place = a.ou.as_deref().map_or_else(|| "at the root".to_string(), |ou| format!("OU {ou}"));
    format!("{} {} ({role}, {place})", a.account_id, a.name)
}

fn painted(severity: Severity, color: bool) -> String {
    let code = match severity {
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    };
    if color { format!("\x1b[{code}m{severity}\x1b[0m") } else { severity.to_string() }
}

/// Findings grouped by account, then severity (most severe first).
pub fn render(report: &AuditReport, color: bool) -> String {
    let mut out = String::new();
    let width = report.findings.iter().map(|f| f.code.as_str().len()).max().unwrap_or(0);
    for account in &report.accounts {
        let findings: Vec<_> = report.findings_of(&account.account_id).collect();
        if let Some(e) = &account.error {
            out.push_str(&format!("{}: not audited: {e}\n\n", describe(account)));
            continue;
        }
        if let Some(why) = &account.skipped {
            out.push_str(&format!("{}: skipped: {why}\n\n", describe(account)));
            continue;
        }
        if findings.is_empty() {
            out.push_str(&format!(
                "{}: no findings ({} resources read)\n\n",
                describe(account),
                account.resources
            ));
            continue;
        }
        out.push_str(&format!("{}: {}\n", describe(account), count(findings.len(), "finding")));
        for severity in Severity::DESCENDING {
            let of: Vec<_> = findings.iter().filter(|f| f.severity == severity).collect();
            if of.is_empty() {
                continue;
            }
            out.push_str(&format!("  {}\n", painted(severity, color)));
            for f in of {
                let region = f.region.as_deref().map(|r| format!("[{r}] ")).unwrap_or_default();
                out.push_str(&format!(
                    "    {:width$}  {region}{}\n    {:width$}  fix: {}\n",
                    f.code.as_str(),
                    f.message,
                    "",
                    f.fix
                ));
            }
        }
        out.push('\n');
    }
    let s = &report.summary;
    out.push_str(&format!(
        "Audit of {} ({} not audited): {}: {} high, {} medium, {} low, {} info.\n",
        count(s.accounts, "account"),
        s.not_audited,
        count(report.findings.len(), "finding"),
        s.high,
        s.medium,
        s.low,
        s.info
    ));
    out
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orgsplit_audit::{Finding, FindingCode, REPORT_SCHEMA_VERSION, Summary};

    fn account(id: &str, name: &str, role: AccountRole, ou: Option<&str>) -> AuditedAccount {
        AuditedAccount {
            account_id: id.into(),
            name: name.into(),
            role,
            ou: ou.map(str::to_string),
            audited: true,
            error: None,
            skipped: None,
            resources: 12,
        }
    }

    #[test]
    fn text_is_grouped_by_account_then_severity() {
        let mut unread = account("333333333333", "broken", AccountRole::Member, Some("dev"));
        unread.audited = false;
        unread.error = Some("cannot assume role arn:aws:iam::333333333333:role/X".into());
        let mut report = AuditReport {
            schema_version: REPORT_SCHEMA_VERSION,
            orgsplit_version: "0.1.0".into(),
            audited_at: "2026-11-23T12:00:00Z".into(),
            organization_id: "o-abc123".into(),
            management_account_id: "123456789012".into(),
            max_task_hours: 24,
            accounts: vec![
                account("123456789012", "management", AccountRole::Management, None),
                account("111111111111", "shared", AccountRole::Source, None),
                account("222222222222", "dev-workloads", AccountRole::Member, Some("dev")),
                unread,
            ],
            findings: vec![
                Finding::new(FindingCode::NoBudget, "111111111111", "no budget", "create one"),
                Finding::new(
                    FindingCode::V1GithubSource,
                    "111111111111",
                    "pipeline p uses a v1 source",
                    "orgsplit pipelines migrate --pipeline p",
                )
                .region("us-east-1")
                .resource("p"),
                Finding::new(
                    FindingCode::AccessRoleAdmin,
                    "123456789012",
                    "access role is admin",
                    "narrow it",
                ),
            ],
            summary: Summary::default(),
        };
        report.seal();
        insta::assert_snapshot!(render(&report, false), @r"
        111111111111 shared (source account, at the root): 2 findings
          high
            v1-github-source   [us-east-1] pipeline p uses a v1 source
                               fix: orgsplit pipelines migrate --pipeline p
          medium
            no-budget          no budget
                               fix: create one

        123456789012 management (management account, at the root): 1 finding
          info
            access-role-admin  access role is admin
                               fix: narrow it

        222222222222 dev-workloads (member account, OU dev): no findings (12 resources read)

        333333333333 broken (member account, OU dev): not audited: cannot assume role arn:aws:iam::333333333333:role/X

        Audit of 4 accounts (1 not audited): 3 findings: 1 high, 1 medium, 0 low, 1 info.
        ");
    }
}
