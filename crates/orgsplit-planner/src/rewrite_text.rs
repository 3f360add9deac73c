//! The rewriter on a configuration's compact JSON text: what [`Rewriter::rewrite`] makes of
//! its tree, without building the tree.
//!
//! A 100,000-resource plan copies about 27,000 configurations that name the source account
//! (roles, task definitions, pipelines, …). Parsing each into a tree, rewriting a few strings
//! and writing the tree back as text took a third of the planner's time. Here the text is
//! walked once: every string goes through the same rule as the tree's
//! ([`Rewriter::member_string`]), and only what changes is spliced into a copy. What the tree
//! would write differently from the text (an escape written another way, a number such as
//! `1.50`) is written as the tree would, so both give the same bytes (checked by
//! `the_text_rewrite_is_the_tree_rewrite` and by the planner's
//! `a_plan_of_the_inventory_read_as_text_is_the_plan_of_its_trees`).

use serde_json::Value;
use std::borrow::Cow;
use std::ops::Range;

use crate::rewrite::{Rewriter, Rewritten};

impl Rewriter<'_> {
    /// `text` (compact JSON) rewritten for the target, compact; `None` when it stays as it is
    /// (and nothing is noted). `Err(())` when `text` is not compact JSON: the caller
    /// rewrites its tree instead.
    #[allow(clippy::result_unit_err)]
    pub fn rewrite_text(&self, text: &str, out: &mut Rewritten) -> Result<Option<String>, ()> {
        let mut walk = Walk { text, pos: 0, edits: Vec::new(), notes: Rewritten::default() };
        walk.value(self, None).ok_or(())?;
        if walk.pos != text.len() {
            return Err(());
        }
        out.notes.append(&mut walk.notes.notes);
        if walk.edits.is_empty() {
            return Ok(None);
        }
        let mut rewritten = String::with_capacity(text.len() + 64 * walk.edits.len());
        let mut from = 0;
        for (range, with) in &walk.edits {
            rewritten.push_str(&text[from..range.start]);
            rewritten.push_str(with);
            from = range.end;
        }
        rewritten.push_str(&text[from..]);
        Ok(Some(rewritten))
    }
}

/// A walk through compact JSON text, collecting the spans to replace (in order).
struct Walk<'t> {
    text: &'t str,
    pos: usize,
    edits: Vec<(Range<usize>, String)>,
    /// Kept apart until the walk succeeds: a text that cannot be walked notes nothing.
    notes: Rewritten,
}

