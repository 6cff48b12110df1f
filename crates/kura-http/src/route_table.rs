//! What each endpoint is, beside its route: the path template (for the request log and the
//! docs) and who may call it (`Access`). The dispatcher reads the declaration before any
//! handler runs: it decides which credentials a request is judged by (a hub token or session,
//! or a capability the route carries itself) and refuses anonymous callers of routes that need
//! a user. Finer rules (which repo, which org, which role) are the core's, which hands out the
//! proofs content is read through; the declaration says which rule applies, and
//! `docs/security.md` lists it for every route (a test keeps the two equal).

use axum::http::Method;

use crate::route::{CasRoute, Route};

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone, signed in or not.
    Anyone,
    /// A signed-in user (a token or a session); what they see is theirs.
    User,
    /// Anyone who may read the repo in the path: public repos for everyone, private ones for
    /// members of its namespace, gated files for users the gate let in.
    RepoRead,
    /// Users with write rights on the repo (namespace owner, org writers, write tokens).
    RepoWrite,
    /// Contributors: signed-in users who can see the repo, with a token that writes. They
    /// post in discussions and open and add to their pull requests (`create_pr=1`,
    /// `refs/pr/N`); a branch or tag still needs write rights, which the core checks for the
    /// revision or ref named.
    RepoContribute,
    /// Users with admin rights on the repo's namespace (settings, moves, deletion, access
    /// requests, history rewrites).
    RepoAdmin,
    /// Signed-in users who can see the repo (asking for access to a gated one). Not refused at
    /// the gate: for a hidden repo an anonymous caller must get the same answer as for a
    /// missing one, which only the core can give.
    RepoVisitor,
    /// Users with write rights in the namespace named in the body (creating a repo there).
    NamespaceWrite,
    /// Members of the organization in the path.
    OrgMember,
    /// Admins of the organization in the path.
    OrgAdmin,
    /// Server administrators (or, for `/metrics`, the metrics token).
    ServerAdmin,
    /// Whoever holds the capability in the URL, which kura signed; hub credentials are ignored.
    Capability,
    /// Whoever holds a Xet token from `xet-read-token` / `xet-write-token`; hub credentials are
    /// ignored.
    XetToken,
}

impl Access {
    /// The request carries its own authority (a signed capability or a Xet token): the hub
    /// identity is not looked up, and a stray `Authorization` header cannot break it.
    pub(crate) fn own_credential(self) -> bool {
        matches!(self, Access::Capability | Access::XetToken)
    }

    /// Anonymous callers are refused before the handler runs.
    pub(crate) fn needs_user(self) -> bool {
        matches!(
            self,
            Access::User
                | Access::NamespaceWrite
                | Access::OrgMember
                | Access::OrgAdmin
                | Access::ServerAdmin
        )
    }
}

