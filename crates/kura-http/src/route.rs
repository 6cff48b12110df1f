//! The route table: raw request paths parsed into typed endpoints. Hub URLs put slashes in
//! repo ids, revisions and file paths, so routing works on the raw path, split on literal
//! `/` first and percent-decoded per segment afterwards.

use kura_model::RepoType;
use percent_encoding::percent_decode_str;

use crate::route_repo::{parse_api, parse_file_route};

/// A repo as named in a URL (validated later, by the handler).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepoRef {
    pub(crate) repo_type: RepoType,
    pub(crate) namespace: String,
    pub(crate) name: String,
}

/// Every endpoint kura serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Health,
    Metrics,
    WhoAmI,
    Login,
    Logout,
    ValidateYaml,
    CreateRepo,
    DeleteRepo,
    MoveRepo,
    ListRepos(RepoType),
    RepoInfo {
        repo: RepoRef,
        revision: Option<String>,
    },
    Tree {
        repo: RepoRef,
        revision: String,
        path: Option<String>,
    },
    PathsInfo {
        repo: RepoRef,
        revision: String,
    },
    /// Models: the headers of a sharded safetensors checkpoint's shards, by its index file.
    SafetensorsMetadata {
        repo: RepoRef,
        filename: String,
    },
    Refs {
        repo: RepoRef,
    },
    Commits {
        repo: RepoRef,
        revision: String,
    },
    Preupload {
        repo: RepoRef,
        revision: String,
    },
    Commit {
        repo: RepoRef,
        revision: String,
    },
    Branch {
        repo: RepoRef,
        branch: String,
    },
    Tag {
        repo: RepoRef,
        value: String,
    },
    Settings {
        repo: RepoRef,
    },
    SuperSquash {
        repo: RepoRef,
        branch: String,
    },
    LfsFiles {
        repo: RepoRef,
    },
    LfsFilesBatch {
        repo: RepoRef,
    },
    LfsFilesDuplicate {
        repo: RepoRef,
    },
    RepoStorage {
        org: Option<String>,
    },
    AuthCheck {
        repo: RepoRef,
        write: bool,
    },
    AskAccess {
        repo: RepoRef,
    },
    UserAccessRequest {
        repo: RepoRef,
        action: String,
    },
    AuditLog,
    OrgMembers {
        org: String,
    },
    OrgMember {
        org: String,
        user: String,
    },
    OrgMemberRole {
        org: String,
        user: String,
    },
    Tokens,
    Token {
        id: String,
    },
    /// The caller's own token for the mirror's upstream hub.
    UpstreamToken,
    /// `GET` lists collections, `POST` creates one.
    Collections,
    /// One collection by slug (`{namespace}/{title-slug}-{id}`): `GET`, `PATCH`, `DELETE`.
    Collection {
        slug: String,
    },
    /// `POST` adds an item.
    CollectionItems {
        slug: String,
    },
    /// One item by its id in the collection: `PATCH`, `DELETE`.
    CollectionItem {
        slug: String,
        item: String,
    },
    /// `POST` likes, `DELETE` unlikes.
    Like {
        repo: RepoRef,
    },
    Likers {
        repo: RepoRef,
    },
    /// The repos a user likes.
    UserLikes {
        user: String,
    },
    Discussions {
        repo: RepoRef,
    },
    Discussion {
        repo: RepoRef,
        num: String,
    },
    /// `comment`, `title`, `status` or `merge`.
    DiscussionAction {
        repo: RepoRef,
        num: String,
        action: String,
    },
    /// `edit` or `hide` a comment.
    DiscussionComment {
        repo: RepoRef,
        num: String,
        comment: String,
        action: String,
    },
    XetToken {
        repo: RepoRef,
        write: bool,
        revision: String,
    },
    Cas(CasRoute),
    Resolve {
        repo: RepoRef,
        revision: String,
        path: String,
    },
    LfsBatch {
        repo: RepoRef,
    },
    GitInfoRefs {
        repo: RepoRef,
    },
    GitUploadPack {
        repo: RepoRef,
    },
    GitReceivePack {
        repo: RepoRef,
    },
    LfsTransfer {
        token: String,
    },
    /// The dataset viewer API: `/datasets-server/{endpoint}?dataset=...`.
    Viewer {
        endpoint: String,
    },
    /// A media cell of the viewer, by a signed URL.
    ViewerAsset(ViewerAsset),
    /// `/api/datasets/{id}/parquet[/{config}[/{split}[/{n}.parquet]]]`.
    DatasetParquet {
        repo: RepoRef,
        config: Option<String>,
        split: Option<String>,
        file: Option<String>,
    },
    DatasetCroissant {
        repo: RepoRef,
    },
    /// `/api/spaces/{id}/runtime`: the Space's runtime as the Hub reports it.
    SpaceRuntime {
        repo: RepoRef,
    },
    /// `/api/spaces/{id}/variables`: list, add or replace, delete.
    SpaceVariables {
        repo: RepoRef,
    },
    /// What needs compute this hub does not run (hardware, secrets, sleep time, pausing,
    /// restarts, dev mode, logs, volumes, duplication): a 501 for everyone.
    SpaceCompute,
    /// A repo named without a namespace: kura has no such repos (`RepoNotFound`).
    RepoWithoutNamespace,
    NotFound,
}

