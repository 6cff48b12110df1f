//! The repo half of the route table: what follows `/api/{type}s/{namespace}/{name}/` (info,
//! tree, commits, discussions, likes, settings, tokens…) and the repo-file paths
//! (`/{repo}/resolve/…`, `/{repo}.git/…`). `route.rs` holds the `Route` enum and the rest.

use kura_model::RepoType;

use crate::route::{RepoRef, Route};

/// Splits a revision off the front of `segments`: one segment normally, or three when a
/// special ref (`refs/pr/N`, `refs/convert/x`) arrives unencoded.
pub(crate) fn take_revision(segments: &[String]) -> Option<(String, &[String])> {
    let first = segments.first()?;
    if first == "refs"
        && segments.len() >= 3
        && matches!(segments[1].as_str(), "pr" | "convert" | "heads" | "tags")
    {
        return Some((segments[..3].join("/"), &segments[3..]));
    }
    Some((first.clone(), &segments[1..]))
}

pub(crate) fn joined(segments: &[String]) -> Option<String> {
    (!segments.is_empty()).then(|| segments.join("/"))
}

pub(crate) fn parse_api(repo: RepoRef, rest: &[String]) -> Route {
    let Some(keyword) = rest.first() else {
        return Route::RepoInfo { repo, revision: None };
    };
    let after = &rest[1..];
    let whole = joined(after);
    match (keyword.as_str(), whole) {
        ("revision", Some(revision)) => Route::RepoInfo { repo, revision: Some(revision) },
        ("tree", Some(_)) => match take_revision(after) {
            Some((revision, path)) => Route::Tree { repo, revision, path: joined(path) },
            None => Route::NotFound,
        },
        ("paths-info", Some(revision)) => Route::PathsInfo { repo, revision },
        ("safetensors-metadata", Some(filename)) if repo.repo_type == RepoType::Model => {
            Route::SafetensorsMetadata { repo, filename }
        }
        ("refs", None) => Route::Refs { repo },
        ("commits", Some(revision)) => Route::Commits { repo, revision },
        ("preupload", Some(revision)) => Route::Preupload { repo, revision },
        ("commit", Some(revision)) => Route::Commit { repo, revision },
        ("branch", Some(branch)) => Route::Branch { repo, branch },
        ("tag", Some(value)) => Route::Tag { repo, value },
        ("settings", None) => Route::Settings { repo },
        ("super-squash", Some(branch)) => Route::SuperSquash { repo, branch },
        ("lfs-files", None) => Route::LfsFiles { repo },
        ("lfs-files", Some(action)) if action == "batch" => Route::LfsFilesBatch { repo },
        ("lfs-files", Some(action)) if action == "duplicate" => Route::LfsFilesDuplicate { repo },
        ("like", None) => Route::Like { repo },
        ("likers", None) => Route::Likers { repo },
        ("auth-check", None) => Route::AuthCheck { repo, write: false },
        ("auth-check", Some(w)) if w == "write" => Route::AuthCheck { repo, write: true },
        ("discussions", _) => match after {
            [] => Route::Discussions { repo },
            [num] => Route::Discussion { repo, num: num.clone() },
            [num, action] => Route::DiscussionAction { repo, num: num.clone(), action: action.clone() },
            [num, c, comment, action] if c == "comment" => Route::DiscussionComment {
                repo,
                num: num.clone(),
                comment: comment.clone(),
                action: action.clone(),
            },
            _ => Route::NotFound,
        },
        ("parquet", _) if repo.repo_type == RepoType::Dataset && after.len() <= 3 => Route::DatasetParquet {
            repo,
            config: after.first().cloned(),
            split: after.get(1).cloned(),
            file: after.get(2).cloned(),
        },
        ("croissant", None) if repo.repo_type == RepoType::Dataset => Route::DatasetCroissant { repo },
        ("runtime", None) if repo.repo_type == RepoType::Space => Route::SpaceRuntime { repo },
        ("variables", None) if repo.repo_type == RepoType::Space => Route::SpaceVariables { repo },
        (
            "secrets" | "hardware" | "sleeptime" | "pause" | "restart" | "dev-mode" | "logs" | "volumes"
            | "duplicate" | "metrics" | "events",
            _,
        ) if repo.repo_type == RepoType::Space => Route::SpaceCompute,
        ("ask-access", None) => Route::AskAccess { repo },
        ("user-access-request", Some(action)) if !action.contains('/') => {
            Route::UserAccessRequest { repo, action }
        }
        ("xet-read-token", revision) => {
            Route::XetToken { repo, write: false, revision: revision.unwrap_or_else(|| "main".into()) }
        }
        ("xet-write-token", revision) => {
            Route::XetToken { repo, write: true, revision: revision.unwrap_or_else(|| "main".into()) }
        }
        _ => Route::NotFound,
    }
}

pub(crate) fn parse_file_route(segments: &[String]) -> Route {
    let (repo_type, rest) = match segments.first().map(String::as_str) {
        Some("datasets") => (RepoType::Dataset, &segments[1..]),
        Some("spaces") => (RepoType::Space, &segments[1..]),
        _ => (RepoType::Model, segments),
    };
    if rest.len() < 2 {
        return Route::NotFound;
    }
    let namespace = rest[0].clone();
    let tail: Vec<&str> = rest[2..].iter().map(String::as_str).collect();
    let (name, dot_git) = match rest[1].strip_suffix(".git") {
        Some(name) => (name.to_owned(), true),
        None => (rest[1].clone(), false),
    };
    let repo = RepoRef { repo_type, namespace, name };
    match tail[..] {
        ["info", "lfs", "objects", "batch"] if dot_git => Route::LfsBatch { repo },
        ["info", "refs"] => Route::GitInfoRefs { repo },
        ["git-upload-pack"] => Route::GitUploadPack { repo },
        ["git-receive-pack"] => Route::GitReceivePack { repo },
        ["resolve", ..] if !dot_git => match take_revision(&rest[3..]) {
            Some((revision, path)) if !path.is_empty() => {
                Route::Resolve { repo, revision, path: path.join("/") }
            }
            _ => Route::NotFound,
        },
        _ => Route::NotFound,
    }
}
