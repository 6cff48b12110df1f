//! `.gitignore` rules, for preupload's `shouldIgnore`: which files of an upload the repo's
//! root `.gitignore` excludes (the client then skips them, as `git add` would).
//!
//! The rules are git's: one pattern per line; blank lines and `#` comments skipped; `\` escapes
//! a leading `#` or `!` and trailing spaces; `!` re-includes; a trailing `/` matches
//! directories only; a pattern with a `/` at its start or middle is anchored at the root,
//! others match a name at any depth; `*` and `?` never match `/`, `**` as a whole component
//! matches any number of directories; the last matching pattern wins, and nothing inside an
//! excluded directory can be re-included. Globs are compiled by `globset` into one automaton,
//! so matching takes linear time whatever a hostile pattern looks like; the file and the number
//! of patterns are capped.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// Most bytes of a `.gitignore` that are read; the rest is ignored.
pub const MAX_GITIGNORE_BYTES: usize = 64 << 10;
/// Most patterns kept from one `.gitignore`.
const MAX_PATTERNS: usize = 2000;

struct Rule {
    negated: bool,
    dir_only: bool,
}

/// The compiled rules of one `.gitignore`.
pub struct GitIgnore {
    set: GlobSet,
    rules: Vec<Rule>,
}

impl GitIgnore {
    /// Compiles `text` (at most `MAX_GITIGNORE_BYTES` of it). Patterns that do not compile
    /// are skipped, as git skips what it cannot parse.
    pub fn parse(text: &str) -> Self {
        let end = text.floor_char_boundary(MAX_GITIGNORE_BYTES);
        let mut builder = GlobSetBuilder::new();
        let mut rules = Vec::new();
        for line in text[..end].lines() {
            if rules.len() >= MAX_PATTERNS {
                break;
            }
            let Some((glob, rule)) = parse_line(line) else { continue };
            if let Ok(glob) = GlobBuilder::new(&glob).literal_separator(true).backslash_escape(true).build() {
                builder.add(glob);
                rules.push(rule);
            }
        }
        let set = builder.build().unwrap_or_else(|_| GlobSet::empty());
        let rules = if set.len() == rules.len() { rules } else { Vec::new() };
        Self { set, rules }
    }

    /// Whether a file at `path` (`/`-separated, relative to the root) is ignored: itself, or
    /// one of its parent directories.
    pub fn ignores(&self, path: &str) -> bool {
        if self.rules.is_empty() {
            return false;
        }
        let mut at = 0;
        while let Some(slash) = path[at..].find('/') {
            let dir = &path[..at + slash];
            if self.decide(dir, true) == Some(true) {
                return true;
            }
            at += slash + 1;
        }
        self.decide(path, false) == Some(true)
    }

    /// The last matching rule's verdict for `path`, if any rule matches.
    fn decide(&self, path: &str, is_dir: bool) -> Option<bool> {
        self.set
            .matches(path)
            .into_iter()
            .rev()
            .map(|index| &self.rules[index])
            .find(|rule| is_dir || !rule.dir_only)
            .map(|rule| !rule.negated)
    }
}

/// One line as a glob for `globset` (anchored at the root) and its flags.
fn parse_line(line: &str) -> Option<(String, Rule)> {
    let line = trim_trailing_spaces(line);
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (negated, line) = match line.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let (dir_only, line) = match line.strip_suffix('/') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    if line.is_empty() {
        return None;
    }
    let anchored = line.contains('/');
    let body = line.strip_prefix('/').unwrap_or(line);
    if body.is_empty() {
        return None;
    }
    let glob = if anchored { body.to_owned() } else { format!("**/{body}") };
    Some((glob, Rule { negated, dir_only }))
}

/// Drops trailing spaces that are not escaped with a backslash.
fn trim_trailing_spaces(line: &str) -> &str {
    let mut end = line.len();
    while line[..end].ends_with(' ') && !line[..end - 1].ends_with('\\') {
        end -= 1;
    }
    &line[..end]
}

#[cfg(test)]
mod tests {
    use super::GitIgnore;

    fn ignored(rules: &str, path: &str) -> bool {
        GitIgnore::parse(rules).ignores(path)
    }

    #[test]
    fn names_match_at_any_depth_and_anchored_paths_at_the_root() {
        assert!(ignored("*.log\n", "a.log"));
        assert!(ignored("*.log\n", "deep/er/a.log"));
        assert!(!ignored("*.log\n", "a.log.txt"));
        assert!(ignored("/build\n", "build/x.o"));
        assert!(!ignored("/build\n", "src/build/x.o"));
        assert!(ignored("docs/*.tmp\n", "docs/a.tmp"));
        assert!(!ignored("docs/*.tmp\n", "docs/sub/a.tmp"), "* does not cross /");
        assert!(ignored("docs/**/*.tmp\n", "docs/sub/deeper/a.tmp"));
        assert!(ignored("**/cache\n", "x/cache/f"));
    }

    #[test]
    fn directories_negation_and_order() {
        assert!(ignored("out/\n", "out/a.bin"));
        assert!(!ignored("out/\n", "out"), "a file named like the directory stays");
        assert!(!ignored("*.bin\n!keep.bin\n", "keep.bin"));
        assert!(ignored("!keep.bin\n*.bin\n", "keep.bin"), "the last match wins");
        assert!(ignored("logs/\n!logs/keep.txt\n", "logs/keep.txt"), "an excluded directory stays excluded");
        assert!(ignored("__pycache__\n", "pkg/__pycache__/m.pyc"));
    }

    #[test]
    fn comments_escapes_and_spaces() {
        let rules = "# comment\n\n\\#hash\n\\!bang\ntrailing   \nescaped\\ \n";
        assert!(ignored(rules, "#hash"));
        assert!(ignored(rules, "!bang"));
        assert!(ignored(rules, "trailing"));
        assert!(ignored(rules, "escaped "));
        assert!(!ignored(rules, "comment"));
        assert!(!ignored("", "anything"));
    }

    #[test]
    fn hostile_patterns_stay_cheap() {
        let rules = format!("{}b\n", "*a".repeat(500));
        let path = "a".repeat(1000);
        let started = std::time::Instant::now();
        assert!(!ignored(&rules, &path));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let many: String = (0..10_000).map(|i| format!("f{i}\n")).collect();
        assert!(ignored(&many, "f1999"));
        assert!(!ignored(&many, "f2000"), "patterns past the cap are dropped");
    }
}