/// `/datasets-server/assets/{ns}/{name}/--/{revision}/--/{config}/{split}/{row}/{column}/{file}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ViewerAsset {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) revision: String,
    pub(crate) config: String,
    pub(crate) split: String,
    pub(crate) row: u64,
    pub(crate) column: String,
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// Parses a raw request path.
pub(crate) fn parse(raw_path: &str) -> Route {
    match parse_known(raw_path) {
        Route::NotFound if names_repo_without_namespace(raw_path) => Route::RepoWithoutNamespace,
        route => route,
    }
}

/// Whether a path that matched nothing names a repo by a bare name (`/api/models/gpt2`,
/// `/api/models/gpt2/revision/main`, `/gpt2/resolve/main/x`): the Hub's canonical repos have
/// such ids, and its clients expect `RepoNotFound` for a repo a server does not have, not a
/// bare 404 (`repo_exists` and friends then answer `False` instead of raising).
fn names_repo_without_namespace(raw_path: &str) -> bool {
    let parts: Vec<&str> = raw_path.trim_start_matches('/').split('/').collect();
    let api_keywords =
        ["revision", "tree", "paths-info", "refs", "commits", "preupload", "commit", "branch", "tag"];
    match parts[..] {
        ["api", plural, name, ref rest @ ..] => {
            RepoType::from_plural(plural).is_some()
                && !name.is_empty()
                && rest.first().is_none_or(|keyword| api_keywords.contains(keyword))
        }
        ["datasets" | "spaces", name, "resolve", _, _, ..] | [name, "resolve", _, _, ..] => {
            !name.is_empty() && !["api", "cas", "_kura"].contains(&name)
        }
        _ => false,
    }
}

