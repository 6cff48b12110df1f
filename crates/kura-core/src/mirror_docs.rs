//! What the mirror answers from cached upstream documents: a repo opened for a caller (with
//! the access check of gated and private upstream repos), its info, tree pages, paths-info
//! and single entries. Every document is parsed and checked for the shape kura serves before
//! it is cached.

use kura_model::{ObjectId, RepoId, RepoType, Sha256};
use serde_json::{Value, json};

use crate::error::{CoreError, Result};
use crate::mirror::{MirrorDoc, MirrorEntry, MirrorFile, MirrorRepo, encode};
use crate::services::Mirror;

/// How long a caller's confirmed upstream access to a gated or private repo is remembered.
const CONFIRMED_FOR_MS: i64 = 60_000;

/// Most paths of one paths-info request (the Hub's own limit).
pub const MAX_MIRROR_PATHS: usize = 1000;

/// The `cursor` of a `Link: <…?cursor=…>; rel="next"` header.
pub(crate) fn next_cursor(link: &str) -> Option<String> {
    link.split(',').find(|part| part.contains("rel=\"next\"")).and_then(|part| {
        let url = part.split_once('<')?.1.split_once('>')?.0;
        let query = url.split_once('?')?.1;
        form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "cursor").map(|(_, v)| v.into_owned())
    })
}

/// The document to cache under `key`, checked for its shape: tree pages keep their items and
/// the upstream's next cursor; info is an object naming its commit; paths-info a list.
pub(crate) fn keep(key: &str, doc: MirrorDoc) -> Result<Value> {
    let bad =
        |what: &str| CoreError::UpstreamUnavailable(format!("the upstream answered an unexpected {what}"));
    if key.starts_with("tree") {
        if !doc.body.is_array() {
            return Err(bad("tree page"));
        }
        return Ok(json!({ "items": doc.body, "next": doc.next_cursor }));
    }
    if key.starts_with("paths") && !doc.body.is_array() {
        return Err(bad("paths-info answer"));
    }
    if key.starts_with("info") && !doc.body.get("sha").is_some_and(Value::is_string) {
        return Err(bad("repo info"));
    }
    Ok(doc.body)
}

/// A file entry of a listing (`type: file`, an `oid`, a `size`, maybe `lfs` and `xetHash`).
pub(crate) fn file_of(item: &Value) -> Option<MirrorFile> {
    if item.get("type")?.as_str()? != "file" {
        return None;
    }
    let lfs = item.get("lfs").filter(|v| v.is_object());
    let sha256 = match lfs {
        Some(lfs) => Some(Sha256::from_hex(lfs.get("oid")?.as_str()?).ok()?),
        None => None,
    };
    // A path kura could not hold is not a file it fetches (`..` segments would change the
    // upstream URL it is fetched from).
    let path = kura_model::RepoPath::parse(item.get("path")?.as_str()?).ok()?;
    Some(MirrorFile {
        path: path.as_str().to_owned(),
        size: item.get("size")?.as_u64()?,
        blob: ObjectId::from_hex(item.get("oid")?.as_str()?).ok()?,
        sha256,
        xet_hash: item
            .get("xetHash")
            .and_then(Value::as_str)
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_owned),
    })
}

/// The pseudo-ref under which a mirrored repo's access state is kept (`:` never starts a git
/// ref name, so it cannot meet a real one).
const ACCESS_REF: &str = ":access";

/// Whether the upstream restricts a repo now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Public,
    /// Private, or gated (`"auto"`, `"manual"`, `true`).
    Restricted {
        gated: bool,
    },
}

impl Access {
    pub(crate) fn of(info: &Value) -> Self {
        let private = info.get("private").and_then(Value::as_bool).unwrap_or(false);
        let gated = !matches!(info.get("gated"), None | Some(Value::Null) | Some(Value::Bool(false)));
        if private || gated { Access::Restricted { gated } } else { Access::Public }
    }

    fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Restricted { gated: true } => "gated",
            Access::Restricted { gated: false } => "restricted",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "public" => Access::Public,
            "gated" => Access::Restricted { gated: true },
            _ => Access::Restricted { gated: false },
        }
    }
}

fn token_key(token: &str, repo: &MirrorRepo) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token.as_bytes());
    format!("{}:{}:{}", hex::encode(digest), repo.record.repo_type.as_str(), repo.record.id)
}

