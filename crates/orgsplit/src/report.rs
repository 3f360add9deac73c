//! How one account's reconciliation is reported, by `reconcile` and by the trigger.

use orgsplit_stacksets::reconcile::AccountReconcile;
use serde_json::json;

pub(crate) fn report_json(r: &AccountReconcile) -> serde_json::Value {
    json!({
        "account": r.account_id,
        "ou": r.ou_name,
        "changed": r.changed(),
        "stacksets_created": r.stacksets_created,
        "stacksets_updated": r.stacksets_updated,
        "instances_created": r.instances_created,
        "instances_removed": r.instances_removed,
        "roles_verified": r.roles_verified,
        "skipped": r.skipped,
    })
}

pub(crate) fn report_line(r: &AccountReconcile) -> String {
    if let Some(why) = &r.skipped {
        return format!("{}: skipped: {why}\n", r.account_id);
    }
    let mut parts = Vec::new();
    for (label, items) in [
        ("StackSets created", &r.stacksets_created),
        ("StackSets updated", &r.stacksets_updated),
        ("instances created", &r.instances_created),
        ("instances removed", &r.instances_removed),
    ] {
        if !items.is_empty() {
            parts.push(format!("{label}: {}", items.join(", ")));
        }
    }
    if parts.is_empty() {
        parts.push("unchanged".into());
    }
    if !r.roles_verified.is_empty() {
        parts.push(format!("trust verified: {}", r.roles_verified.join(", ")));
    }
    format!(
        "{} (OU {}): {}\n",
        r.account_id,
        r.ou_name.as_deref().unwrap_or("none of the configured"),
        parts.join("; ")
    )
}