fn parse_known(raw_path: &str) -> Route {
    let trimmed = raw_path.strip_prefix('/').unwrap_or(raw_path);
    let segments: Vec<String> = trimmed.split('/').map(decode).collect();
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    match parts[..] {
        ["health"] => Route::Health,
        ["metrics"] => Route::Metrics,
        ["api", "whoami-v2"] => Route::WhoAmI,
        ["api", "login"] => Route::Login,
        ["api", "logout"] => Route::Logout,
        ["api", "validate-yaml"] => Route::ValidateYaml,
        ["api", "repos", "create"] => Route::CreateRepo,
        ["api", "repos", "delete"] => Route::DeleteRepo,
        ["api", "repos", "move"] => Route::MoveRepo,
        ["api", "admin", "audit-log"] => Route::AuditLog,
        ["api", "organizations", org, "members"] => Route::OrgMembers { org: org.to_owned() },
        ["api", "organizations", org, "members", user] => {
            Route::OrgMember { org: org.to_owned(), user: user.to_owned() }
        }
        ["api", "organizations", org, "members", user, "role"] => {
            Route::OrgMemberRole { org: org.to_owned(), user: user.to_owned() }
        }
        ["api", "organizations", org, "settings", "repositories"] => {
            Route::RepoStorage { org: Some(org.to_owned()) }
        }
        ["api", "settings", "repositories"] => Route::RepoStorage { org: None },
        ["api", "users", user, "likes"] => Route::UserLikes { user: user.to_owned() },
        ["api", "collections"] => Route::Collections,
        ["api", "collections", namespace, slug] => Route::Collection { slug: format!("{namespace}/{slug}") },
        ["api", "collections", namespace, slug, "items"] => {
            Route::CollectionItems { slug: format!("{namespace}/{slug}") }
        }
        ["api", "collections", namespace, slug, "items", item] => {
            Route::CollectionItem { slug: format!("{namespace}/{slug}"), item: item.to_owned() }
        }
        ["api", "settings", "tokens"] => Route::Tokens,
        ["api", "settings", "upstream-token"] => Route::UpstreamToken,
        ["api", "settings", "tokens", id] => Route::Token { id: id.to_owned() },
        ["_kura", "lfs", token] => Route::LfsTransfer { token: token.to_owned() },
        ["cas", ..] => Route::Cas(parse_cas(&parts[1..])),
        ["datasets-server", "assets", ns, name, "--", revision, "--", config, split, row, column, _file] => {
            match row.parse() {
                Ok(row) => Route::ViewerAsset(ViewerAsset {
                    namespace: ns.to_owned(),
                    name: name.to_owned(),
                    revision: revision.to_owned(),
                    config: config.to_owned(),
                    split: split.to_owned(),
                    row,
                    column: column.to_owned(),
                }),
                Err(_) => Route::NotFound,
            }
        }
        ["datasets-server", endpoint] => Route::Viewer { endpoint: endpoint.to_owned() },
        ["api", plural] => RepoType::from_plural(plural).map_or(Route::NotFound, Route::ListRepos),
        ["api", "spaces", "hardware"] | ["api", "spaces", "zero-gpu", "quota"] => Route::SpaceCompute,
        ["api", plural, namespace, name, ..] => match RepoType::from_plural(plural) {
            Some(repo_type) => {
                let repo = RepoRef { repo_type, namespace: namespace.to_owned(), name: name.to_owned() };
                parse_api(repo, &segments[4..])
            }
            None => Route::NotFound,
        },
        _ => parse_file_route(&segments),
    }
}

/// The Xet CAS routes, under `{public_url}/cas`, with the spellings of every hf_xet generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CasRoute {
    Xorb {
        hash: String,
    },
    /// Upload grants, v2 shards, other v2 routes: answered 404 so clients fall back.
    Unsupported,
    Shard,
    /// A file's download plan, in the v1 (`fetch_info`) or v2 (`xorbs`) shape.
    Reconstruction {
        file: String,
        v2: bool,
    },
    /// Global dedup query (`default` or `default-merkledb` prefix).
    Chunk {
        hash: String,
    },
    Telemetry,
    Fetch {
        token: String,
    },
    NotFound,
}

