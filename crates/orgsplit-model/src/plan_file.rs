//! The plan file's text (formats 4 and 5) and its digest, both in one pass.
//!
//! Layout: the plan, its OUs and their accounts are indented, one member a line; every step,
//! resource entry, warning and fingerprint is one compact line. So a 100,000-step plan is
//! about as many lines as steps, `grep` finds a step with all of its facts, and a diff shows
//! one changed line per changed step.
//!
//! Digest: `sha256:` of the plan's compact JSON without its `digest` member, which is the
//! file's own bytes with the whitespace outside strings left out, up to the `digest` member
//! (always the last one), then `}`. The writer feeds the hasher what it writes, except its
//! indentation; the reader hashes the file's bytes with one scan. Neither serialises the plan
//! a second time, and a file re-indented by an editor still verifies, while any change of a
//! value, a member's name or their order does not.

use serde::Serialize;
use serde_json::ser::Formatter;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::io::{self, Write};
use std::rc::Rc;
use std::sync::mpsc;

/// The root member the digest is recorded in; the writer leaves it out of what it hashes
/// and writes it last.
const DIGEST_MEMBER: &str = "digest";
/// Members whose value is laid out one element a line (below the root, whose members all
/// are): an OU's and an account's `steps` and `accounts`.
const EXPANDED_MEMBERS: [&str; 2] = ["steps", "accounts"];
/// Arrays whose elements are themselves laid out (OUs and accounts); the elements of every
/// other array are one line each.
const EXPANDED_ELEMENTS: [&str; 2] = ["ous", "accounts"];

/// Writes `value` (a plan: a JSON object whose members end with `digest`) as the plan file,
/// with a digest of everything else, and returns that digest.
pub(crate) fn write_with_digest<T: Serialize>(
    value: &T,
    out: &mut (dyn Write + Send),
) -> io::Result<String> {
    // The text goes through a pipeline of three threads in 512 KiB chunks: this one serialises,
    // a second hashes (SHA-256 took a fifth of writing a 158 MB plan), a third writes (the
    // kernel's copy of a 140 MB file into the page cache was two fifths of it). Chunks come
    // back to be filled again, so their pages are touched once.
    std::thread::scope(|scope| {
        let (to_hash, hash_these) = mpsc::sync_channel::<Chunk>(2);
        let (to_write, write_these) = mpsc::sync_channel::<Chunk>(2);
        let (recycle, recycled) = mpsc::channel::<Chunk>();
        let hashing = scope.spawn(move || {
            let mut hasher = Sha256::new();
            for chunk in hash_these {
                let mut at = 0;
                for &(start, end) in &chunk.indentation {
                    hasher.update(&chunk.bytes[at..start]);
                    at = end;
                }
                hasher.update(&chunk.bytes[at..]);
                if to_write.send(chunk).is_err() {
                    // The writer stopped on an error, which it reports.
                    break;
                }
            }
            hasher
        });
        let writing = scope.spawn(move || {
            for mut chunk in write_these {
                out.write_all(&chunk.bytes)?;
                chunk.bytes.clear();
                chunk.indentation.clear();
                // This thread may outlive the serialiser: then the chunk is simply freed.
                let _ = recycle.send(chunk);
            }
            Ok::<_, io::Error>(out)
        });
        let mode = Rc::new(Cell::new(Mode::Content));
        let mut sink = Sink { chunk: Chunk::new(), to_hash, recycled, mode: mode.clone() };
        let layout = Layout {
            mode,
            frames: Vec::new(),
            key: String::new(),
            capturing: false,
            dropping: false,
            first_key: false,
        };
        let mut serializer = serde_json::Serializer::with_formatter(&mut sink, layout);
        let serialized = value.serialize(&mut serializer).map_err(io::Error::other);
        let sent = sink.finish();
        let mut hasher = hashing.join().expect("hashing does not panic");
        // The writer's error is the cause of any other (a full disk stops the pipeline).
        let out = writing.join().expect("writing does not panic")?;
        serialized?;
        sent?;
        hasher.update(b"}");
        let digest = format!("sha256:{}", hex::encode(hasher.finalize()));
        out.write_all(format!(",\n  \"{DIGEST_MEMBER}\": \"{digest}\"\n}}\n").as_bytes())?;
        Ok(digest)
    })
}

