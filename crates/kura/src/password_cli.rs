//! Passwords for the admin CLI: read from standard input (first line), never from arguments,
//! so they stay out of shell history and process listings.

use std::io::BufRead;

use anyhow::Context;

/// The first line of standard input, without its line ending.
pub(crate) fn read_password_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    // Checked here too, so `user create --password-stdin` fails before creating the user.
    let min = kura_core::MIN_PASSWORD_CHARS;
    anyhow::ensure!(password.chars().count() >= min, "a password needs at least {min} characters");
    Ok(password.to_owned())
}
