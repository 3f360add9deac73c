use std::process::ExitCode;

fn main() -> ExitCode {
    orgsplit::main()
}