impl Route {
    /// Who may call this route with `method`. Methods the route does not serve are declared
    /// `Anyone`: they are answered 405 without looking at anything.
    pub(crate) fn access(&self, method: &Method) -> Access {
        let write = !matches!(*method, Method::GET | Method::HEAD);
        match self {
            Route::Health | Route::Login | Route::ValidateYaml | Route::ListRepos(_) | Route::NotFound => {
                Access::Anyone
            }
            Route::WhoAmI | Route::Logout | Route::Tokens | Route::Token { .. } | Route::UpstreamToken => {
                Access::User
            }
            Route::RepoStorage { org: None } => Access::User,
            Route::RepoStorage { org: Some(_) } => Access::OrgMember,
            // Anonymous callers may ask; the metrics token stands in for an admin.
            Route::Metrics => Access::ServerAdmin,
            Route::AuditLog => Access::ServerAdmin,
            Route::CreateRepo => Access::NamespaceWrite,
            Route::DeleteRepo | Route::MoveRepo | Route::Settings { .. } => Access::RepoAdmin,
            Route::UserAccessRequest { .. } => Access::RepoAdmin,
            // History rewrites: squashing a branch, unlinking large objects.
            Route::SuperSquash { .. } | Route::LfsFilesBatch { .. } => Access::RepoAdmin,
            Route::LfsFiles { .. } => Access::RepoWrite,
            // Read access to the source repo in the path; the core also requires write access
            // to the target named in the body.
            Route::LfsFilesDuplicate { .. } => Access::RepoRead,
            Route::AskAccess { .. } => Access::RepoVisitor,
            Route::Discussions { .. } if write => Access::RepoContribute,
            // Anyone reads what they may see; writing needs a user, and the core checks that
            // they manage the collection's namespace (its owner, org writers and admins).
            Route::Collections | Route::Collection { .. } if write => Access::User,
            Route::Collections | Route::Collection { .. } => Access::Anyone,
            Route::CollectionItems { .. } | Route::CollectionItem { .. } => Access::User,
            // Liking is posting (a token that writes, the post rate); reading likes is reading.
            Route::Like { .. } => Access::RepoContribute,
            Route::Likers { .. } => Access::RepoRead,
            Route::UserLikes { .. } => Access::Anyone,
            // Variables are public configuration (a static Space's page shows them): reading
            // them is reading the Space, changing them writing it.
            Route::SpaceVariables { .. } if write => Access::RepoWrite,
            Route::SpaceRuntime { .. } | Route::SpaceVariables { .. } => Access::RepoRead,
            Route::SpaceCompute => Access::Anyone,
            Route::RepoInfo { .. }
            | Route::Tree { .. }
            | Route::PathsInfo { .. }
            | Route::SafetensorsMetadata { .. }
            | Route::Refs { .. }
            | Route::Commits { .. }
            | Route::Resolve { .. }
            | Route::Discussions { .. }
            | Route::Discussion { .. }
            | Route::DatasetParquet { .. }
            | Route::DatasetCroissant { .. }
            | Route::GitUploadPack { .. }
            | Route::RepoWithoutNamespace => Access::RepoRead,
            // `info/refs?service=git-receive-pack` needs write rights; the handler checks it
            // once it has read the service parameter.
            Route::GitInfoRefs { .. } => Access::RepoRead,
            // The batch's `operation` says upload or download: checked per request.
            Route::LfsBatch { .. } => Access::RepoRead,
            // A write token for a pull request (`create_pr=1`, `refs/pr/N`) needs only the
            // right to contribute; for a branch, write rights (the core checks which).
            Route::XetToken { write: true, .. } => Access::RepoContribute,
            Route::AuthCheck { write, .. } | Route::XetToken { write, .. } => {
                if *write {
                    Access::RepoWrite
                } else {
                    Access::RepoRead
                }
            }
            // Merging and hiding comments need write rights too (the core checks the action).
            Route::DiscussionAction { .. } | Route::DiscussionComment { .. } => Access::RepoContribute,
            // `info/refs?service=git-receive-pack` is `GitInfoRefs` (read, then the handler).
            Route::Preupload { .. } | Route::Commit { .. } | Route::GitReceivePack { .. } => {
                Access::RepoContribute
            }
            Route::Branch { .. } | Route::Tag { .. } if write => Access::RepoWrite,
            Route::Branch { .. } | Route::Tag { .. } => Access::Anyone,
            Route::OrgMembers { .. } if !write => Access::OrgMember,
            Route::OrgMembers { .. } | Route::OrgMember { .. } | Route::OrgMemberRole { .. } => {
                Access::OrgAdmin
            }
            // The dataset is in the query (`?dataset=`); the core applies the dataset's file-read
            // rule to it, like `Resolve`.
            Route::Viewer { .. } => Access::RepoRead,
            Route::LfsTransfer { .. } | Route::Cas(CasRoute::Fetch { .. }) | Route::ViewerAsset(_) => {
                Access::Capability
            }
            // Under `/cas` the Xet token is the credential, also where nothing is checked
            // (telemetry, the v2 probes answered 404): a hub token is never looked at there.
            Route::Cas(_) => Access::XetToken,
        }
    }
}

