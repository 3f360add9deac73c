//! An inventory's text read into its types on both cores.
//!
//! Reading a 100,000-resource inventory (68 MB) was a quarter of planning it, on one core
//! while the other waited (docs/performance.md, the twelfth pass). The resources are most of
//! the text and each is read on its own, so the list is read in two halves at once: this
//! thread reads from its start, a worker from a place near its middle that looks like the
//! start of an element (`}`, `,`, `{`, whitespace between). Whether it is one is known only
//! when this thread gets there: if this thread's own element boundaries reach it exactly, the
//! worker's elements are the list's remaining ones (a JSON text read from an element's start
//! reads the same as when it is reached from the list's start); if they step over it, the
//! guess was inside an element (a policy's statements, a string), the worker's result is
//! dropped and this thread reads on. So the result never depends on the guess.
//!
//! The other members are read by the type's own `Deserialize` (defaults, unknown members,
//! duplicates as for any read). Any text this reading does not take (not an object, a
//! member twice, a syntax error) is read again by `serde_json::from_str`, whose result or
//! error is then the answer: an error names its line and column as it always did. (One
//! difference is left: serde_json's limit of 128 nested levels counts from each resource here,
//! not from the file, so a resource nested two levels deeper than the file allows is read.)

use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::inventory::{Inventory, Resource};

/// Below this, the list is read on one thread: a worker is not worth its start.
const READ_ALONE_BELOW: usize = 1 << 20;

/// Places near the middle tried as the worker's start before it gives up.
const TRIES: usize = 64;

impl Inventory {
    /// The inventory in `text` (JSON), as `serde_json::from_str` reads it, read on both
    /// cores when it is large (see the module's documentation).
    pub fn from_text(text: &str) -> serde_json::Result<Inventory> {
        match read_members(text).ok() {
            Some(inventory) => Ok(inventory),
            None => serde_json::from_str(text),
        }
    }
}

/// Why this reading stopped: the text is read again by `serde_json::from_str`, which says why.
struct NotTaken;

impl From<serde_json::Error> for NotTaken {
    fn from(_: serde_json::Error) -> Self {
        NotTaken
    }
}

/// A position in the text, moved past what is read.
struct Cursor<'t> {
    text: &'t str,
    at: usize,
}

