//! The page table: which paths are pages, in the Hub's URL scheme (`/{ns}/{name}`,
//! `/datasets/{ns}/{name}/tree/{rev}/{path}`, ...), so a link copied from the Hub works here.
//! Paths are split on literal `/` first, then percent-decoded per segment (a revision with
//! a slash arrives as `%2F`), as the API's route table does.

use axum::http::Method;
use kura_model::{RESERVED_NAMESPACES, RepoType};
use percent_encoding::percent_decode_str;

/// A repo as named in a page URL (validated by the handler).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepoName {
    pub(crate) repo_type: RepoType,
    pub(crate) namespace: String,
    pub(crate) name: String,
}

/// Every page and form target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Page {
    Home,
    Listing(RepoType),
    Asset(String),
    Login,
    Logout,
    NewRepo,
    Tokens,
    /// `POST /settings/tokens/{id}/delete`.
    RevokeToken(String),
    /// `POST /settings/upstream-token` (store) and `/settings/upstream-token/delete`.
    UpstreamToken {
        delete: bool,
    },
    Profile(String),
    Repo(RepoName),
    Tree {
        repo: RepoName,
        revision: String,
        path: String,
    },
    Blob {
        repo: RepoName,
        revision: String,
        path: String,
    },
    Commits {
        repo: RepoName,
        revision: String,
        path: String,
    },
    Commit {
        repo: RepoName,
        id: String,
    },
    /// `…/settings` and `…/settings/{action}` (the form targets).
    Settings {
        repo: RepoName,
        action: Option<String>,
    },
    Upload {
        repo: RepoName,
        revision: String,
    },
    /// `POST …/ask-access`: a signed-in reader asks for a gated repo's files.
    AskAccess(RepoName),
    /// `/datasets/{id}/viewer[/{config}/{split}]`: the dataset viewer.
    Viewer {
        repo: RepoName,
        split: Option<(String, String)>,
    },
    /// `{repo}/discussions`: the repo's discussions and pull requests.
    Discussions(RepoName),
    /// `{repo}/discussions/new`: the form (GET) and its target (POST).
    NewDiscussion(RepoName),
    /// `{repo}/discussions/{num}`: one discussion or pull request.
    Discussion {
        repo: RepoName,
        num: u64,
    },
    /// `POST {repo}/like`: like (`like=1`) or stop liking (`like=0`) the repo.
    Like(RepoName),
    /// `POST {repo}/discussions/{num}/{action}`: comment, status, hide, merge.
    DiscussionAction {
        repo: RepoName,
        num: u64,
        action: String,
    },
    /// `/collections/{namespace}`: a user's or org's collections.
    Collections(String),
    /// `/collections/{namespace}/new`: the form (GET) and its target (POST).
    NewCollection(String),
    /// `/collections/{namespace}/{slug}`: one collection (`slug` without the namespace).
    Collection {
        namespace: String,
        slug: String,
    },
    /// `POST /collections/{namespace}/{slug}/{action}`: settings, delete and the items' forms.
    CollectionAction {
        namespace: String,
        slug: String,
        action: String,
    },
}