impl Route {
    /// The route's path template, for the request log: names what was asked without user
    /// data or secrets. `{repo}` is `[datasets/|spaces/]{namespace}/{name}`, `{type}` the plural
    /// repo type.
    pub(crate) fn template(&self) -> &'static str {
        match self {
            Route::Health => "/health",
            Route::Metrics => "/metrics",
            Route::WhoAmI => "/api/whoami-v2",
            Route::Login => "/api/login",
            Route::Logout => "/api/logout",
            Route::ValidateYaml => "/api/validate-yaml",
            Route::CreateRepo => "/api/repos/create",
            Route::DeleteRepo => "/api/repos/delete",
            Route::MoveRepo => "/api/repos/move",
            Route::ListRepos(_) => "/api/{type}",
            Route::RepoInfo { revision: None, .. } => "/api/{type}/{namespace}/{name}",
            Route::RepoInfo { revision: Some(_), .. } => "/api/{type}/{namespace}/{name}/revision/{revision}",
            Route::Tree { .. } => "/api/{type}/{namespace}/{name}/tree/{revision}/{path}",
            Route::PathsInfo { .. } => "/api/{type}/{namespace}/{name}/paths-info/{revision}",
            Route::SafetensorsMetadata { .. } => {
                "/api/models/{namespace}/{name}/safetensors-metadata/{filename}"
            }
            Route::Refs { .. } => "/api/{type}/{namespace}/{name}/refs",
            Route::Commits { .. } => "/api/{type}/{namespace}/{name}/commits/{revision}",
            Route::Preupload { .. } => "/api/{type}/{namespace}/{name}/preupload/{revision}",
            Route::Commit { .. } => "/api/{type}/{namespace}/{name}/commit/{revision}",
            Route::Branch { .. } => "/api/{type}/{namespace}/{name}/branch/{branch}",
            Route::Tag { .. } => "/api/{type}/{namespace}/{name}/tag/{tag}",
            Route::Settings { .. } => "/api/{type}/{namespace}/{name}/settings",
            Route::SuperSquash { .. } => "/api/{type}/{namespace}/{name}/super-squash/{branch}",
            Route::LfsFiles { .. } => "/api/{type}/{namespace}/{name}/lfs-files",
            Route::LfsFilesBatch { .. } => "/api/{type}/{namespace}/{name}/lfs-files/batch",
            Route::LfsFilesDuplicate { .. } => "/api/{type}/{namespace}/{name}/lfs-files/duplicate",
            Route::RepoStorage { org: None } => "/api/settings/repositories",
            Route::RepoStorage { org: Some(_) } => "/api/organizations/{org}/settings/repositories",
            Route::AuthCheck { write: false, .. } => "/api/{type}/{namespace}/{name}/auth-check",
            Route::AuthCheck { write: true, .. } => "/api/{type}/{namespace}/{name}/auth-check/write",
            Route::AskAccess { .. } => "/api/{type}/{namespace}/{name}/ask-access",
            Route::UserAccessRequest { .. } => "/api/{type}/{namespace}/{name}/user-access-request/{action}",
            Route::AuditLog => "/api/admin/audit-log",
            Route::OrgMembers { .. } => "/api/organizations/{org}/members",
            Route::OrgMember { .. } => "/api/organizations/{org}/members/{user}",
            Route::OrgMemberRole { .. } => "/api/organizations/{org}/members/{user}/role",
            Route::Tokens => "/api/settings/tokens",
            Route::Token { .. } => "/api/settings/tokens/{id}",
            Route::UpstreamToken => "/api/settings/upstream-token",
            Route::Collections => "/api/collections",
            Route::Collection { .. } => "/api/collections/{namespace}/{slug}",
            Route::CollectionItems { .. } => "/api/collections/{namespace}/{slug}/items",
            Route::CollectionItem { .. } => "/api/collections/{namespace}/{slug}/items/{item}",
            Route::Like { .. } => "/api/{type}/{namespace}/{name}/like",
            Route::Likers { .. } => "/api/{type}/{namespace}/{name}/likers",
            Route::SpaceRuntime { .. } => "/api/spaces/{namespace}/{name}/runtime",
            Route::SpaceVariables { .. } => "/api/spaces/{namespace}/{name}/variables",
            Route::SpaceCompute => "/api/spaces/(compute)",
            Route::UserLikes { .. } => "/api/users/{user}/likes",
            Route::Discussions { .. } => "/api/{type}/{namespace}/{name}/discussions",
            Route::Discussion { .. } => "/api/{type}/{namespace}/{name}/discussions/{num}",
            Route::DiscussionAction { .. } => "/api/{type}/{namespace}/{name}/discussions/{num}/{action}",
            Route::DiscussionComment { .. } => {
                "/api/{type}/{namespace}/{name}/discussions/{num}/comment/{id}/{action}"
            }
            Route::XetToken { write: false, .. } => {
                "/api/{type}/{namespace}/{name}/xet-read-token/{revision}"
            }
            Route::XetToken { write: true, .. } => {
                "/api/{type}/{namespace}/{name}/xet-write-token/{revision}"
            }
            Route::Cas(cas) => cas.template(),
            Route::Resolve { .. } => "/{repo}/resolve/{revision}/{path}",
            Route::LfsBatch { .. } => "/{repo}.git/info/lfs/objects/batch",
            Route::GitInfoRefs { .. } => "/{repo}.git/info/refs",
            Route::GitUploadPack { .. } => "/{repo}.git/git-upload-pack",
            Route::GitReceivePack { .. } => "/{repo}.git/git-receive-pack",
            Route::LfsTransfer { .. } => "/_kura/lfs/{token}",
            Route::Viewer { .. } => "/datasets-server/{endpoint}",
            Route::ViewerAsset(_) => {
                "/datasets-server/assets/{namespace}/{name}/--/{revision}/--/{config}/{split}/{row}/{column}/{file}"
            }
            Route::DatasetParquet { config: None, .. } => "/api/datasets/{namespace}/{name}/parquet",
            Route::DatasetParquet { split: None, .. } => "/api/datasets/{namespace}/{name}/parquet/{config}",
            Route::DatasetParquet { file: None, .. } => {
                "/api/datasets/{namespace}/{name}/parquet/{config}/{split}"
            }
            Route::DatasetParquet { .. } => {
                "/api/datasets/{namespace}/{name}/parquet/{config}/{split}/{n}.parquet"
            }
            Route::DatasetCroissant { .. } => "/api/datasets/{namespace}/{name}/croissant",
            Route::RepoWithoutNamespace => "(repo id without namespace)",
            Route::NotFound => "(no route)",
        }
    }
}