impl Mirror<'_> {
    /// Opens a mirrored repo at `revision` (its default branch when `None`) for a caller whose
    /// own upstream token is `own_token`: resolves the commit and, for a gated or private
    /// upstream repo, confirms that this caller may read it upstream (remembered for a minute;
    /// the mirror's own token never stands in for the caller's).
    pub async fn open(
        &self,
        own_token: Option<String>,
        repo_type: RepoType,
        repo_id: &RepoId,
        revision: Option<&str>,
    ) -> Result<(MirrorRepo, ObjectId)> {
        let token = own_token.clone().or_else(|| self.settings().and_then(|s| s.token.clone()));
        let (repo, commit) = self.resolve(repo_type, repo_id, revision, token).await?;
        self.check_access(&repo, own_token.as_deref()).await?;
        Ok((repo, commit))
    }

    /// Lets the holder of `own_token` (the caller's own upstream token, if any) read a
    /// mirrored repo: anyone when the upstream says it is public now, else only a caller the
    /// upstream confirms.
    pub(crate) async fn check_access(&self, repo: &MirrorRepo, own_token: Option<&str>) -> Result<()> {
        match self.access_state(repo).await? {
            Access::Public => Ok(()),
            Access::Restricted { gated } => self.confirm(repo, own_token, gated).await,
        }
    }

    /// Whether the repo is private or gated upstream: asked again once `ref_ttl_secs` (at
    /// least a second) has passed, whatever commit is asked for; without the upstream, the
    /// last answer; never asked, restricted.
    async fn access_state(&self, repo: &MirrorRepo) -> Result<Access> {
        let seen = self.meta.mirror_ref(repo.record.id, ACCESS_REF).await?;
        let ttl_ms = self.settings().map_or(0, |s| s.ref_ttl_secs.saturating_mul(1000)).max(1000) as i64;
        if let Some(seen) = &seen
            && self.now_millis() - seen.fetched_at < ttl_ms
        {
            return Ok(Access::parse(&seen.commit));
        }
        let path = format!("/api/{}/{}", repo.record.repo_type.plural(), repo.record.repo_id);
        let request = crate::mirror_upstream::UpstreamRequest {
            method: crate::mirror_upstream::UpstreamMethod::Get,
            path,
            body: None,
            token: repo.token.clone(),
        };
        let access = match self.call(request).await {
            Ok(reply) if reply.status == 200 => match serde_json::from_slice::<Value>(&reply.body) {
                Ok(info) => Access::of(&info),
                Err(_) => Access::Restricted { gated: false },
            },
            // Hidden from this token (private now, or gone): restricted.
            Ok(_) => Access::Restricted { gated: false },
            Err(CoreError::UpstreamUnavailable(reason)) => {
                return Ok(seen.map_or(Access::Restricted { gated: false }, |s| {
                    tracing::debug!(%reason, "upstream unavailable; the last access state stands");
                    Access::parse(&s.commit)
                }));
            }
            Err(other) => return Err(other),
        };
        self.record_access(repo.record.id, access).await?;
        Ok(access)
    }

    /// Whether the upstream last said the mirrored repo `id` is public (never asked: no).
    pub(crate) async fn last_seen_public(&self, id: i64) -> Result<bool> {
        let seen = self.meta.mirror_ref(id, ACCESS_REF).await?;
        Ok(seen.is_some_and(|s| Access::parse(&s.commit) == Access::Public))
    }

    pub(crate) async fn record_access(&self, id: i64, access: Access) -> Result<()> {
        let record = kura_storage::MirrorRefRecord {
            commit: access.as_str().to_owned(),
            fetched_at: self.now_millis(),
        };
        Ok(self.meta.put_mirror_ref(id, ACCESS_REF, &record).await?)
    }

    /// Confirms upstream that the holder of `token` may read the repo's files.
    async fn confirm(&self, repo: &MirrorRepo, token: Option<&str>, gated: bool) -> Result<()> {
        let Some(token) = token else {
            return Err(if gated {
                CoreError::GatedRepo(format!(
                    "Access to {} is restricted upstream; store your upstream token in your kura settings to use it here",
                    repo.record.repo_id
                ))
            } else {
                CoreError::RepoNotFound
            });
        };
        let key = token_key(token, repo);
        let now = self.now_millis();
        if self.hub.mirror_state.confirmed_until(&key).is_some_and(|until| until > now) {
            return Ok(());
        }
        let path = format!("/api/{}/{}/auth-check", repo.record.repo_type.plural(), repo.record.repo_id);
        let request = crate::mirror_upstream::UpstreamRequest {
            method: crate::mirror_upstream::UpstreamMethod::Get,
            path,
            body: None,
            token: Some(token.to_owned()),
        };
        let reply = self.call(request).await?;
        if reply.status != 200 {
            return Err(crate::mirror::upstream_error(&reply));
        }
        self.hub.mirror_state.confirm(key, now + CONFIRMED_FOR_MS);
        Ok(())
    }

    /// The repo's info at `commit`, with the `expand` properties asked for.
    pub async fn info(&self, repo: &MirrorRepo, commit: &ObjectId, expand: &[String]) -> Result<Value> {
        // Property names only (letters, digits, `_`): anything else is not an upstream property.
        let mut expand: Vec<&str> = expand
            .iter()
            .map(String::as_str)
            .filter(|e| {
                !e.is_empty() && e.len() <= 64 && e.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
            .collect();
        expand.sort_unstable();
        expand.dedup();
        let query: Vec<String> = expand.iter().map(|e| format!("expand%5B%5D={}", encode(e))).collect();
        let key = if query.is_empty() { "info".to_owned() } else { format!("info?{}", query.join("&")) };
        let mut path =
            format!("/api/{}/{}/revision/{}", repo.record.repo_type.plural(), repo.record.repo_id, commit);
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
        self.doc(repo, commit, &key, path, None).await
    }

    /// One page of the tree under `path` at `commit`, as the upstream pages it.
    pub async fn tree_page(
        &self,
        repo: &MirrorRepo,
        commit: &ObjectId,
        path: &str,
        recursive: bool,
        expand: bool,
        cursor: Option<&str>,
    ) -> Result<MirrorDoc> {
        if cursor.is_some_and(|c| c.len() > 4096) {
            return Err(CoreError::invalid("Invalid cursor"));
        }
        let mut query = format!("recursive={}&expand={}", py_bool(recursive), py_bool(expand));
        if let Some(cursor) = cursor {
            query.push_str(&format!("&cursor={}", encode(cursor)));
        }
        let dir = path.trim_matches('/');
        let key = format!("tree/{dir}?{query}");
        let suffix = if dir.is_empty() { String::new() } else { format!("/{}", encode_path(dir)) };
        let url = format!(
            "/api/{}/{}/tree/{commit}{suffix}?{query}",
            repo.record.repo_type.plural(),
            repo.record.repo_id
        );
        let page = self.doc(repo, commit, &key, url, None).await.map_err(|e| with_commit(e, commit))?;
        Ok(MirrorDoc {
            next_cursor: page.get("next").and_then(Value::as_str).map(str::to_owned),
            body: page.get("items").cloned().unwrap_or(Value::Array(Vec::new())),
        })
    }

    /// The entries of `paths` at `commit` (paths-info).
    pub async fn paths_info(
        &self,
        repo: &MirrorRepo,
        commit: &ObjectId,
        paths: &[String],
        expand: bool,
    ) -> Result<Value> {
        if paths.len() > MAX_MIRROR_PATHS {
            return Err(CoreError::TooLarge(format!("At most {MAX_MIRROR_PATHS} paths per request")));
        }
        // Paths kura could not hold name nothing: they are not asked for.
        let mut sorted: Vec<&str> = paths
            .iter()
            .map(|p| p.trim_matches('/'))
            .filter(|p| kura_model::RepoPath::parse(p).is_ok())
            .collect();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.is_empty() {
            return Ok(Value::Array(Vec::new()));
        }
        let digest = {
            use sha2::Digest;
            let encoded = serde_json::to_string(&sorted).unwrap_or_default();
            hex::encode(sha2::Sha256::digest(encoded.as_bytes()))
        };
        let key = format!("paths/{digest}?expand={}", py_bool(expand));
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for path in &sorted {
                form.append_pair("paths", path);
            }
            form.append_pair("expand", py_bool(expand));
            form.finish()
        };
        let url =
            format!("/api/{}/{}/paths-info/{commit}", repo.record.repo_type.plural(), repo.record.repo_id);
        self.doc(repo, commit, &key, url, Some(form)).await
    }

    /// What `path` names at `commit`.
    pub async fn entry(&self, repo: &MirrorRepo, commit: &ObjectId, path: &str) -> Result<MirrorEntry> {
        let path = path.trim_matches('/');
        let found = self.paths_info(repo, commit, &[path.to_owned()], false).await?;
        let item = found.as_array().and_then(|items| items.iter().find(|i| i["path"] == path));
        Ok(match item {
            None => MirrorEntry::Missing,
            Some(item) if item["type"] == "directory" => MirrorEntry::Directory,
            Some(item) => file_of(item).map_or(MirrorEntry::Missing, MirrorEntry::File),
        })
    }
}

