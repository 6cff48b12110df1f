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
    Some(MirrorFile {
        path: item.get("path")?.as_str()?.to_owned(),
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

/// Whether the upstream restricts the repo: private, or gated (`"auto"`, `"manual"`, `true`).
fn restricted(info: &Value) -> bool {
    let private = info.get("private").and_then(Value::as_bool).unwrap_or(false);
    let gated = match info.get("gated") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(_) => true,
    };
    private || gated
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
        let info = self.info(&repo, &commit, &[]).await?;
        if restricted(&info) {
            self.confirm(&repo, own_token.as_deref(), &info).await?;
        }
        Ok((repo, commit))
    }

    /// Confirms upstream that the holder of `token` may read the repo's files.
    async fn confirm(&self, repo: &MirrorRepo, token: Option<&str>, info: &Value) -> Result<()> {
        let gated = info.get("gated").is_some_and(|g| !g.is_null() && g != &Value::Bool(false));
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
        let mut expand: Vec<&str> = expand.iter().map(String::as_str).collect();
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
        let mut sorted: Vec<&str> = paths.iter().map(|p| p.trim_matches('/')).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let digest = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(sorted.join("\n").as_bytes()))
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
        assert!(!restricted(&json!({"private": false, "gated": false})));
        assert!(restricted(&json!({"private": true, "gated": false})));
        assert!(restricted(&json!({"private": false, "gated": "manual"})));
        assert!(!restricted(&json!({"sha": "x"})));
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