/// The size of the chunks the pipeline passes on. At most seven are alive at once (one filling, two queued and one in hand at each of the
/// other threads): about 4 MB.
const CHUNK: usize = 1 << 19;

/// A piece of the file's text on its way to be hashed and written.
struct Chunk {
    bytes: Vec<u8>,
    /// The runs of `bytes` (start, end) that are indentation: written, not hashed.
    indentation: Vec<(usize, usize)>,
}

impl Chunk {
    fn new() -> Chunk {
        Chunk { bytes: Vec::with_capacity(CHUNK + (1 << 16)), indentation: Vec::new() }
    }
}

/// The digest recorded in a plan file's text, and the digest of its content.
pub(crate) fn recorded_and_actual(text: &str) -> Result<(String, String), String> {
    let bytes = text.trim_end().as_bytes();
    let at = text[..bytes.len()]
        .rfind(&format!("\"{DIGEST_MEMBER}\""))
        .ok_or_else(|| "no digest".to_string())?;
    let before = text[..at].trim_end();
    let content =
        before.strip_suffix(',').ok_or_else(|| "the digest is not the last member".to_string())?;
    let tail = text[at + DIGEST_MEMBER.len() + 2..bytes.len()].trim_start();
    let recorded = tail
        .strip_prefix(':')
        .map(str::trim_start)
        .and_then(|t| t.strip_prefix('"'))
        .and_then(|t| t.split_once('"'))
        .filter(|(digest, rest)| !digest.contains('\\') && rest.trim() == "}")
        .map(|(digest, _)| digest.to_string())
        .ok_or_else(|| "the digest is not the last member".to_string())?;
    let mut hasher = Sha256::new();
    hash_without_whitespace(&mut hasher, content.as_bytes());
    hasher.update(b"}");
    Ok((recorded, format!("sha256:{}", hex::encode(hasher.finalize()))))
}

/// Feeds `bytes` to the hasher without the JSON whitespace outside strings.
fn hash_without_whitespace(hasher: &mut Sha256, bytes: &[u8]) {
    let n = bytes.len();
    let (mut run, mut i) = (0, 0);
    while i < n {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < n {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                i += 1;
            }
            b' ' | b'\n' | b'\r' | b'\t' => {
                hasher.update(&bytes[run..i]);
                while i < n && matches!(bytes[i], b' ' | b'\n' | b'\r' | b'\t') {
                    i += 1;
                }
                run = i;
            }
            _ => i += 1,
        }
    }
    hasher.update(&bytes[run.min(n)..]);
}

/// What the sink does with the bytes it is handed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Written and hashed.
    Content,
    /// Written, not hashed: indentation.
    Whitespace,
    /// Neither: the `digest` member, written at the end.
    Dropped,
}

/// The serialiser's end of the pipeline: fills a chunk, marks its indentation, and sends it
/// on once full.
struct Sink {
    chunk: Chunk,
    to_hash: mpsc::SyncSender<Chunk>,
    recycled: mpsc::Receiver<Chunk>,
    mode: Rc<Cell<Mode>>,
}

impl Sink {
    fn send(&mut self) -> io::Result<()> {
        let next = self.recycled.try_recv().unwrap_or_else(|_| Chunk::new());
        let full = std::mem::replace(&mut self.chunk, next);
        self.to_hash.send(full).map_err(|_| io::Error::other("writing the plan stopped"))
    }

