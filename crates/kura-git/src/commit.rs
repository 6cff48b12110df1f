//! Commit objects.

use kura_model::ObjectId;

use crate::GitError;
use crate::object::{ObjectKind, hash_object};

/// Author or committer line: `Name <email> <unix seconds> <+hhmm>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub email: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
    /// Offset from UTC in minutes.
    pub offset_minutes: i32,
}

impl Signature {
    fn encode(&self) -> String {
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let abs = self.offset_minutes.unsigned_abs();
        let clean = |s: &str| s.replace(['<', '>', '\n'], "");
        format!(
            "{} <{}> {} {sign}{:02}{:02}",
            clean(&self.name),
            clean(&self.email),
            self.time,
            abs / 60,
            abs % 60
        )
    }

    fn parse(text: &str) -> Result<Self, GitError> {
        let bad = || GitError::malformed("commit", "bad signature line");
        let open = text.find('<').ok_or_else(bad)?;
        let close = text.rfind('>').ok_or_else(bad)?;
        if close < open {
            return Err(bad());
        }
        let name = text[..open].trim_end().to_owned();
        let email = text[open + 1..close].to_owned();
        let mut rest = text[close + 1..].split_whitespace();
        let time = rest.next().and_then(|t| t.parse().ok()).ok_or_else(bad)?;
        let zone = rest.next().unwrap_or("+0000");
        let offset_minutes = parse_zone(zone).ok_or_else(bad)?;
        Ok(Self { name, email, time, offset_minutes })
    }
}

fn parse_zone(zone: &str) -> Option<i32> {
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    Some(sign * (hours * 60 + minutes))
}

/// A decoded commit. Unknown headers (gpgsig, encoding, ...) are kept verbatim so that
/// re-encoding a parsed commit reproduces its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
    pub author: Signature,
    pub committer: Signature,
    pub extra_headers: Vec<(String, String)>,
    pub message: String,
}

impl Commit {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("tree {}\n", self.tree);
        for parent in &self.parents {
            out.push_str(&format!("parent {parent}\n"));
        }
        out.push_str(&format!("author {}\n", self.author.encode()));
        out.push_str(&format!("committer {}\n", self.committer.encode()));
        for (key, value) in &self.extra_headers {
            out.push_str(key);
            out.push(' ');
            out.push_str(&value.replace('\n', "\n "));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.message);
        out.into_bytes()
    }

    pub fn id(&self) -> ObjectId {
        hash_object(ObjectKind::Commit, &self.encode())
    }

    /// First line of the message.
    pub fn title(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }

    /// Everything after the title and the blank line that follows it.
    pub fn body(&self) -> &str {
        match self.message.split_once('\n') {
            Some((_, rest)) => rest.trim_start_matches('\n').trim_end(),
            None => "",
        }
    }

    pub fn parse(data: &[u8]) -> Result<Self, GitError> {
        let text = std::str::from_utf8(data).map_err(|_| GitError::malformed("commit", "not UTF-8"))?;
        let (head, message) =
            text.split_once("\n\n").ok_or_else(|| GitError::malformed("commit", "no message separator"))?;
        let mut tree = None;
        let mut parents = Vec::new();
        let mut author = None;
        let mut committer = None;
        let mut extra_headers: Vec<(String, String)> = Vec::new();
        for line in head.split('\n') {
            if let Some(continued) = line.strip_prefix(' ') {
                let last = extra_headers
                    .last_mut()
                    .ok_or_else(|| GitError::malformed("commit", "stray continuation"))?;
                last.1.push('\n');
                last.1.push_str(continued);
                continue;
            }
            let (key, value) =
                line.split_once(' ').ok_or_else(|| GitError::malformed("commit", "header without value"))?;
            let oid =
                |v: &str| ObjectId::from_hex(v).map_err(|_| GitError::malformed("commit", "bad object id"));
            match key {
                "tree" if tree.is_none() => tree = Some(oid(value)?),
                "parent" => parents.push(oid(value)?),
                "author" if author.is_none() => author = Some(Signature::parse(value)?),
                "committer" if committer.is_none() => committer = Some(Signature::parse(value)?),
                _ => extra_headers.push((key.to_owned(), value.to_owned())),
            }
        }
        let missing = |what: &str| GitError::malformed("commit", format!("missing {what}"));
        Ok(Self {
            tree: tree.ok_or_else(|| missing("tree"))?,
            parents,
            author: author.ok_or_else(|| missing("author"))?,
            committer: committer.ok_or_else(|| missing("committer"))?,
            extra_headers,
            message: message.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Commit {
        let sig = Signature {
            name: "A U Thor".into(),
            email: "author@example.com".into(),
            time: 1_112_911_993,
            offset_minutes: -420,
        };
        Commit {
            tree: ObjectId::from_hex("4b825dc642cb6eb9a060e54bf8d69288fbee4904").unwrap(),
            parents: vec![],
            author: sig.clone(),
            committer: sig,
            extra_headers: vec![],
            message: "initial\n".into(),
        }
    }

    #[test]
    fn round_trips() {
        let commit = sample();
        let encoded = commit.encode();
        assert!(encoded.starts_with(b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A U Thor"));
        assert!(String::from_utf8_lossy(&encoded).contains("1112911993 -0700\n"));
        assert_eq!(Commit::parse(&encoded).unwrap(), commit);
        assert_eq!(commit.title(), "initial");
    }

    #[test]
    fn keeps_unknown_headers_for_stable_ids() {
        let mut commit = sample();
        commit.extra_headers.push(("gpgsig".into(), "line1\nline2".into()));
        let parsed = Commit::parse(&commit.encode()).unwrap();
        assert_eq!(parsed.id(), commit.id());
    }

    #[test]
    fn rejects_garbage() {
        assert!(Commit::parse(b"tree zzz\n\nmsg").is_err());
        assert!(Commit::parse(b"no separator").is_err());
    }
}