impl<'t> Cursor<'t> {
    fn skip_whitespace(&mut self) {
        let bytes = self.text.as_bytes();
        while self.at < bytes.len() && matches!(bytes[self.at], b' ' | b'\n' | b'\r' | b'\t') {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// Takes `byte`, after whitespace.
    fn expect(&mut self, byte: u8) -> Result<(), NotTaken> {
        self.skip_whitespace();
        if self.peek() != Some(byte) {
            return Err(NotTaken);
        }
        self.at += 1;
        Ok(())
    }

    /// One JSON value, after whitespace, as `T`.
    fn value<T: Deserialize<'t>>(&mut self) -> Result<T, NotTaken> {
        self.skip_whitespace();
        let mut values = serde_json::Deserializer::from_str(&self.text[self.at..]).into_iter::<T>();
        let value = values.next().ok_or(NotTaken)??;
        self.at += values.byte_offset();
        Ok(value)
    }
}

/// The top-level object: every member but `resources` kept as text for the type's own
/// reading, `resources` read in parts.
fn read_members(text: &str) -> Result<Inventory, NotTaken> {
    let mut cursor = Cursor { text, at: 0 };
    cursor.expect(b'{')?;
    let mut others: Vec<(String, &RawValue)> = Vec::new();
    let mut resources: Option<Vec<Resource>> = None;
    cursor.skip_whitespace();
    if cursor.peek() == Some(b'}') {
        return Err(NotTaken);
    }
    loop {
        let key: String = cursor.value()?;
        cursor.expect(b':')?;
        if key == "resources" {
            if resources.is_some() {
                return Err(NotTaken);
            }
            resources = Some(read_list(&mut cursor)?);
        } else {
            others.push((key, cursor.value()?));
        }
        cursor.skip_whitespace();
        match cursor.peek() {
            Some(b',') => cursor.at += 1,
            Some(b'}') => {
                cursor.at += 1;
                break;
            }
            _ => return Err(NotTaken),
        }
    }
    cursor.skip_whitespace();
    if cursor.at != text.len() {
        return Err(NotTaken);
    }
    // The other members, read by `Inventory`'s own `Deserialize`, with an empty list where
    // the resources were.
    let mut shell = String::from("{");
    for (key, value) in &others {
        shell.push_str(&serde_json::to_string(key)?);
        shell.push(':');
        shell.push_str(value.get());
        shell.push(',');
    }
    if resources.is_some() {
        shell.push_str("\"resources\":[]");
    } else {
        shell.pop();
    }
    shell.push('}');
    let mut inventory: Inventory = serde_json::from_str(&shell)?;
    if let Some(resources) = resources {
        inventory.resources = resources;
    }
    Ok(inventory)
}

/// The resources list at the cursor (`[` next), read in two parts when it is large.
fn read_list(cursor: &mut Cursor<'_>) -> Result<Vec<Resource>, NotTaken> {
    cursor.expect(b'[')?;
    let text = cursor.text;
    let start = cursor.at;
    let guesses = if text.len() - start >= READ_ALONE_BELOW {
        element_starts_after(text, start + (text.len() - start) / 2)
    } else {
        Vec::new()
    };
    let unwanted = AtomicBool::new(false);
    let (list, end) = std::thread::scope(|scope| -> Result<_, NotTaken> {
        let worker = (!guesses.is_empty()).then(|| {
            scope.spawn(|| {
                // The first guess from which the rest of the list reads as resources: if this
                // thread arrives there, the worker's elements are the list's.
                guesses.iter().find_map(|&guess| match read_elements(text, guess, &[], &unwanted) {
                    Ok(Read::Ended(rest, end)) => Some((guess, rest, end)),
                    _ => None,
                })
            })
        });
        let read = read_elements(text, start, &guesses, &unwanted);
        if !matches!(read, Ok(Read::Stopped(..))) {
            // The worker's elements will not be used: it stops at its next one.
            unwanted.store(true, Ordering::Relaxed);
        }
        let from_worker = worker.and_then(|w| w.join().expect("reading resources does not panic"));
        match (read?, from_worker) {
            (Read::Ended(list, end), _) => Ok((list, end)),
            (Read::Stopped(mut list, arrived), Some((guess, mut rest, end)))
                if guess == arrived =>
            {
                list.append(&mut rest);
                Ok((list, end))
            }
            // The worker started inside an element, or could not read on: the rest is read here.
            (Read::Stopped(mut list, arrived), _) => {
                match read_elements(text, arrived, &[], &AtomicBool::new(false))? {
                    Read::Ended(mut rest, end) => {
                        list.append(&mut rest);
                        Ok((list, end))
                    }
                    Read::Stopped(..) => {
                        unreachable!("a reading without guesses stops only at the end")
                    }
                }
            }
        }
    })?;
    cursor.at = end;
    Ok(list)
}

/// How a reading of the list's elements ended.
enum Read {
    /// At the list's end: the elements, and the position after `]`.
    Ended(Vec<Resource>, usize),
    /// At one of the guesses, reached as an element's start: the elements before it, and it.
    Stopped(Vec<Resource>, usize),
}

/// Reads resources from the element starting at `at` (or the list's `]`), until the list
/// ends or the next element starts at one of `guesses` (sorted). With no guesses (a worker),
/// `unwanted` ends the reading early.
fn read_elements(
    text: &str,
    at: usize,
    guesses: &[usize],
    unwanted: &AtomicBool,
) -> Result<Read, NotTaken> {
    let mut cursor = Cursor { text, at };
    let mut list = Vec::new();
    cursor.skip_whitespace();
    if cursor.peek() == Some(b']') {
        cursor.at += 1;
        return Ok(Read::Ended(list, cursor.at));
    }
    let last_guess = guesses.last().copied();
    loop {
        cursor.skip_whitespace();
        if last_guess.is_some_and(|last| cursor.at <= last)
            && guesses.binary_search(&cursor.at).is_ok()
        {
            return Ok(Read::Stopped(list, cursor.at));
        }
        if guesses.is_empty() && unwanted.load(Ordering::Relaxed) {
            return Err(NotTaken);
        }
        list.push(cursor.value::<Resource>()?);
        cursor.skip_whitespace();
        match cursor.peek() {
            Some(b',') => cursor.at += 1,
            Some(b']') => {
                cursor.at += 1;
                return Ok(Read::Ended(list, cursor.at));
            }
            _ => return Err(NotTaken),
        }
    }
}

/// Up to [`TRIES`] places after `from` that may start an element of a list of objects: a
/// `{` after a `,` after a `}` (whitespace between), in order.
fn element_starts_after(text: &str, from: usize) -> Vec<usize> {
    let bytes = text.as_bytes();
    let before = |mut i: usize| -> Option<(usize, u8)> {
        while i > 0 {
            i -= 1;
            if !matches!(bytes[i], b' ' | b'\n' | b'\r' | b'\t') {
                return Some((i, bytes[i]));
            }
        }
        None
    };
    let mut starts = Vec::new();
    let mut at = from;
    while starts.len() < TRIES {
        let Some(found) = text[at..].find('{') else { break };
        let open = at + found;
        if let Some((comma, b',')) = before(open)
            && let Some((_, b'}')) = before(comma)
        {
            starts.push(open);
        }
        at = open + 1;
    }
    starts
}
