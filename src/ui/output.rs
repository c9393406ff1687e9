//! The two streams: stdout carries only results (the URL, a table, JSON), stderr progress,
//! plans and errors. A closed pipe on either is not an error: the work goes on (the state
//! file, not the terminal, is what must not be lost).

/// Writes a line to stderr; a closed pipe (`2>&1 | head`) is not an error, and the work
/// goes on (the state file, not the terminal, is what must not be lost).
pub fn eprint(text: &str) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = err.write_all(b"\n");
    }
    let _ = err.flush();
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub fn print(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}