impl<'t> Walk<'t> {
    fn next_byte(&mut self) -> Option<u8> {
        let b = *self.text.as_bytes().get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// The value at `pos`, whose member is `key` (an array's items inherit it, as in the
    /// tree's walk).
    fn value(&mut self, rw: &Rewriter<'_>, key: Option<&str>) -> Option<()> {
        match self.peek()? {
            b'{' => {
                self.pos += 1;
                if self.peek()? == b'}' {
                    self.pos += 1;
                    return Some(());
                }
                loop {
                    let start = self.pos;
                    let (member, respelled) = self.string()?;
                    if let Some(written) = respelled {
                        self.edits.push((start..self.pos, written));
                    }
                    if self.next_byte()? != b':' {
                        return None;
                    }
                    self.value(rw, Some(&member))?;
                    match self.next_byte()? {
                        b',' => continue,
                        b'}' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                if self.peek()? == b']' {
                    self.pos += 1;
                    return Some(());
                }
                loop {
                    self.value(rw, key)?;
                    match self.next_byte()? {
                        b',' => continue,
                        b']' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b'"' => {
                let start = self.pos;
                let (s, respelled) = self.string()?;
                let written = match rw.member_string(key, &s, &mut self.notes) {
                    Some(rewritten) => Some(serde_json::to_string(&rewritten).ok()?),
                    None => respelled,
                };
                if let Some(written) = written {
                    self.edits.push((start..self.pos, written));
                }
                Some(())
            }
            b't' | b'f' | b'n' => {
                let start = self.pos;
                while self.peek().is_some_and(|b| b.is_ascii_lowercase()) {
                    self.pos += 1;
                }
                matches!(&self.text[start..self.pos], "true" | "false" | "null").then_some(())
            }
            _ => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                {
                    self.pos += 1;
                }
                let token = &self.text[start..self.pos];
                // The tree holds the number, not its spelling: write it as the tree would.
                let number: serde_json::Number = serde_json::from_str(token).ok()?;
                let written = Value::Number(number).to_string();
                if written != token {
                    self.edits.push((start..self.pos, written));
                }
                Some(())
            }
        }
    }

    /// The string at `pos` (a member's name or a value), decoded; with escapes, also its
    /// spelling as the tree would write it (serde_json's escapes) when that differs.
    fn string(&mut self) -> Option<(Cow<'t, str>, Option<String>)> {
        let start = self.pos;
        if self.next_byte()? != b'"' {
            return None;
        }
        let mut escaped = false;
        loop {
            match self.next_byte()? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.next_byte()?;
                }
                _ => {}
            }
        }
        let text = self.text;
        if !escaped {
            // Without escapes, serde_json writes the characters as they are (a control
            // character, the only other thing it escapes, cannot appear unescaped in JSON).
            return Some((Cow::Borrowed(&text[start + 1..self.pos - 1]), None));
        }
        let decoded: String = serde_json::from_str(&text[start..self.pos]).ok()?;
        let written = serde_json::to_string(&decoded).ok()?;
        let respelled = (written != text[start..self.pos]).then_some(written);
        Some((Cow::Owned(decoded), respelled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::Rewriter;

    fn rewriter_check(text: &str) -> (Option<String>, Vec<String>) {
        let copied = |arn: &str| arn.ends_with(":role/prod-task") || arn.ends_with(":key/k-1");
        let known = |arn: &str| copied(arn) || arn.contains("parameter/dev/");
        let rw = Rewriter {
            partition: "aws",
            source_account: "111111111111",
            target_account: "${account:prod-workloads}",
            is_copied: &copied,
            is_known: &known,
            bucket_copy: &|name: &str| {
                (name == "acme-state").then(|| "acme-state-${account:prod-workloads}".to_string())
            },
            secret_copy: &|_: &str| None,
            key_copy: &|arn: &str| {
                arn.ends_with(":key/k-1").then(|| "prod/prod-workloads/kms:prod/app".to_string())
            },
        };
        let mut tree: Value = serde_json::from_str(text).expect("test JSON");
        let mut tree_notes = Rewritten::default();
        rw.rewrite(&mut tree, &mut tree_notes);
        let mut text_notes = Rewritten::default();
        let rewritten = rw.rewrite_text(text, &mut text_notes).expect("compact JSON walks");
        let as_text = rewritten.clone().unwrap_or_else(|| text.to_string());
        assert_eq!(as_text, tree.to_string(), "the text rewrite of {text} is the tree's");
        assert_eq!(text_notes.notes, tree_notes.notes, "the same notes for {text}");
        (rewritten, text_notes.notes.into_iter().collect())
    }

    #[test]
    fn the_text_rewrite_is_the_tree_rewrite() {
        let cases = [
            r#"{"taskRoleArn":"arn:aws:iam::111111111111:role/prod-task","n":3,"ok":true,"none":null}"#,
            r#"{"image":"111111111111.dkr.ecr.us-east-1.amazonaws.com/app:1","x":[1,2.5,-3,1e3]}"#,
            r#"{"Resource":["arn:aws:s3:::acme-state/*","arn:aws:ssm:us-east-1:111111111111:parameter/dev/b"]}"#,
            r#"{"environment":[{"name":"B","value":"acme-state"},{"name":"acme-state","value":"s3://acme-state/x"}]}"#,
            r#"{"Targets":[{"Input":"{\"a\": {\"value\": \"acme-state\"}, \"r\": \"arn:aws:iam::111111111111:role/prod-task\"}"}]}"#,
            r#"{"Input":"{not json arn:aws:iam::111111111111:role/prod-task"}"#,
            r#"{"esc\u0061ped":"arn:aws:iam::111111111111:role\/prod-task","tab":"a\tb","u":"\u00e9t\u00e9"}"#,
            r#"{"key":"arn:aws:kms:us-east-1:111111111111:key/k-1","account":"111111111111","f":1.50,"big":18446744073709551616}"#,
            r#"[{},[],"",0,-0,{"a":[]}]"#,
            r#""111111111111""#,
        ];
        for text in cases {
            rewriter_check(text);
        }
        let (unchanged, notes) =
            rewriter_check(r#"{"a":"arn:aws:iam::222222222222:role/x","n":[1,2]}"#);
        assert_eq!((unchanged, notes.len()), (None, 0), "nothing to change: the source's text");
        let (changed, notes) =
            rewriter_check(r#"{"r":"arn:aws:ssm:us-east-1:111111111111:parameter/dev/b"}"#);
        assert_eq!(changed, None, "a kept ARN changes nothing");
        assert_eq!(notes.len(), 1, "but is noted: {notes:?}");
    }

    #[test]
    fn text_that_is_not_compact_json_is_refused() {
        let rw = Rewriter {
            partition: "aws",
            source_account: "111111111111",
            target_account: "222222222222",
            is_copied: &|_: &str| true,
            is_known: &|_: &str| true,
            bucket_copy: &|_: &str| None,
            secret_copy: &|_: &str| None,
            key_copy: &|_: &str| None,
        };
        for text in [r#"{"a": 1}"#, r#"{"a":1"#, r#"{"a":1}x"#, r#"{"a":tru}"#, r#"["a",]"#, ""] {
            let mut notes = Rewritten::default();
            assert_eq!(rw.rewrite_text(text, &mut notes), Err(()), "{text:?}");
            assert!(notes.notes.is_empty(), "{text:?} noted nothing");
        }
    }
}
