//! The EventBridge events that say an account appeared in, or moved to, an OU.
//!
//! Shapes follow AWS's documentation: Organizations events arrive through CloudTrail
//! (`source` `aws.organizations`): `CreateAccountResult` is a service event
//! (`detail-type` "AWS Service Event via CloudTrail", the account at
//! `detail.serviceEventDetails.createAccountStatus.accountId`, acted on only when its
//! `state` is `SUCCEEDED`, with no OU: the account lands under the root or wherever the
//! caller moves it next); `MoveAccount` is an API call ("AWS API Call via CloudTrail",
//! `detail.requestParameters.{accountId, sourceParentId, destinationParentId}`). Control
//! Tower's lifecycle events (`source` `aws.controltower`) `CreateManagedAccount` and
//! `UpdateManagedAccount` carry the account and its OU under
//! `detail.serviceEventDetails.createManagedAccountStatus` (or `updateManagedAccountStatus`).
//!
//! Pure: a function of the JSON handed in.

pub use orgsplit_model::is_account_id;
use orgsplit_model::quote::{cut, quote, quote_json};
use serde_json::Value;

/// What an event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Reconcile this account.
    Account(AccountEvent),
    /// An event of a kind the trigger does not handle (logged, exit 0).
    Ignored { why: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEvent {
    pub kind: EventKind,
    pub account_id: String,
    /// The OU the event says the account is now in, when it says one (a move's
    /// destination, Control Tower's OU). Only a hint: the reconcile asks Organizations.
    pub ou_hint: Option<String>,
    /// The parent a move came from.
    pub source_parent: Option<String>,
    /// The EventBridge event id, for logs.
    pub id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    CreateAccountResult,
    MoveAccount,
    CreateManagedAccount,
    UpdateManagedAccount,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CreateAccountResult => "CreateAccountResult",
            EventKind::MoveAccount => "MoveAccount",
            EventKind::CreateManagedAccount => "CreateManagedAccount",
            EventKind::UpdateManagedAccount => "UpdateManagedAccount",
        }
    }
}

/// Why an event is malformed: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct EventError {
    pub field: String,
    pub message: String,
}

fn malformed(field: &str, message: impl Into<String>) -> EventError {
    EventError { field: field.to_string(), message: message.into() }
}

/// The event names handled, per source: what `trigger install`'s rule matches.
pub const ORGANIZATIONS_EVENTS: &[&str] = &["CreateAccountResult", "MoveAccount"];
pub const CONTROL_TOWER_EVENTS: &[&str] = &["CreateManagedAccount", "UpdateManagedAccount"];

/// Parses one event. Malformed: not a JSON object, or an event of a handled name whose
/// account is missing or not a 12-digit id. Anything else unknown is `Ignored`.
pub fn parse(text: &str) -> Result<Event, EventError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| malformed("event", format!("not JSON: {e}")))?;
    parse_value(&v)
}