    /// Sends what is left; the other threads end once they have handled it.
    fn finish(mut self) -> io::Result<()> {
        self.send()
    }
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_all(data)?;
        Ok(data.len())
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let bytes = &mut self.chunk.bytes;
        match self.mode.get() {
            Mode::Content => bytes.extend_from_slice(data),
            Mode::Whitespace => {
                let start = bytes.len();
                bytes.extend_from_slice(data);
                let end = bytes.len();
                match self.chunk.indentation.last_mut() {
                    Some(last) if last.1 == start => last.1 = end,
                    _ => self.chunk.indentation.push((start, end)),
                }
            }
            Mode::Dropped => return Ok(()),
        }
        if self.chunk.bytes.len() >= CHUNK { self.send() } else { Ok(()) }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One open object or array.
struct Frame {
    object: bool,
    /// One member or element a line (else compact).
    expanded: bool,
    /// The member this container is the value of (empty for an array's element).
    key: String,
    has_items: bool,
}

/// serde_json's formatter for the layout above. It tells the sink which bytes are
/// indentation, captures the keys of laid-out objects (which decide the layout of their
/// values), and holds back the root's `digest` member and closing brace.
struct Layout {
    mode: Rc<Cell<Mode>>,
    frames: Vec<Frame>,
    key: String,
    capturing: bool,
    /// Inside the root's `digest` member.
    dropping: bool,
    first_key: bool,
}

impl Layout {
    fn open<W: ?Sized + Write>(&mut self, w: &mut W, object: bool) -> io::Result<()> {
        let expanded = match self.frames.last() {
            None => true,
            Some(parent) if !parent.expanded => false,
            Some(parent) if parent.object => {
                self.frames.len() == 1 || EXPANDED_MEMBERS.contains(&self.key.as_str())
            }
            Some(parent) => EXPANDED_ELEMENTS.contains(&parent.key.as_str()),
        };
        let key = match self.frames.last() {
            Some(parent) if parent.object && expanded => self.key.clone(),
            _ => String::new(),
        };
        self.frames.push(Frame { object, expanded, key, has_items: false });
        w.write_all(if object { b"{" } else { b"[" })
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, object: bool) -> io::Result<()> {
        let frame = self.frames.pop().expect("a container closes after it opens");
        if self.frames.is_empty() {
            // The root's `}` follows the digest member, which the caller writes.
            return Ok(());
        }
        if frame.expanded && frame.has_items {
            self.newline(w)?;
        }
        w.write_all(if object { b"}" } else { b"]" })
    }

    /// A line break and the indentation of the current depth: not content.
    fn newline<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        const SPACES: &[u8] = b"                                ";
        self.mode.set(Mode::Whitespace);
        w.write_all(b"\n")?;
        let mut indent = 2 * self.frames.len();
        while indent > 0 {
            let n = indent.min(SPACES.len());
            w.write_all(&SPACES[..n])?;
            indent -= n;
        }
        self.mode.set(Mode::Content);
        Ok(())
    }

    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        let frame = self.frames.last_mut().expect("an item is inside a container");
        frame.has_items = true;
        let expanded = frame.expanded;
        if !first {
            w.write_all(b",")?;
        }
        if expanded { self.newline(w) } else { Ok(()) }
    }
}