impl CasRoute {
    fn template(&self) -> &'static str {
        match self {
            CasRoute::Xorb { .. } => "/cas/v1/xorbs/{prefix}/{hash}",
            CasRoute::Unsupported => "/cas/(unsupported)",
            CasRoute::Shard => "/cas/v1/shards",
            CasRoute::Reconstruction { v2: false, .. } => "/cas/v1/reconstructions/{file}",
            CasRoute::Reconstruction { v2: true, .. } => "/cas/v2/reconstructions/{file}",
            CasRoute::Chunk { .. } => "/cas/v1/chunks/{prefix}/{hash}",
            CasRoute::Telemetry => "/cas/v1/telemetry",
            CasRoute::Fetch { .. } => "/cas/v1/fetch/{token}",
            CasRoute::NotFound => "/cas/(no route)",
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::Access;
    use crate::route::{Route, parse};

    /// One request per endpoint the dispatcher serves (`api::run`).
    const ENDPOINTS: &[(&str, &str)] = &[
        ("GET", "/health"),
        ("GET", "/metrics"),
        ("GET", "/api/whoami-v2"),
        ("POST", "/api/login"),
        ("POST", "/api/logout"),
        ("POST", "/api/validate-yaml"),
        ("POST", "/api/repos/create"),
        ("DELETE", "/api/repos/delete"),
        ("POST", "/api/repos/move"),
        ("GET", "/api/models"),
        ("GET", "/api/models/a/b"),
        ("GET", "/api/models/a/b/revision/main"),
        ("GET", "/api/models/a/b/tree/main/dir"),
        ("POST", "/api/models/a/b/paths-info/main"),
        ("GET", "/api/models/a/b/safetensors-metadata/model.safetensors.index.json"),
        ("GET", "/api/models/a/b/refs"),
        ("GET", "/api/models/a/b/commits/main"),
        ("POST", "/api/models/a/b/preupload/main"),
        ("POST", "/api/models/a/b/commit/main"),
        ("POST", "/api/models/a/b/branch/dev"),
        ("DELETE", "/api/models/a/b/branch/dev"),
        ("POST", "/api/models/a/b/tag/v1"),
        ("DELETE", "/api/models/a/b/tag/v1"),
        ("PUT", "/api/models/a/b/settings"),
        ("POST", "/api/models/a/b/super-squash/main"),
        ("GET", "/api/models/a/b/lfs-files"),
        ("POST", "/api/models/a/b/lfs-files/batch"),
        ("POST", "/api/models/a/b/lfs-files/duplicate"),
        ("GET", "/api/models/a/b/auth-check"),
        ("GET", "/api/models/a/b/auth-check/write"),
        ("POST", "/api/models/a/b/ask-access"),
        ("GET", "/api/models/a/b/user-access-request/pending"),
        ("POST", "/api/models/a/b/user-access-request/grant"),
        ("GET", "/api/admin/audit-log"),
        ("GET", "/api/organizations/o/members"),
        ("POST", "/api/organizations/o/members"),
        ("DELETE", "/api/organizations/o/members/u"),
        ("PUT", "/api/organizations/o/members/u/role"),
        ("GET", "/api/settings/tokens"),
        ("POST", "/api/settings/tokens"),
        ("DELETE", "/api/settings/tokens/1"),
        ("GET", "/api/settings/upstream-token"),
        ("PUT", "/api/settings/upstream-token"),
        ("DELETE", "/api/settings/upstream-token"),
        ("GET", "/api/collections"),
        ("POST", "/api/collections"),
        ("GET", "/api/collections/a/t-0123456789abcdef01234567"),
        ("PATCH", "/api/collections/a/t-0123456789abcdef01234567"),
        ("DELETE", "/api/collections/a/t-0123456789abcdef01234567"),
        ("POST", "/api/collections/a/t-0123456789abcdef01234567/items"),
        ("PATCH", "/api/collections/a/t-0123456789abcdef01234567/items/0123456789abcdef01234567"),
        ("DELETE", "/api/collections/a/t-0123456789abcdef01234567/items/0123456789abcdef01234567"),
        ("POST", "/api/models/a/b/like"),
        ("DELETE", "/api/models/a/b/like"),
        ("GET", "/api/models/a/b/likers"),
        ("GET", "/api/users/a/likes"),
        ("GET", "/api/spaces/a/b/runtime"),
        ("GET", "/api/spaces/a/b/variables"),
        ("POST", "/api/spaces/a/b/variables"),
        ("DELETE", "/api/spaces/a/b/variables"),
        ("POST", "/api/spaces/a/b/restart"),
        ("GET", "/api/spaces/hardware"),
        ("GET", "/api/settings/repositories"),
        ("GET", "/api/organizations/o/settings/repositories"),
        ("GET", "/api/models/a/b/discussions"),
        ("POST", "/api/models/a/b/discussions"),
        ("GET", "/api/models/a/b/discussions/1"),
        ("POST", "/api/models/a/b/discussions/1/comment"),
        ("POST", "/api/models/a/b/discussions/1/comment/abc/edit"),
        ("GET", "/api/models/a/b/xet-read-token/main"),
        ("GET", "/api/models/a/b/xet-write-token/main"),
        ("GET", "/a/b/resolve/main/f"),
        ("HEAD", "/a/b/resolve/main/f"),
        ("POST", "/a/b.git/info/lfs/objects/batch"),
        ("GET", "/a/b.git/info/refs"),
        ("POST", "/a/b.git/git-upload-pack"),
        ("POST", "/a/b.git/git-receive-pack"),
        ("PUT", "/_kura/lfs/t"),
        ("GET", "/_kura/lfs/t"),
        ("POST", "/cas/v1/xorbs/default/h"),
        ("POST", "/cas/v1/shards"),
        ("GET", "/cas/v1/reconstructions/h"),
        ("GET", "/cas/v1/chunks/default/h"),
        ("POST", "/cas/v1/telemetry"),
        ("GET", "/cas/v1/fetch/t"),
        ("GET", "/api/models/gpt2"),
        ("GET", "/datasets-server/rows"),
        ("GET", "/datasets-server/assets/a/b/--/r/--/c/s/0/col/image"),
        ("GET", "/api/datasets/a/b/parquet"),
        ("GET", "/api/datasets/a/b/parquet/c"),
        ("GET", "/api/datasets/a/b/parquet/c/s"),
        ("GET", "/api/datasets/a/b/parquet/c/s/0.parquet"),
        ("GET", "/api/datasets/a/b/croissant"),
    ];

    impl Access {
        /// The name used in `docs/security.md`.
        fn name(self) -> &'static str {
            match self {
                Access::Anyone => "anyone",
                Access::User => "user",
                Access::RepoRead => "repo read",
                Access::RepoWrite => "repo write",
                Access::RepoContribute => "repo contributor",
                Access::RepoAdmin => "repo admin",
                Access::RepoVisitor => "user who sees the repo",
                Access::NamespaceWrite => "namespace write",
                Access::OrgMember => "org member",
                Access::OrgAdmin => "org admin",
                Access::ServerAdmin => "server admin",
                Access::Capability => "capability URL",
                Access::XetToken => "Xet token",
            }
        }
    }

