//! `.gitattributes` handling: the default file new repos get, and which paths it routes to
//! Git LFS.

/// What the Hub puts in a new repo.
pub const DEFAULT_GITATTRIBUTES: &str = "\
*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.bz2 filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.ftz filter=lfs diff=lfs merge=lfs -text
*.gguf filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.joblib filter=lfs diff=lfs merge=lfs -text
*.lfs.* filter=lfs diff=lfs merge=lfs -text
*.mlmodel filter=lfs diff=lfs merge=lfs -text
*.model filter=lfs diff=lfs merge=lfs -text
*.msgpack filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.ot filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pb filter=lfs diff=lfs merge=lfs -text
*.pickle filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.rar filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
saved_model/**/* filter=lfs diff=lfs merge=lfs -text
*.tar.* filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.tflite filter=lfs diff=lfs merge=lfs -text
*.tgz filter=lfs diff=lfs merge=lfs -text
*.wasm filter=lfs diff=lfs merge=lfs -text
*.xz filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
*tfevents* filter=lfs diff=lfs merge=lfs -text
";

/// Patterns whose attributes include `filter=lfs`.
pub fn lfs_patterns(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let pattern = parts.next()?;
            if pattern.starts_with('#') {
                return None;
            }
            parts.any(|attr| attr == "filter=lfs").then(|| pattern.to_owned())
        })
        .collect()
}

/// Whether `path` is routed to LFS by any of `patterns` (gitignore-style subset: a pattern
/// without `/` matches the file name; otherwise the whole path; `*`, `?` and `**`).
pub fn is_lfs_path(patterns: &[String], path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    patterns.iter().any(|pattern| {
        if pattern.contains('/') {
            glob(pattern.trim_start_matches('/').as_bytes(), path.as_bytes())
        } else {
            glob(pattern.as_bytes(), name.as_bytes())
        }
    })
}

/// Glob match where `*` does not cross `/` but `**` does.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.first() {
        None => text.is_empty(),
        Some(b'*') if pattern.get(1) == Some(&b'*') => {
            let rest = pattern[2..].strip_prefix(b"/").unwrap_or(&pattern[2..]);
            (0..=text.len()).any(|i| glob(rest, &text[i..]))
        }
        Some(b'*') => {
            let rest = &pattern[1..];
            for i in 0..=text.len() {
                if glob(rest, &text[i..]) {
                    return true;
                }
                if text.get(i) == Some(&b'/') {
                    break;
                }
            }
            false
        }
        Some(b'?') => text.first().is_some_and(|&c| c != b'/') && glob(&pattern[1..], &text[1..]),
        Some(&c) => text.first() == Some(&c) && glob(&pattern[1..], &text[1..]),
    }
}

/// A line routing exactly `path` to LFS (spaces escaped as git expects).
pub fn lfs_line_for(path: &str) -> String {
    let escaped: String = path
        .chars()
        .flat_map(|c| match c {
            ' ' => vec!['[', '[', ':', 's', 'p', 'a', 'c', 'e', ':', ']', ']'],
            '*' | '?' | '[' | '\\' | '#' => vec!['\\', c],
            other => vec![other],
        })
        .collect();
    format!("{escaped} filter=lfs diff=lfs merge=lfs -text\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_patterns_route_weights() {
        let patterns = lfs_patterns(DEFAULT_GITATTRIBUTES);
        assert!(is_lfs_path(&patterns, "model.safetensors"));
        assert!(is_lfs_path(&patterns, "sub/dir/pytorch_model.bin"));
        assert!(is_lfs_path(&patterns, "data/train.tar.gz"));
        assert!(is_lfs_path(&patterns, "saved_model/a/b.pb"));
        assert!(is_lfs_path(&patterns, "runs/events.out.tfevents.123"));
        assert!(!is_lfs_path(&patterns, "config.json"));
        assert!(!is_lfs_path(&patterns, "README.md"));
    }

    #[test]
    fn anchored_patterns() {
        let patterns = vec!["data/*.csv".to_owned()];
        assert!(is_lfs_path(&patterns, "data/a.csv"));
        assert!(!is_lfs_path(&patterns, "data/x/a.csv"));
        assert!(!is_lfs_path(&patterns, "a.csv"));
    }
}
