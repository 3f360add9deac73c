//! One apply of a plan at a time: an advisory lock (`flock`) on `PLAN.lock`, held for the
//! whole run. The kernel releases it when the process ends, however it ends, so a `kill -9`
//! never leaves a stale lock behind; the file keeps the holder's description for the
//! refusal message.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path} is locked by another apply of this plan ({holder})")]
    Held { path: PathBuf, holder: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Held until dropped.
#[derive(Debug)]
pub struct PlanLock {
    _file: File,
    pub path: PathBuf,
}

/// `plan.json` -> `plan.json.lock`.
pub fn lock_path(plan: &Path) -> PathBuf {
    let mut name = plan.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    plan.with_file_name(name)
}

impl PlanLock {
    /// Takes the lock or says who holds it. `holder` describes this process (pid, OU, time).
    pub fn acquire(plan: &Path, holder: &str) -> Result<PlanLock, LockError> {
        let path = lock_path(plan);
        let io = |source| LockError::Io { path: path.clone(), source };
        let mut file = crate::journal::open_beside_plan(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held { holder: read_holder(&mut file), path });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(holder.as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)?;
        Ok(PlanLock { _file: file, path })
    }
}

/// The holder writes its description right after it takes the lock: a refusal that comes
/// in between waits a moment for it rather than naming nobody.
fn read_holder(file: &mut File) -> String {
    for _ in 0..40 {
        let mut text = String::new();
        let _ = file.seek(SeekFrom::Start(0));
        let _ = file.read_to_string(&mut text);
        let holder = text.trim();
        if !holder.is_empty() {
            return holder.to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    "a process that is starting".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name() {
        let dir = tempfile::tempdir().unwrap();
        let plan = dir.path().join("plan.json");
        let first = PlanLock::acquire(&plan, "pid 1 applying OU dev").unwrap();
        match PlanLock::acquire(&plan, "pid 2") {
            Err(LockError::Held { holder, .. }) => assert_eq!(holder, "pid 1 applying OU dev"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        drop(first);
        PlanLock::acquire(&plan, "pid 2").unwrap();
    }
}
