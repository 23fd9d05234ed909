//! `adama dap`: the debugger on stdin and stdout, for editors (Debug Adapter Protocol).

use super::Outcome;
use super::program::on_big_stack;

/// Serves one debug session until the client disconnects.
pub fn run() -> Outcome {
    // Programs are compiled and run inside the session, and both recurse over nested code.
    let served = on_big_stack(|| {
        let stdin = std::io::stdin();
        let stdout = std::io::stdout();
        adama_debugger::dap::serve(&mut stdin.lock(), &mut stdout.lock())
    });
    match served {
        Ok(()) => Outcome::Clean,
        Err(error) => {
            eprintln!("error: the debug session failed: {error}");
            Outcome::Failure
        }
    }
}