fn parse_cas(parts: &[&str]) -> CasRoute {
    let parts = match parts.first() {
        Some(&"v1") => &parts[1..],
        Some(&"v2") => {
            return match &parts[1..] {
                ["reconstructions", file] => CasRoute::Reconstruction { file: (*file).to_owned(), v2: true },
                _ => CasRoute::Unsupported,
            };
        }
        _ => parts,
    };
    match parts {
        ["xorbs" | "xorb", _prefix, hash] => CasRoute::Xorb { hash: (*hash).to_owned() },
        ["xorb-grants" | "xorb-commits", ..] => CasRoute::Unsupported,
        ["shards"] | ["shard", _, _] => CasRoute::Shard,
        ["reconstructions" | "reconstruction", file] => {
            CasRoute::Reconstruction { file: (*file).to_owned(), v2: false }
        }
        ["chunks" | "chunk", _prefix, hash] => CasRoute::Chunk { hash: (*hash).to_owned() },
        ["telemetry"] => CasRoute::Telemetry,
        ["fetch", token] => CasRoute::Fetch { token: (*token).to_owned() },
        _ => CasRoute::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(repo_type: RepoType, namespace: &str, name: &str) -> RepoRef {
        RepoRef { repo_type, namespace: namespace.into(), name: name.into() }
    }

    fn check(path: &str, expected: Route) {
        assert_eq!(parse(path), expected, "{path}");
    }

    #[test]
    fn maintenance_urls_as_the_client_builds_them() {
        let model = repo(RepoType::Model, "u", "m");
        check(
            "/api/models/u/m/super-squash/feature%2Fx",
            Route::SuperSquash { repo: model.clone(), branch: "feature/x".into() },
        );
        check("/api/models/u/m/lfs-files", Route::LfsFiles { repo: model.clone() });
        check("/api/models/u/m/lfs-files/batch", Route::LfsFilesBatch { repo: model.clone() });
        check("/api/models/u/m/lfs-files/duplicate", Route::LfsFilesDuplicate { repo: model.clone() });
        check("/api/models/u/m/lfs-files/other", Route::NotFound);
        check("/api/settings/repositories", Route::RepoStorage { org: None });
        check("/api/organizations/o/settings/repositories", Route::RepoStorage { org: Some("o".into()) });
    }

    #[test]
    fn collection_urls_as_the_client_builds_them() {
        let slug = "TheBloke/recent-models-64f9a55bb3115b4f513ec026";
        check("/api/collections", Route::Collections);
        check(&format!("/api/collections/{slug}"), Route::Collection { slug: slug.into() });
        check(&format!("/api/collections/{slug}/items"), Route::CollectionItems { slug: slug.into() });
        check(
            &format!("/api/collections/{slug}/items/651446103cd773a050bf64c2"),
            Route::CollectionItem { slug: slug.into(), item: "651446103cd773a050bf64c2".into() },
        );
        check("/api/collections/a%2Fb/x", Route::Collection { slug: "a/b/x".into() });
        check(&format!("/api/collections/{slug}/resource-group"), Route::NotFound);
        check("/api/collections/only-one-segment", Route::NotFound);
    }

    #[test]
    fn resolve_urls_as_the_client_builds_them() {
        let model = repo(RepoType::Model, "u", "m");
        check(
            "/u/m/resolve/main/config.json",
            Route::Resolve { repo: model.clone(), revision: "main".into(), path: "config.json".into() },
        );
        check(
            "/u/m/resolve/refs%2Fpr%2F3/a/b%20c.txt",
            Route::Resolve { repo: model.clone(), revision: "refs/pr/3".into(), path: "a/b c.txt".into() },
        );
        check(
            "/u/m/resolve/refs/pr/3/x.bin",
            Route::Resolve { repo: model.clone(), revision: "refs/pr/3".into(), path: "x.bin".into() },
        );
        check(
            "/datasets/u/d/resolve/feature%2Fx/data/train.csv",
            Route::Resolve {
                repo: repo(RepoType::Dataset, "u", "d"),
                revision: "feature/x".into(),
                path: "data/train.csv".into(),
            },
        );
        check(
            "/spaces/u/s/resolve/main/app.py",
            Route::Resolve {
                repo: repo(RepoType::Space, "u", "s"),
                revision: "main".into(),
                path: "app.py".into(),
            },
        );
        check("/u/m/resolve/main", Route::NotFound);
    }

    #[test]
    fn api_urls() {
        let model = repo(RepoType::Model, "u", "m");
        check("/api/models/u/m", Route::RepoInfo { repo: model.clone(), revision: None });
        check(
            "/api/models/u/m/revision/refs%2Fpr%2F1",
            Route::RepoInfo { repo: model.clone(), revision: Some("refs/pr/1".into()) },
        );
        check(
            "/api/models/u/m/tree/main/a%2Fb%2Fc",
            Route::Tree { repo: model.clone(), revision: "main".into(), path: Some("a/b/c".into()) },
        );
        check(
            "/api/models/u/m/tree/main/a/b",
            Route::Tree { repo: model.clone(), revision: "main".into(), path: Some("a/b".into()) },
        );
        check(
            "/api/models/u/m/tree/main",
            Route::Tree { repo: model.clone(), revision: "main".into(), path: None },
        );
        check(
            "/api/datasets/u/d/paths-info/abc",
            Route::PathsInfo { repo: repo(RepoType::Dataset, "u", "d"), revision: "abc".into() },
        );
        check("/api/models/u/m/commit/main", Route::Commit { repo: model.clone(), revision: "main".into() });
        check(
            "/api/models/u/m/branch/feature%2Fx",
            Route::Branch { repo: model.clone(), branch: "feature/x".into() },
        );
        check("/api/models/u/m/auth-check/write", Route::AuthCheck { repo: model.clone(), write: true });
        check("/api/models", Route::ListRepos(RepoType::Model));
        check("/api/models/u/m/ask-access", Route::AskAccess { repo: model.clone() });
        check(
            "/api/datasets/u/d/user-access-request/pending",
            Route::UserAccessRequest { repo: repo(RepoType::Dataset, "u", "d"), action: "pending".into() },
        );
        check(
            "/api/models/u/m/user-access-request/handle",
            Route::UserAccessRequest { repo: model.clone(), action: "handle".into() },
        );
        check("/api/models/u/m/user-access-request/a/b", Route::NotFound);
        check("/api/admin/audit-log", Route::AuditLog);
        check("/api/settings/tokens", Route::Tokens);
        check("/api/settings/upstream-token", Route::UpstreamToken);
        check("/api/settings/tokens/12", Route::Token { id: "12".into() });
        check("/api/settings/tokens/12/x", Route::NotFound);
        check("/api/things/u/m", Route::NotFound);
    }

    #[test]
    fn cas_urls_of_every_client_generation() {
        check("/cas/v1/xorbs/default/abc", Route::Cas(CasRoute::Xorb { hash: "abc".into() }));
        check("/cas/xorbs/default/abc", Route::Cas(CasRoute::Xorb { hash: "abc".into() }));
        check("/cas/xorb/default/abc", Route::Cas(CasRoute::Xorb { hash: "abc".into() }));
        check("/cas/v1/shards", Route::Cas(CasRoute::Shard));
        check("/cas/shards", Route::Cas(CasRoute::Shard));
        check("/cas/v2/shards", Route::Cas(CasRoute::Unsupported));
        check("/cas/v1/xorb-grants/default/abc", Route::Cas(CasRoute::Unsupported));
        check(
            "/cas/v1/reconstructions/f",
            Route::Cas(CasRoute::Reconstruction { file: "f".into(), v2: false }),
        );
        check("/cas/reconstruction/f", Route::Cas(CasRoute::Reconstruction { file: "f".into(), v2: false }));
        check(
            "/cas/v2/reconstructions/f",
            Route::Cas(CasRoute::Reconstruction { file: "f".into(), v2: true }),
        );
        check("/cas/v2/reconstruction/f", Route::Cas(CasRoute::Unsupported));
        check("/cas/v1/chunks/default-merkledb/h", Route::Cas(CasRoute::Chunk { hash: "h".into() }));
        check(
            "/api/models/u/m/xet-write-token/None",
            Route::XetToken { repo: repo(RepoType::Model, "u", "m"), write: true, revision: "None".into() },
        );
    }

    #[test]
    fn git_urls_with_and_without_dot_git() {
        let model = repo(RepoType::Model, "u", "m");
        check("/u/m.git/info/refs", Route::GitInfoRefs { repo: model.clone() });
        check("/u/m/info/refs", Route::GitInfoRefs { repo: model.clone() });
        check("/u/m/git-upload-pack", Route::GitUploadPack { repo: model.clone() });
        check(
            "/datasets/u/d.git/git-receive-pack",
            Route::GitReceivePack { repo: repo(RepoType::Dataset, "u", "d") },
        );
    }

    /// Every first segment `parse` matches before the file routes (keep this list with the
    /// match arms) is a name no user or organization may take.
    #[test]
    fn top_level_route_segments_are_reserved_names() {
        for segment in ["health", "metrics", "api", "_kura", "cas", "datasets", "spaces"] {
            assert!(kura_model::RESERVED_NAMESPACES.contains(&segment), "{segment} is not reserved");
        }
        // A namespace that is not reserved reaches the file routes.
        check(
            "/metrics-team/m/resolve/main/f",
            Route::Resolve {
                repo: repo(RepoType::Model, "metrics-team", "m"),
                revision: "main".into(),
                path: "f".into(),
            },
        );
    }

    #[test]
    fn lfs_urls() {
        check("/u/m.git/info/lfs/objects/batch", Route::LfsBatch { repo: repo(RepoType::Model, "u", "m") });
        check(
            "/datasets/u/d.git/info/lfs/objects/batch",
            Route::LfsBatch { repo: repo(RepoType::Dataset, "u", "d") },
        );
    }
}
