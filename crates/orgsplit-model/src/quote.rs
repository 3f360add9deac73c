//! Quoting a value a user gave inside an error line: short enough to read on one line,
//! whatever its size (an event field can be megabytes).

use serde_json::Value;

/// The most characters of a value an error line shows.
pub const QUOTE_MAX_CHARS: usize = 60;

/// `"value"` (Rust string escaping), cut to [`QUOTE_MAX_CHARS`] characters with `…` and the
/// full length when longer.
pub fn quote(value: &str) -> String {
    let total = value.chars().count();
    if total <= QUOTE_MAX_CHARS {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(QUOTE_MAX_CHARS).collect();
    format!("{head:?}… ({total} characters)")
}

/// The value itself, unquoted, cut like [`quote`]: for values shown inside a sentence.
pub fn cut(value: &str) -> String {
    let total = value.chars().count();
    if total <= QUOTE_MAX_CHARS {
        return value.to_string();
    }
    let head: String = value.chars().take(QUOTE_MAX_CHARS).collect();
    format!("{head}… ({total} characters)")
}

/// A JSON value as it would be written, cut like [`quote`] (strings keep their quotes).
pub fn quote_json(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        other => {
            let text = other.to_string();
            let total = text.chars().count();
            if total <= QUOTE_MAX_CHARS {
                text
            } else {
                let head: String = text.chars().take(QUOTE_MAX_CHARS).collect();
                format!("{head}… ({total} characters)")
            }
        }
    }
}

/// A message with every double-quoted run longer than [`QUOTE_MAX_CHARS`] cut, and the whole
/// message cut at 20 times that: the last line of defence for values quoted with `{:?}`.
pub fn cut_quoted_runs(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(4096));
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        // A quoted run: up to the next unescaped quote.
        let mut run = String::new();
        let mut closed = false;
        let mut count = 0usize;
        while let Some(q) = chars.next() {
            if q == '\\' {
                if let Some(next) = chars.next() {
                    count += 1;
                    if count <= QUOTE_MAX_CHARS {
                        run.push(q);
                        run.push(next);
                    }
                }
                continue;
            }
            if q == '"' {
                closed = true;
                break;
            }
            count += 1;
            if count <= QUOTE_MAX_CHARS {
                run.push(q);
            }
        }
        out.push('"');
        out.push_str(&run);
        if closed {
            out.push('"');
        }
        if count > QUOTE_MAX_CHARS {
            out.push_str(&format!("… ({count} characters)"));
        }
    }
    let limit = QUOTE_MAX_CHARS * 20;
    if out.chars().count() > limit {
        let head: String = out.chars().take(limit).collect();
        return format!("{head}…");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_values_are_quoted_whole() {
        assert_eq!(quote("12345"), "\"12345\"");
        assert_eq!(quote_json(&json!(12)), "12");
        assert_eq!(quote_json(&json!("x")), "\"x\"");
    }

    #[test]
    fn long_values_are_cut_with_their_length() {
        let big = "a".repeat(5_000_000);
        let q = quote(&big);
        assert!(q.len() < 100, "{q}");
        assert!(q.ends_with("… (5000000 characters)"), "{q}");
        let q = quote_json(&json!([big]));
        assert!(q.len() < 100 && q.ends_with("(5000004 characters)"), "{q}");
    }

    #[test]
    fn quoted_runs_in_a_message_are_cut() {
        let msg = format!("field x: {:?} is not an id; {:?} ok", "9".repeat(1000), "short");
        let cut = cut_quoted_runs(&msg);
        assert!(cut.len() < 200, "{cut}");
        assert!(cut.contains("… (1000 characters)") && cut.ends_with("\"short\" ok"), "{cut}");
        assert_eq!(cut_quoted_runs("no quotes here"), "no quotes here");
        assert_eq!(cut_quoted_runs("an \"escaped \\\" quote\""), "an \"escaped \\\" quote\"");
        assert!(cut_quoted_runs(&"x".repeat(5000)).chars().count() <= QUOTE_MAX_CHARS * 20 + 1);
    }

    #[test]
    fn cutting_respects_character_boundaries() {
        let q = quote(&"é".repeat(100));
        assert!(q.starts_with("\"éé") && q.contains("(100 characters)"), "{q}");
    }
}
