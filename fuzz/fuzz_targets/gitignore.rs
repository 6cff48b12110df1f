//! `.gitignore` rules from a repo (attacker-chosen) matched against upload paths: never a
//! panic, whatever the patterns; the first line of the input is the path, the rest the rules.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (path, rules) = text.split_once('\n').unwrap_or((&text, ""));
    let ignore = kura_core::GitIgnore::parse(rules);
    let _ = ignore.ignores(path);
});