/// The booleans the Hub's query parser reads as Python does.
fn py_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

/// A repo path percent-encoded segment by segment (slashes kept).
pub(crate) fn encode_path(path: &str) -> String {
    path.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// A missing path reported at the commit it was looked for in.
fn with_commit(error: CoreError, commit: &ObjectId) -> CoreError {
    match error {
        CoreError::EntryNotFound { path, .. } => CoreError::EntryNotFound { path, commit: Some(*commit) },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_cursor_comes_from_the_link_header() {
        let link =
            "<https://up.example/api/models/a/b/tree/abc?recursive=True&cursor=ZXl%2BK3A%3D>; rel=\"next\"";
        assert_eq!(next_cursor(link).as_deref(), Some("ZXl+K3A="));
        assert_eq!(next_cursor("<https://x/y?cursor=1>; rel=\"prev\""), None);
        assert_eq!(next_cursor("garbage"), None);
    }

    #[test]
    fn listings_name_files_with_their_content_ids() {
        let lfs = json!({"type": "file", "path": "w.bin", "size": 5, "oid": "a".repeat(40),
            "lfs": {"oid": "b".repeat(64), "size": 5, "pointerSize": 120}, "xetHash": "c".repeat(64)});
        let file = file_of(&lfs).unwrap();
        assert_eq!(file.sha256.unwrap().to_hex(), "b".repeat(64));
        assert_eq!(file.xet_hash.as_deref(), Some("c".repeat(64).as_str()));
        let small = json!({"type": "file", "path": "c.json", "size": 2, "oid": "d".repeat(40)});
        assert_eq!(file_of(&small).unwrap().sha256, None);
        assert!(
            file_of(&json!({"type": "directory", "path": "x", "oid": "d".repeat(40), "size": 0})).is_none()
        );
        let bad_hash =
            json!({"type": "file", "path": "c", "size": 2, "oid": "d".repeat(40), "xetHash": "zz"});
        assert_eq!(file_of(&bad_hash).unwrap().xet_hash, None);
    }

    #[test]
    fn restricted_repos_are_private_or_gated() {
        assert_eq!(Access::of(&json!({"private": false, "gated": false})), Access::Public);
        assert_eq!(
            Access::of(&json!({"private": true, "gated": false})),
            Access::Restricted { gated: false }
        );
        assert_eq!(
            Access::of(&json!({"private": false, "gated": "manual"})),
            Access::Restricted { gated: true }
        );
        assert_eq!(Access::of(&json!({"sha": "x"})), Access::Public);
        for access in
            [Access::Public, Access::Restricted { gated: true }, Access::Restricted { gated: false }]
        {
            assert_eq!(Access::parse(access.as_str()), access);
        }
        assert_eq!(Access::parse("anything else"), Access::Restricted { gated: false }, "unknown is closed");
    }

    #[test]
    fn only_documents_of_the_expected_shape_are_kept() {
        let page = MirrorDoc { body: json!([]), next_cursor: Some("n".into()) };
        assert_eq!(keep("tree/?recursive=True", page).unwrap(), json!({"items": [], "next": "n"}));
        assert!(keep("tree/x", MirrorDoc { body: json!({}), next_cursor: None }).is_err());
        assert!(keep("info", MirrorDoc { body: json!({"id": "a"}), next_cursor: None }).is_err());
        assert!(keep("paths/x", MirrorDoc { body: json!({}), next_cursor: None }).is_err());
    }
}
