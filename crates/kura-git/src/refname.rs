//! Ref name validation following the rules of `git check-ref-format`.

use crate::GitError;

/// Checks `name` against git's ref name rules: at least two `/`-separated components, none
/// empty, starting with `.` or ending with `.lock`; no `..`, `@{`, control characters, space,
/// `~ ^ : ? * [ \`; not ending with `.` or `/`; not `@`; and (stricter than git, as for
/// branch names) not starting with `-`.
pub fn check_ref_format(name: &str) -> Result<(), GitError> {
    let reject = |reason: &'static str| Err(GitError::InvalidRefName { name: name.to_owned(), reason });
    if name.is_empty() {
        return reject("empty");
    }
    if name == "@" {
        return reject("is the single character @");
    }
    if name.starts_with('-') {
        return reject("starts with -");
    }
    if let Some(c) = name.chars().find(|&c| c.is_ascii_control() || " ~^:?*[\\".contains(c)) {
        return if c.is_ascii_control() {
            reject("contains a control character")
        } else {
            reject(forbidden(c))
        };
    }
    if name.contains("..") {
        return reject("contains ..");
    }
    if name.contains("@{") {
        return reject("contains @{");
    }
    if name.ends_with('.') {
        return reject("ends with .");
    }
    if !name.contains('/') {
        return reject("has a single component");
    }
    for component in name.split('/') {
        if component.is_empty() {
            return reject("has an empty component (leading, trailing or double /)");
        }
        if component.starts_with('.') {
            return reject("has a component starting with .");
        }
        if component.ends_with(".lock") {
            return reject("has a component ending with .lock");
        }
    }
    Ok(())
}

fn forbidden(c: char) -> &'static str {
    match c {
        ' ' => "contains a space",
        '~' => "contains ~",
        '^' => "contains ^",
        ':' => "contains :",
        '?' => "contains ?",
        '*' => "contains *",
        '[' => "contains [",
        _ => "contains \\",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, ok: bool) {
        assert_eq!(check_ref_format(name).is_ok(), ok, "{name:?}");
    }

    #[test]
    fn accepts_ordinary_refs() {
        for name in [
            "refs/heads/main",
            "refs/heads/feature/x-1",
            "refs/tags/v1.0",
            "refs/heads/a.b",
            "refs/heads/ünïcode",
            "refs/heads/a@b",
            "refs/pr/12",
            "refs/heads/foo.locked",
        ] {
            check(name, true);
        }
    }

    #[test]
    fn rejects_what_git_rejects() {
        for name in [
            "",
            "@",
            "main",
            "-refs/heads/x",
            "refs/heads/a..b",
            "refs/heads/a\u{7}b",
            "refs/heads/a\u{7f}",
            "refs/heads/tab\there",
            "refs/heads/a b",
            "refs/heads/a~1",
            "refs/heads/a^",
            "refs/heads/a:b",
            "refs/heads/a?",
            "refs/heads/a*",
            "refs/heads/a[b",
            "refs/heads/a\\b",
            "refs/heads/x@{1}",
            "refs/heads/x.lock",
            "refs/heads/x.lock/y",
            "refs/heads//x",
            "/refs/heads/x",
            "refs/heads/x/",
            "refs/heads/x.",
            "refs/heads/.hidden",
            "refs/.heads/x",
        ] {
            check(name, false);
        }
    }

    #[test]
    fn error_names_the_reason() {
        let error = check_ref_format("refs/heads/a..b").unwrap_err();
        assert_eq!(error, GitError::InvalidRefName { name: "refs/heads/a..b".into(), reason: "contains .." });
    }
}