pub fn parse_value(v: &Value) -> Result<Event, EventError> {
    if !v.is_object() {
        return Err(malformed("event", "not a JSON object"));
    }
    let source = str_at(v, "/source").ok_or_else(|| malformed("source", "missing"))?;
    let Some(detail) = v.get("detail").filter(|d| d.is_object()) else {
        return Err(malformed("detail", "missing or not an object"));
    };
    let name = str_at(detail, "/eventName").unwrap_or_default();
    let id = str_at(v, "/id").map(str::to_string);
    let kind = match (source, name) {
        ("aws.organizations", "CreateAccountResult") => EventKind::CreateAccountResult,
        ("aws.organizations", "MoveAccount") => EventKind::MoveAccount,
        ("aws.controltower", "CreateManagedAccount") => EventKind::CreateManagedAccount,
        ("aws.controltower", "UpdateManagedAccount") => EventKind::UpdateManagedAccount,
        _ => {
            return Ok(Event::Ignored {
                why: format!(
                    "{} {} is not an event the trigger handles",
                    cut(source),
                    cut(if name.is_empty() {
                        str_at(v, "/detail-type").unwrap_or("(no detail-type)")
                    } else {
                        name
                    })
                ),
            });
        }
    };
    match kind {
        EventKind::CreateAccountResult => {
            let status = "/serviceEventDetails/createAccountStatus";
            let state = str_at(detail, &format!("{status}/state")).ok_or_else(|| {
                malformed("detail.serviceEventDetails.createAccountStatus.state", "missing")
            })?;
            if state != "SUCCEEDED" {
                return Ok(Event::Ignored {
                    why: format!(
                        "CreateAccountResult in state {}: no account to reconcile",
                        cut(state)
                    ),
                });
            }
            let account = account_at(
                detail,
                &format!("{status}/accountId"),
                "detail.serviceEventDetails.createAccountStatus.accountId",
            )?;
            Ok(Event::Account(AccountEvent {
                kind,
                account_id: account,
                ou_hint: None,
                source_parent: None,
                id,
            }))
        }
        EventKind::MoveAccount => {
            if let Some(code) = str_at(detail, "/errorCode") {
                return Ok(Event::Ignored {
                    why: format!("MoveAccount failed ({}): nothing moved", cut(code)),
                });
            }
            let account = account_at(
                detail,
                "/requestParameters/accountId",
                "detail.requestParameters.accountId",
            )?;
            let destination = parent_at(
                detail,
                "/requestParameters/destinationParentId",
                "detail.requestParameters.destinationParentId",
            )?;
            let source = parent_at(
                detail,
                "/requestParameters/sourceParentId",
                "detail.requestParameters.sourceParentId",
            )?;
            Ok(Event::Account(AccountEvent {
                kind,
                account_id: account,
                ou_hint: destination,
                source_parent: source,
                id,
            }))
        }
        EventKind::CreateManagedAccount | EventKind::UpdateManagedAccount => {
            let key = if kind == EventKind::CreateManagedAccount {
                "createManagedAccountStatus"
            } else {
                "updateManagedAccountStatus"
            };
            let status = format!("/serviceEventDetails/{key}");
            let field = |f: &str| format!("detail.serviceEventDetails.{key}.{f}");
            if let Some(state) = str_at(detail, &format!("{status}/state"))
                && state != "SUCCEEDED"
            {
                return Ok(Event::Ignored {
                    why: format!("{} in state {}: nothing to reconcile", kind.as_str(), cut(state)),
                });
            }
            let account = account_at(
                detail,
                &format!("{status}/account/accountId"),
                &field("account.accountId"),
            )?;
            let ou = parent_at(
                detail,
                &format!("{status}/organizationalUnit/organizationalUnitId"),
                &field("organizationalUnit.organizationalUnitId"),
            )?;
            Ok(Event::Account(AccountEvent {
                kind,
                account_id: account,
                ou_hint: ou,
                source_parent: None,
                id,
            }))
        }
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn account_at(v: &Value, pointer: &str, field: &str) -> Result<String, EventError> {
    match v.pointer(pointer) {
        Some(Value::String(s)) if is_account_id(s) => Ok(s.clone()),
        Some(Value::String(s)) => {
            Err(malformed(field, format!("{} is not a 12-digit account id", quote(s))))
        }
        Some(other) => {
            Err(malformed(field, format!("{} is not a 12-digit account id", quote_json(other))))
        }
        None => Err(malformed(field, "missing")),
    }
}

/// An optional OU or root id (`ou-…`, `r-…`); present but malformed is an error.
fn parent_at(v: &Value, pointer: &str, field: &str) -> Result<Option<String>, EventError> {
    match v.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if is_parent_id(s) => Ok(Some(s.clone())),
        Some(other) => {
            Err(malformed(field, format!("{} is not an OU or root id", quote_json(other))))
        }
    }
}

fn is_parent_id(s: &str) -> bool {
    (s.starts_with("ou-") || s.starts_with("r-"))
        && s.len() > 3
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path)
            .unwrap()
            .replace("ACCOUNT_ID", "210987654321")
            .replace("SOURCE_PARENT", "r-ab12")
            .replace("DESTINATION_PARENT", "ou-ab12-11111111")
            .replace("OU_ID", "ou-ab12-22222222")
    }

    fn account(text: &str) -> AccountEvent {
        match parse(text).unwrap() {
            Event::Account(a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn organizations_events_name_the_account() {
        let created = account(&fixture("create-account-result.json"));
        assert_eq!(created.kind, EventKind::CreateAccountResult);
        assert_eq!(created.account_id, "210987654321");
        assert_eq!(created.ou_hint, None);
        assert_eq!(created.id.as_deref(), Some("6f1b2d5e-0c61-4b2a-9f3e-2d0c1f6a7b8c"));
        let moved = account(&fixture("move-account.json"));
        assert_eq!(moved.kind, EventKind::MoveAccount);
        assert_eq!(moved.account_id, "210987654321");
        assert_eq!(moved.ou_hint.as_deref(), Some("ou-ab12-11111111"));
        assert_eq!(moved.source_parent.as_deref(), Some("r-ab12"));
    }

    #[test]
    fn control_tower_events_name_the_account_and_ou() {
        for (file, kind) in [
            ("create-managed-account.json", EventKind::CreateManagedAccount),
            ("update-managed-account.json", EventKind::UpdateManagedAccount),
        ] {
            let e = account(&fixture(file));
            assert_eq!(e.kind, kind);
            assert_eq!(e.account_id, "210987654321");
            assert_eq!(e.ou_hint.as_deref(), Some("ou-ab12-22222222"));
        }
    }

    #[test]
    fn other_events_are_ignored() {
        assert!(matches!(parse(&fixture("other-event.json")).unwrap(), Event::Ignored { .. }));
        let failed = fixture("create-account-result.json").replace("\"SUCCEEDED\"", "\"FAILED\"");
        let Event::Ignored { why } = parse(&failed).unwrap() else {
            panic!("a FAILED creation is not acted on")
        };
        assert!(why.contains("FAILED"), "{why}");
        let mut v: Value = serde_json::from_str(&fixture("move-account.json")).unwrap();
        v["detail"]["errorCode"] = "AccessDenied".into();
        assert!(matches!(parse_value(&v).unwrap(), Event::Ignored { .. }));
        let s3 = r#"{"source": "aws.s3", "detail-type": "Object Created", "detail": {}}"#;
        assert!(matches!(parse(s3).unwrap(), Event::Ignored { .. }));
    }

    #[test]
    fn malformed_events_name_the_field() {
        let cases = [
            ("not json", "event"),
            ("[1]", "event"),
            (r#"{"detail": {}}"#, "source"),
            (r#"{"source": "aws.organizations"}"#, "detail"),
        ];
        for (text, field) in cases {
            assert_eq!(parse(text).unwrap_err().field, field, "{text}");
        }
        let no_id = fixture("create-account-result.json").replace("\"210987654321\"", "null");
        assert_eq!(
            parse(&no_id).unwrap_err().field,
            "detail.serviceEventDetails.createAccountStatus.accountId"
        );
        let bad_id = fixture("move-account.json").replace("210987654321", "21098765");
        let err = parse(&bad_id).unwrap_err();
        assert_eq!(err.field, "detail.requestParameters.accountId");
        assert!(err.message.contains("12-digit"), "{err}");
        let bad_ou = fixture("create-managed-account.json").replace("ou-ab12-22222222", "sales");
        assert_eq!(
            parse(&bad_ou).unwrap_err().field,
            "detail.serviceEventDetails.createManagedAccountStatus.organizationalUnit.organizationalUnitId"
        );
    }
}
