//! The journal file beside the plan (`PLAN.journal.jsonl`): append-only JSON lines, each
//! written whole and fsync'd before the step it records goes on.
//!
//! A `kill -9` can interrupt a write, leaving a last line without its newline: opening the
//! journal cuts that torn tail off (it never reached the disk as a record). A malformed
//! line anywhere else means the file was edited, and is an error.

use orgsplit_model::journal::{JournalEvent, JournalRecord, StepState, fold};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: not a journal record: {message}")]
    Malformed { path: PathBuf, line: usize, message: String },
    #[error(
        "{path} belongs to another plan (digest {found}, this plan is {expected}): it was written by an apply of a different plan file"
    )]
    OtherPlan { path: PathBuf, found: String, expected: String },
}

pub struct Journal {
    path: PathBuf,
    file: File,
    plan_digest: String,
    records: Vec<JournalRecord>,
}

/// `plan.json` -> `plan.json.journal.jsonl`.
pub fn journal_path(plan: &Path) -> PathBuf {
    let mut name = plan.file_name().unwrap_or_default().to_os_string();
    name.push(".journal.jsonl");
    plan.with_file_name(name)
}

impl Journal {
    /// Reads the records so far (none when the file is new) and opens it for appending.
    pub fn open(path: &Path, plan_digest: &str) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io { path: path.to_path_buf(), source };
        let mut file = open_beside_plan(path).map_err(io)?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(io)?;
        let complete = match text.rfind('\n') {
            Some(end) => end + 1,
            None => 0,
        };
        if complete < text.len() {
            tracing::warn!(path = %path.display(), bytes = text.len() - complete, "cutting off a torn last journal line (an interrupted write)");
            file.set_len(complete as u64).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        let records = parse(path, &text[..complete])?;
        if let Some(other) = records.iter().find(|r| r.plan_digest != plan_digest) {
            return Err(JournalError::OtherPlan {
                path: path.to_path_buf(),
                found: other.plan_digest.clone(),
                expected: plan_digest.to_string(),
            });
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            plan_digest: plan_digest.to_string(),
            records,
        })
    }

    pub fn records(&self) -> &[JournalRecord] {
        &self.records
    }

    pub fn states(&self) -> BTreeMap<String, StepState> {
        fold(&self.records)
    }

    /// Appends one record and waits until it is on disk.
    pub fn append(&mut self, address: &str, event: JournalEvent) -> Result<(), JournalError> {
        let record = JournalRecord {
            time: now(),
            plan_digest: self.plan_digest.clone(),
            address: address.to_string(),
            event,
        };
        let mut line = serde_json::to_string(&record).expect("journal records serialise");
        line.push('\n');
        let io = |source| JournalError::Io { path: self.path.clone(), source };
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.records.push(record);
        Ok(())
    }
}

/// Reads a journal without opening it for writing (for `orgsplit status`).
pub fn read(path: &Path) -> Result<Vec<JournalRecord>, JournalError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let complete = text.rfind('\n').map_or(0, |e| e + 1);
            parse(path, &text[..complete])
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(JournalError::Io { path: path.to_path_buf(), source }),
    }
}

fn parse(path: &Path, text: &str) -> Result<Vec<JournalRecord>, JournalError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| JournalError::Malformed {
                path: path.to_path_buf(),
                line: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A file beside the plan (journal, lock) opened to read and write, created when missing,
/// never truncated: what an earlier run left in it is kept.
pub(crate) fn open_beside_plan(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_cut_off_and_other_plans_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json.journal.jsonl");
        {
            let mut j = Journal::open(&path, "sha256:a").unwrap();
            j.append("x", JournalEvent::Started).unwrap();
            j.append("x", JournalEvent::Succeeded { changed: true, outputs: Default::default() })
                .unwrap();
        }
        // A crash in the middle of the next write.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"time":"2026-11-23T00:00:00Z","plan_di"#).unwrap();
        drop(f);
        let j = Journal::open(&path, "sha256:a").unwrap();
        assert_eq!(j.records().len(), 2);
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("}\n"));
        assert!(matches!(Journal::open(&path, "sha256:b"), Err(JournalError::OtherPlan { .. })));
        std::fs::write(&path, "{}\nnot json\n").unwrap();
        let err = Journal::open(&path, "sha256:a").err().unwrap().to_string();
        assert!(err.contains(":1: not a journal record"), "{err}");
        assert_eq!(
            journal_path(Path::new("/p/plan.json")),
            PathBuf::from("/p/plan.json.journal.jsonl")
        );
    }
}
