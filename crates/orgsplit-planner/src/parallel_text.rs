//! A long list of the plan's one-line elements (an account's steps, the resource entries)
//! serialised on both cores.
//!
//! Each element is one compact line of the plan file, whose text is its own compact JSON: so
//! a worker can write an element's text apart from the file, and the file's writer copies it
//! in verbatim (`RawValue`), with the separator and indentation the file's layout puts
//! between elements. The batches are shared between the writer's thread, which serialises its
//! own straight into the file (one in three), and a worker, whose texts the writer copies
//! in, in order; so the file is the same, byte for byte, as when one thread serialises every
//! element, and at most a few batches' text is alive at once, never the whole list's.
//!
//! Why: serialising an account's copies, and then the entries, was one thread's work while the
//! other core waited (about a third of the 100,000-resource plan's wall time,
//! docs/performance.md).

use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::sync::mpsc;

/// Elements per batch: enough that handing a batch over costs nothing beside its text (a
/// step is about 1 KB), few enough that the batches in flight stay a few MB.
const BATCH: usize = 256;

/// Batches the worker may have ready before the writer takes them.
const AHEAD: usize = 2;

/// Serialises `item(0)`, …, `item(len - 1)` as a sequence: this thread serialises one batch in
/// three itself ([`is_writers`]), a worker thread writes the others' texts meanwhile, which
/// this one then copies in.
/// (One worker, not two: each thread's heap holds its own pages, and a third thread raised
/// the 100,000-resource plan's peak by 10-15 MB for no gain in time.)
pub(crate) fn serialize_seq_in_parallel<S, T>(
    len: usize,
    item: &(dyn Fn(usize) -> T + Sync),
    s: S,
) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    T: Serialize,
{
    let batches: Vec<std::ops::Range<usize>> =
        (0..len).step_by(BATCH).map(|start| start..len.min(start + BATCH)).collect();
    if batches.len() < 2 {
        return s.collect_seq((0..len).map(item));
    }
    std::thread::scope(|scope| {
        let (ready, take) = mpsc::sync_channel::<serde_json::Result<Vec<Box<RawValue>>>>(AHEAD);
        let theirs: Vec<std::ops::Range<usize>> = batches
            .iter()
            .enumerate()
            .filter(|(at, _)| !is_writers(*at))
            .map(|(_, b)| b.clone())
            .collect();
        scope.spawn(move || {
            for batch in theirs {
                let texts = batch.map(|k| serde_json::value::to_raw_value(&item(k))).collect();
                if ready.send(texts).is_err() {
                    // The writer stopped (an error it reports): nothing more is wanted.
                    return;
                }
            }
        });
        let mut seq = s.serialize_seq(Some(len))?;
        for (at, batch) in batches.into_iter().enumerate() {
            if is_writers(at) {
                for k in batch {
                    seq.serialize_element(&item(k))?;
                }
                continue;
            }
            let texts = take
                .recv()
                .map_err(|_| S::Error::custom("the serialising thread stopped"))?
                .map_err(S::Error::custom)?;
            for text in &texts {
                seq.serialize_element(text)?;
            }
        }
        seq.end()
    })
}

/// Whether batch `at` is the writer's own: one in three. The writer also copies in the
/// worker's texts, and its serialiser tracks the file's layout: with every other batch its
/// own, the worker was idle for about a third of the time (`perf`, docs/performance.md).
fn is_writers(at: usize) -> bool {
    at.is_multiple_of(3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The text is the same as one thread's, for lists shorter than, at and across batches.
    #[test]
    fn parallel_text_equals_serial_text() {
        for n in [0, 1, BATCH - 1, BATCH, BATCH + 1, 3 * BATCH + 7] {
            let items: Vec<serde_json::Value> = (0..n)
                .map(|i| json!({"address": format!("dev/a/ssm:/x/{i}"), "n": i, "s": "a \"q\" \u{e9}"}))
                .collect();
            let mut parallel = Vec::new();
            let mut ser = serde_json::Serializer::new(&mut parallel);
            serialize_seq_in_parallel(n, &|k| &items[k], &mut ser).unwrap();
            let serial = serde_json::to_vec(&items).unwrap();
            assert_eq!(
                String::from_utf8(parallel).unwrap(),
                String::from_utf8(serial).unwrap(),
                "{n} items"
            );
        }
    }
}