    fn table() -> String {
        let mut out = String::from("| Method | Route | Who may call it |\n|---|---|---|\n");
        for (method, path) in ENDPOINTS {
            let route = parse(path);
            assert_ne!(route, Route::NotFound, "{path} must name an endpoint");
            let access = route.access(&Method::from_bytes(method.as_bytes()).unwrap());
            out.push_str(&format!("| {method} | `{}` | {} |\n", route.template(), access.name()));
        }
        out
    }

    /// The table in docs/security.md is this declaration; `KURA_UPDATE_DOCS=1` rewrites it.
    #[test]
    fn the_documented_route_table_is_the_declared_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/security.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let (begin, end) = ("<!-- routes:begin -->\n", "<!-- routes:end -->");
        let start = doc.find(begin).expect("docs/security.md has the routes markers") + begin.len();
        let stop = doc.find(end).unwrap();
        let table = table();
        if std::env::var_os("KURA_UPDATE_DOCS").is_some() {
            std::fs::write(path, format!("{}{table}{}", &doc[..start], &doc[stop..])).unwrap();
            return;
        }
        assert_eq!(&doc[start..stop], table, "run with KURA_UPDATE_DOCS=1 to rewrite the table");
    }

    #[test]
    fn bare_repo_names_are_repo_routes_not_unknown_paths() {
        for path in [
            "/api/models/gpt2",
            "/api/datasets/squad/revision/main",
            "/gpt2/resolve/main/config.json",
            "/datasets/squad/resolve/main/a/b",
        ] {
            assert_eq!(parse(path), Route::RepoWithoutNamespace, "{path}");
        }
        for path in ["/api/models/a/b", "/api/whoami-v2", "/api/nothing/x", "/gpt2", "/cas/resolve/a/b"] {
            assert_ne!(parse(path), Route::RepoWithoutNamespace, "{path}");
        }
    }

    #[test]
    fn credentials_follow_the_declaration() {
        let get = Method::GET;
        assert!(parse("/cas/v1/telemetry").access(&Method::POST).own_credential());
        assert!(parse("/cas/v2/reconstructions/h").access(&get).own_credential());
        assert!(parse("/_kura/lfs/t").access(&Method::PUT).own_credential());
        assert!(!parse("/api/models/a/b").access(&get).own_credential());
        assert!(parse("/api/settings/tokens").access(&get).needs_user());
        assert!(parse("/api/organizations/o/members").access(&get).needs_user());
        assert_eq!(parse("/api/organizations/o/members").access(&Method::POST), Access::OrgAdmin);
        assert!(!parse("/api/models/a/b/tree/main").access(&get).needs_user());
        assert_eq!(parse("/api/models/a/b/branch/x").access(&Method::DELETE), Access::RepoWrite);
    }
}
