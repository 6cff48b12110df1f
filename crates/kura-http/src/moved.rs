//! Redirects from a moved repo's earlier id, as the Hub answers them: a relative `307` to the
//! same path with the current id. Relative, because clients before huggingface_hub 1.30 follow
//! only redirects without a host; 307, so a POST (LFS batch, git upload-pack) keeps its body.
//! Only ids in the path are redirected: a body that names the earlier id (delete, move) gets
//! the 404 of a missing repo.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kura_model::RepoId;
use percent_encoding::percent_decode_str;

/// Where the repo's namespace sits among the path's segments: `/api/{type}s/{ns}/{name}/...`,
/// `/{datasets|spaces}/{ns}/{name}/...`, or `/{ns}/{name}/...` for models (the route parser's
/// layouts).
fn namespace_index(segments: &[&str]) -> usize {
    match segments.first() {
        Some(&"api") => 2,
        Some(&"datasets" | &"spaces") => 1,
        _ => 0,
    }
}

fn same(segment: &str, expected: &str) -> bool {
    percent_decode_str(segment).decode_utf8_lossy().eq_ignore_ascii_case(expected)
}

/// The path (and query) of `path` with `from` replaced by `to`, or `None` when the path does not
/// name `from` where a repo id goes.
pub(crate) fn location(path: &str, query: Option<&str>, from: &RepoId, to: &RepoId) -> Option<String> {
    let trimmed = path.strip_prefix('/')?;
    let mut segments: Vec<&str> = trimmed.split('/').collect();
    let at = namespace_index(&segments);
    let namespace = *segments.get(at)?;
    let name = *segments.get(at + 1)?;
    let (name, dot_git) = match name.strip_suffix(".git") {
        Some(bare) if same(bare, from.name()) => (bare, ".git"),
        _ => (name, ""),
    };
    if !same(namespace, from.namespace()) || !same(name, from.name()) {
        return None;
    }
    let new_name = format!("{}{dot_git}", to.name());
    segments[at] = to.namespace();
    segments[at + 1] = &new_name;
    let mut location = format!("/{}", segments.join("/"));
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        location.push('?');
        location.push_str(query);
    }
    Some(location)
}

/// The `307` to `location`.
pub(crate) fn redirect(location: &str) -> Option<Response> {
    let value = HeaderValue::from_str(location).ok()?;
    let mut response = (StatusCode::TEMPORARY_REDIRECT, axum::Json(serde_json::json!({}))).into_response();
    response.headers_mut().insert(header::LOCATION, value);
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(path: &str, query: Option<&str>) -> Option<String> {
        let from = RepoId::parse("alice/old").unwrap();
        let to = RepoId::parse("bob/new").unwrap();
        location(path, query, &from, &to)
    }

    #[test]
    fn the_earlier_id_is_replaced_where_the_route_puts_it() {
        assert_eq!(moved("/api/models/alice/old", None).as_deref(), Some("/api/models/bob/new"));
        assert_eq!(
            moved("/api/datasets/Alice/OLD/tree/main/a%20b", Some("recursive=1")).as_deref(),
            Some("/api/datasets/bob/new/tree/main/a%20b?recursive=1")
        );
        assert_eq!(moved("/alice/old/resolve/main/x", Some("")).as_deref(), Some("/bob/new/resolve/main/x"));
        assert_eq!(
            moved("/spaces/alice/old/resolve/main/x", None).as_deref(),
            Some("/spaces/bob/new/resolve/main/x")
        );
        assert_eq!(
            moved("/alice/old.git/info/refs", Some("service=git-upload-pack")).as_deref(),
            Some("/bob/new.git/info/refs?service=git-upload-pack")
        );
        assert_eq!(moved("/alice/old/info/refs", None).as_deref(), Some("/bob/new/info/refs"));
    }

    #[test]
    fn a_path_without_the_id_is_not_redirected() {
        assert_eq!(moved("/api/repos/delete", None), None);
        assert_eq!(moved("/api/repos/move", None), None);
        assert_eq!(moved("/api/models/alice/other", None), None);
        assert_eq!(moved("/alice", None), None);
    }
}
