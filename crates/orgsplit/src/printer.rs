//! Data to stdout; progress, logs, warnings and errors to stderr.

use std::io::{IsTerminal, Write};

use crate::cli::{ColorChoice, GlobalArgs};

#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub quiet: bool,
    pub color_stdout: bool,
    pub color_stderr: bool,
    pub progress: bool,
}

impl Printer {
    pub fn new(g: &GlobalArgs) -> Self {
        let want = |is_tty: bool| match g.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_tty && std::env::var_os("NO_COLOR").is_none(),
        };
        let stderr_tty = std::io::stderr().is_terminal();
        Printer {
            quiet: g.quiet,
            color_stdout: want(std::io::stdout().is_terminal()),
            color_stderr: want(stderr_tty),
            progress: stderr_tty && !g.quiet && !g.no_progress,
        }
    }

    /// The command's data.
    #[allow(clippy::print_stdout)]
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// A status line for the person at the terminal.
    #[allow(clippy::print_stderr)]
    pub fn status(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    #[allow(clippy::print_stderr)]
    pub fn warn(&self, text: &str) {
        if !self.quiet {
            let label = if self.color_stderr { "\x1b[33mwarning\x1b[0m" } else { "warning" };
            eprintln!("{label}: {text}");
        }
    }

    #[allow(clippy::print_stderr)]
    pub fn error(&self, message: &str, hint: Option<&str>) {
        let (e, h) = if self.color_stderr {
            ("\x1b[31merror\x1b[0m", "\x1b[36mhint\x1b[0m")
        } else {
            ("error", "hint")
        };
        // One line, whatever the input held: quoted values are cut, newlines folded.
        let message = orgsplit_model::quote::cut_quoted_runs(message).replace('\n', " ");
        eprintln!("{e}: {message}");
        if let Some(hint) = hint {
            eprintln!("{h}: {}", orgsplit_model::quote::cut_quoted_runs(hint));
        }
    }
}