/// Whether the binary should send this request to the web edge.
pub fn claims(method: &Method, path: &str) -> bool {
    parse(method, path).is_some()
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// The page a request names: GET and HEAD for pages, POST for the form targets.
pub(crate) fn parse(method: &Method, raw_path: &str) -> Option<Page> {
    let page = parse_path(raw_path)?;
    let post = matches!(
        page,
        Page::Login
            | Page::Logout
            | Page::NewRepo
            | Page::Tokens
            | Page::RevokeToken(_)
            | Page::UpstreamToken { .. }
            | Page::Settings { .. }
            | Page::Upload { .. }
            | Page::AskAccess(_)
            | Page::NewDiscussion(_)
            | Page::DiscussionAction { .. }
            | Page::Like(_)
            | Page::NewCollection(_)
            | Page::CollectionAction { .. }
    );
    let get = !matches!(
        page,
        Page::Logout
            | Page::RevokeToken(_)
            | Page::UpstreamToken { .. }
            | Page::AskAccess(_)
            | Page::DiscussionAction { .. }
            | Page::Like(_)
            | Page::CollectionAction { .. }
    ) && !matches!(&page, Page::Settings { action: Some(_), .. });
    let allowed =
        (get && (method == Method::GET || method == Method::HEAD)) || (post && method == Method::POST);
    allowed.then_some(page)
}

fn parse_path(raw_path: &str) -> Option<Page> {
    let trimmed = raw_path.strip_prefix('/')?;
    let segments: Vec<String> = trimmed.split('/').map(decode).collect();
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    match parts[..] {
        [""] => Some(Page::Home),
        ["models"] => Some(Page::Listing(RepoType::Model)),
        ["datasets"] => Some(Page::Listing(RepoType::Dataset)),
        ["spaces"] => Some(Page::Listing(RepoType::Space)),
        ["_kura", "assets", name] => Some(Page::Asset(name.to_owned())),
        ["login"] => Some(Page::Login),
        ["logout"] => Some(Page::Logout),
        ["new"] => Some(Page::NewRepo),
        ["settings", "tokens"] => Some(Page::Tokens),
        ["settings", "tokens", id, "delete"] => Some(Page::RevokeToken(id.to_owned())),
        ["settings", "upstream-token"] => Some(Page::UpstreamToken { delete: false }),
        ["settings", "upstream-token", "delete"] => Some(Page::UpstreamToken { delete: true }),
        ["collections", namespace] if is_account_name(namespace) => {
            Some(Page::Collections(namespace.to_owned()))
        }
        ["collections", namespace, "new"] if is_account_name(namespace) => {
            Some(Page::NewCollection(namespace.to_owned()))
        }
        ["collections", namespace, slug] if is_account_name(namespace) && !slug.is_empty() => {
            Some(Page::Collection { namespace: namespace.to_owned(), slug: slug.to_owned() })
        }
        ["collections", namespace, slug, action] if is_account_name(namespace) && !slug.is_empty() => {
            Some(Page::CollectionAction {
                namespace: namespace.to_owned(),
                slug: slug.to_owned(),
                action: action.to_owned(),
            })
        }
        ["datasets", namespace, name, ref rest @ ..] => repo_page(RepoType::Dataset, namespace, name, rest),
        ["spaces", namespace, name, ref rest @ ..] => repo_page(RepoType::Space, namespace, name, rest),
        [name] if is_account_name(name) => Some(Page::Profile(name.to_owned())),
        [namespace, name, ref rest @ ..] if is_account_name(namespace) => {
            repo_page(RepoType::Model, namespace, name, rest)
        }
        _ => None,
    }
}

/// A first segment that can be a user or org (reserved words are routes, never accounts).
fn is_account_name(name: &str) -> bool {
    !name.is_empty() && !RESERVED_NAMESPACES.contains(&name.to_ascii_lowercase().as_str())
}

fn repo_page(repo_type: RepoType, namespace: &str, name: &str, rest: &[&str]) -> Option<Page> {
    if namespace.is_empty() || name.is_empty() || name.ends_with(".git") {
        return None;
    }
    let repo = RepoName { repo_type, namespace: namespace.to_owned(), name: name.to_owned() };
    let joined = |parts: &[&str]| parts.join("/");
    match rest {
        [] | [""] => Some(Page::Repo(repo)),
        ["tree", revision, path @ ..] => {
            Some(Page::Tree { repo, revision: (*revision).to_owned(), path: joined(path) })
        }
        ["blob", revision, path @ ..] if !path.is_empty() => {
            Some(Page::Blob { repo, revision: (*revision).to_owned(), path: joined(path) })
        }
        ["commits", revision, path @ ..] => {
            Some(Page::Commits { repo, revision: (*revision).to_owned(), path: joined(path) })
        }
        ["commit", id] => Some(Page::Commit { repo, id: (*id).to_owned() }),
        ["settings"] => Some(Page::Settings { repo, action: None }),
        ["settings", action] => Some(Page::Settings { repo, action: Some((*action).to_owned()) }),
        ["upload", revision] => Some(Page::Upload { repo, revision: (*revision).to_owned() }),
        ["ask-access"] => Some(Page::AskAccess(repo)),
        ["viewer"] if repo.repo_type == RepoType::Dataset => Some(Page::Viewer { repo, split: None }),
        ["viewer", config, split] if repo.repo_type == RepoType::Dataset => {
            Some(Page::Viewer { repo, split: Some(((*config).to_owned(), (*split).to_owned())) })
        }
        ["like"] => Some(Page::Like(repo)),
        ["discussions"] => Some(Page::Discussions(repo)),
        ["discussions", "new"] => Some(Page::NewDiscussion(repo)),
        ["discussions", num] => Some(Page::Discussion { repo, num: discussion_number(num)? }),
        ["discussions", num, action] => {
            Some(Page::DiscussionAction { repo, num: discussion_number(num)?, action: (*action).to_owned() })
        }
        _ => None,
    }
}

/// A discussion's number as URLs write it: decimal digits only, from 1.
fn discussion_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Option<Page> {
        parse(&Method::GET, path)
    }

    #[test]
    fn pages_follow_the_hub_url_scheme() {
        let model = RepoName { repo_type: RepoType::Model, namespace: "alice".into(), name: "demo".into() };
        assert_eq!(get("/"), Some(Page::Home));
        assert_eq!(get("/alice"), Some(Page::Profile("alice".into())));
        assert_eq!(get("/alice/demo"), Some(Page::Repo(model.clone())));
        assert_eq!(
            get("/alice/demo/tree/main/a/b"),
            Some(Page::Tree { repo: model.clone(), revision: "main".into(), path: "a/b".into() })
        );
        assert_eq!(
            get("/alice/demo/blob/release%2Fv1/README.md"),
            Some(Page::Blob { repo: model.clone(), revision: "release/v1".into(), path: "README.md".into() })
        );
        let dataset = RepoName { repo_type: RepoType::Dataset, namespace: "alice".into(), name: "d".into() };
        assert_eq!(
            get("/datasets/alice/d/commit/abc"),
            Some(Page::Commit { repo: dataset, id: "abc".into() })
        );
        assert_eq!(get("/datasets"), Some(Page::Listing(RepoType::Dataset)));
    }

    #[test]
    fn discussion_pages_and_their_form_targets() {
        let model = RepoName { repo_type: RepoType::Model, namespace: "alice".into(), name: "demo".into() };
        let space = RepoName { repo_type: RepoType::Space, namespace: "alice".into(), name: "app".into() };
        assert_eq!(get("/alice/demo/discussions"), Some(Page::Discussions(model.clone())));
        assert_eq!(get("/spaces/alice/app/discussions/new"), Some(Page::NewDiscussion(space)));
        assert_eq!(
            get("/alice/demo/discussions/12"),
            Some(Page::Discussion { repo: model.clone(), num: 12 })
        );
        let post = |path| parse(&Method::POST, path);
        assert_eq!(
            post("/alice/demo/discussions/3/comment"),
            Some(Page::DiscussionAction { repo: model.clone(), num: 3, action: "comment".into() })
        );
        assert!(post("/alice/demo/discussions/new").is_some());
        for refused in
            ["/alice/demo/discussions/0", "/alice/demo/discussions/+1", "/alice/demo/discussions/x"]
        {
            assert_eq!(get(refused), None, "{refused}");
        }
        assert_eq!(get("/alice/demo/discussions/3/comment"), None);
        assert_eq!(post("/alice/demo/discussions"), None);
        assert_eq!(post("/alice/demo/discussions/3"), None);
    }

    #[test]
    fn collection_pages_and_their_form_targets() {
        let slug = "recent-models-64f9a55bb3115b4f513ec026";
        assert_eq!(get("/collections/alice"), Some(Page::Collections("alice".into())));
        assert_eq!(get("/collections/alice/new"), Some(Page::NewCollection("alice".into())));
        assert_eq!(
            get(&format!("/collections/alice/{slug}")),
            Some(Page::Collection { namespace: "alice".into(), slug: slug.into() })
        );
        let post = |path: &str| parse(&Method::POST, path);
        assert!(post("/collections/alice/new").is_some());
        assert_eq!(
            post(&format!("/collections/alice/{slug}/move")),
            Some(Page::CollectionAction {
                namespace: "alice".into(),
                slug: slug.into(),
                action: "move".into()
            })
        );
        assert_eq!(post("/collections/alice"), None);
        assert_eq!(post(&format!("/collections/alice/{slug}")), None);
        assert_eq!(get(&format!("/collections/alice/{slug}/move")), None);
        for refused in [
            "/collections",
            "/collections/",
            "/collections/api",
            "/collections/alice/",
            "/collections/a/b/c/d",
        ] {
            assert_eq!(get(refused), None, "{refused}");
        }
    }

    #[test]
    fn api_git_and_download_paths_are_not_pages() {
        for path in [
            "/api/models",
            "/api/models/alice/demo",
            "/alice/demo/resolve/main/x.bin",
            "/alice/demo/info/refs",
            "/alice/demo.git/info/refs",
            "/alice/demo/git-upload-pack",
            "/cas/v1/xorbs/default/abc",
            "/_kura/lfs/token",
            "/health",
            "/metrics",
            "/alice/demo/blob/main",
        ] {
            assert_eq!(get(path), None, "{path}");
        }
        assert_eq!(parse(&Method::POST, "/alice/demo"), None);
        assert_eq!(parse(&Method::GET, "/logout"), None);
        assert!(parse(&Method::POST, "/logout").is_some());
        assert_eq!(parse(&Method::GET, "/alice/demo/settings/delete"), None);
        assert_eq!(parse(&Method::DELETE, "/alice/demo/settings"), None);
    }
}