impl Formatter for Layout {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, false)
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, false)
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, true)
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, true)
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        let expanded = self.frames.last().is_some_and(|f| f.expanded);
        self.capturing = expanded;
        self.key.clear();
        if self.frames.len() == 1 {
            // A root member is written once its name is known: the digest's is held back.
            self.first_key = first;
            self.mode.set(Mode::Dropped);
            return Ok(());
        }
        self.item(w, first)
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.capturing = false;
        if self.frames.len() != 1 {
            return Ok(());
        }
        if self.key == DIGEST_MEMBER {
            self.dropping = true;
            return Ok(());
        }
        self.mode.set(Mode::Content);
        self.item(w, self.first_key)?;
        w.write_all(b"\"")?;
        w.write_all(self.key.as_bytes())?;
        w.write_all(b"\"")
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.dropping {
            return Ok(());
        }
        w.write_all(b":")?;
        if self.frames.last().is_some_and(|f| f.expanded) {
            self.mode.set(Mode::Whitespace);
            w.write_all(b" ")?;
            self.mode.set(Mode::Content);
        }
        Ok(())
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        if self.dropping && self.frames.len() == 1 {
            self.dropping = false;
            self.mode.set(Mode::Content);
        }
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if self.capturing {
            self.key.push_str(fragment);
        }
        w.write_all(fragment.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> serde_json::Value {
        json!({
            "format_version": 4,
            "fingerprints": {"arn:a": "sha256:1", "organization": "sha256:2"},
            "organization": [{"address": "org/scp", "inputs": {"text": "a \"quoted\" digest: x"}}],
            "ous": [{"name": "dev", "steps": [{"address": "dev/ou"}], "accounts": [
                {"name": "dev-a", "steps": [{"address": "dev/dev-a/x", "reads": ["r"]}, {"address": "dev/dev-a/y"}]},
            ]}],
            "resources": [],
            "digest": "",
        })
    }

    fn written(value: &serde_json::Value) -> (String, String) {
        let mut out = Vec::new();
        let digest = write_with_digest(value, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), digest)
    }

    #[test]
    fn plans_ous_and_accounts_are_laid_out_and_each_step_is_one_line() {
        let (text, digest) = written(&sample());
        let expected = format!(
            r#"{{
  "format_version": 4,
  "fingerprints": {{
    "arn:a": "sha256:1",
    "organization": "sha256:2"
  }},
  "organization": [
    {{"address":"org/scp","inputs":{{"text":"a \"quoted\" digest: x"}}}}
  ],
  "ous": [
    {{
      "name": "dev",
      "steps": [
        {{"address":"dev/ou"}}
      ],
      "accounts": [
        {{
          "name": "dev-a",
          "steps": [
            {{"address":"dev/dev-a/x","reads":["r"]}},
            {{"address":"dev/dev-a/y"}}
          ]
        }}
      ]
    }}
  ],
  "resources": [],
  "digest": "{digest}"
}}
"#
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn the_digest_is_of_the_compact_json_without_the_digest_member() {
        let mut value = sample();
        let (text, digest) = written(&value);
        value.as_object_mut().unwrap().remove("digest");
        let compact = serde_json::to_string(&value).unwrap();
        assert_eq!(digest, format!("sha256:{}", hex::encode(Sha256::digest(compact.as_bytes()))));
        assert_eq!(recorded_and_actual(&text).unwrap(), (digest.clone(), digest));
    }

    /// A plan of several chunks: steps, and indentation, straddle the chunks' edges.
    fn large_sample() -> serde_json::Value {
        let steps: Vec<_> = (0..40_000)
            .map(|i| json!({"address": format!("dev/dev-a/ssm:/app/p{i}"), "inputs": {"v": i}}))
            .collect();
        let mut value = sample();
        value["ous"][0]["accounts"][0]["steps"] = serde_json::Value::Array(steps);
        value
    }

    #[test]
    fn a_plan_of_many_chunks_has_the_digest_of_its_compact_json() {
        let mut value = large_sample();
        let (text, digest) = written(&value);
        assert!(text.len() > 2 * CHUNK, "{} bytes: not several chunks", text.len());
        let step_lines =
            text.lines().filter(|l| l.trim_start().starts_with(r#"{"address":"dev/dev-a/ssm:"#));
        assert_eq!(step_lines.count(), 40_000, "each step is one line");
        value.as_object_mut().unwrap().remove("digest");
        let compact = serde_json::to_string(&value).unwrap();
        assert_eq!(digest, format!("sha256:{}", hex::encode(Sha256::digest(compact.as_bytes()))));
        assert_eq!(recorded_and_actual(&text).unwrap(), (digest.clone(), digest));
    }

    /// Writes `room` bytes, then fails as a full disk does.
    struct FullDisk {
        room: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "no space left on device"));
            }
            let n = data.len().min(self.room);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_is_reported_as_itself() {
        for room in [0, 10, CHUNK + 10] {
            let err = write_with_digest(&large_sample(), &mut FullDisk { room }).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::StorageFull, "room {room}: {err}");
        }
    }

    #[test]
    fn reindenting_keeps_the_digest_and_any_edit_changes_it() {
        let (text, digest) = written(&sample());
        let reindented = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        )
        .unwrap();
        assert_eq!(recorded_and_actual(&reindented).unwrap().1, digest);
        let compact =
            serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&text).unwrap())
                .unwrap();
        assert_eq!(recorded_and_actual(&compact).unwrap().1, digest);
        for edited in [
            text.replacen("dev-a/y", "dev-a/z", 1),
            text.replacen("\"reads\"", "\"read\"", 1),
            text.replacen("quoted\\\" digest", "quoted\\\"  digest", 1),
        ] {
            assert_ne!(edited, text);
            let (recorded, actual) = recorded_and_actual(&edited).unwrap();
            assert_eq!(recorded, digest);
            assert_ne!(actual, digest, "{edited}");
        }
    }

    #[test]
    fn a_file_without_a_last_digest_member_is_named_so() {
        assert_eq!(recorded_and_actual("{\"a\": 1}").unwrap_err(), "no digest");
        let moved = "{\"digest\": \"sha256:0\", \"a\": 1}";
        assert_eq!(recorded_and_actual(moved).unwrap_err(), "the digest is not the last member");
    }
}
