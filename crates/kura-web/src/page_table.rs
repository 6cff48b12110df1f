//! Who may open each page, declared beside the page table (as the API declares its routes):
//! pages that need a user send anonymous callers to the login page before any handler runs;
//! the finer rule (read, read files, write, admin of the repo) is the core's, applied by the
//! same use cases the API calls. docs/security.md's page table is generated from this.

use crate::route::Page;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Anyone,
    /// Anyone who may see the repo (a hidden repo is the missing-repo page).
    RepoRead,
    /// Readers who may also read the files (gating).
    RepoFiles,
    /// A signed-in user with write access to the repo.
    RepoWrite,
    /// A signed-in user (their own tokens, creating repos).
    User,
    /// Anyone who may see the collection (a private one: those who see its namespace's
    /// private repos; to anyone else the missing page).
    CollectionRead,
    /// A signed-in user who manages the namespace's collections (the core decides).
    NamespaceWrite,
}

impl Access {
    pub(crate) fn needs_user(self) -> bool {
        matches!(self, Access::RepoWrite | Access::User | Access::NamespaceWrite)
    }

    #[cfg(test)]
    fn describe(self) -> &'static str {
        match self {
            Access::Anyone => "anyone",
            Access::RepoRead => "repo read",
            Access::RepoFiles => "repo read + files (gating)",
            Access::RepoWrite => "signed in, repo write",
            Access::User => "signed in",
            Access::CollectionRead => "collection read",
            Access::NamespaceWrite => "signed in, namespace write",
        }
    }
}

impl Page {
    pub(crate) fn access(&self) -> Access {
        match self {
            Page::Home
            | Page::Listing(_)
            | Page::Asset(_)
            | Page::Login
            | Page::Logout
            | Page::Profile(_)
            | Page::Collections(_) => Access::Anyone,
            Page::NewRepo
            | Page::Tokens
            | Page::RevokeToken(_)
            | Page::UpstreamToken { .. }
            | Page::AskAccess(_)
            | Page::NewDiscussion(_)
            | Page::DiscussionAction { .. }
            | Page::Like(_) => Access::User,
            Page::Repo(_)
            | Page::Tree { .. }
            | Page::Commits { .. }
            | Page::Commit { .. }
            | Page::Discussions(_)
            | Page::Discussion { .. } => Access::RepoRead,
            Page::Blob { .. } | Page::Viewer { .. } => Access::RepoFiles,
            Page::Settings { .. } | Page::Upload { .. } => Access::RepoWrite,
            Page::Collection { .. } => Access::CollectionRead,
            Page::NewCollection(_) | Page::CollectionAction { .. } => Access::NamespaceWrite,
        }
    }
}

/// Every page template with a sample path, for the documented table.
#[cfg(test)]
const TEMPLATES: &[(&str, &str)] = &[
    ("/", "/"),
    ("/models, /datasets, /spaces", "/models"),
    ("/_kura/assets/{file}", "/_kura/assets/kura.css"),
    ("/login", "/login"),
    ("/logout", "/logout"),
    ("/new", "/new"),
    ("/settings/tokens", "/settings/tokens"),
    ("/settings/tokens/{id}/delete", "/settings/tokens/1/delete"),
    ("/settings/upstream-token", "/settings/upstream-token"),
    ("/settings/upstream-token/delete", "/settings/upstream-token/delete"),
    ("/{user or org}", "/alice"),
    ("/{repo}", "/alice/demo"),
    ("/{repo}/tree/{rev}/{path}", "/alice/demo/tree/main/a"),
    ("/{repo}/blob/{rev}/{path}", "/alice/demo/blob/main/a.txt"),
    ("/{repo}/commits/{rev}/{path}", "/alice/demo/commits/main"),
    ("/{repo}/commit/{sha}", "/alice/demo/commit/abc1234"),
    ("/{repo}/settings", "/alice/demo/settings"),
    ("/{repo}/settings/{action}", "/alice/demo/settings/visibility"),
    ("/{repo}/upload/{rev}", "/alice/demo/upload/main"),
    ("/{repo}/ask-access", "/alice/demo/ask-access"),
    ("/{repo}/like", "/alice/demo/like"),
    ("/{repo}/discussions", "/alice/demo/discussions"),
    ("/{repo}/discussions/new", "/alice/demo/discussions/new"),
    ("/{repo}/discussions/{num}", "/alice/demo/discussions/1"),
    ("/{repo}/discussions/{num}/{action}", "/alice/demo/discussions/1/comment"),
    ("/datasets/{id}/viewer/{config}/{split}", "/datasets/alice/d/viewer/default/train"),
    ("/collections/{user or org}", "/collections/alice"),
    ("/collections/{user or org}/new", "/collections/alice/new"),
    ("/collections/{user or org}/{slug}", "/collections/alice/models-64f9a55bb3115b4f513ec026"),
    ("/collections/{user or org}/{slug}/{action}", "/collections/alice/models-64f9a55bb3115b4f513ec026/move"),
];

/// The Markdown table of docs/security.md.
#[cfg(test)]
pub(crate) fn table() -> String {
    let mut out = String::from("| Methods | Page | Who may open it |\n|---|---|---|\n");
    for (template, sample) in TEMPLATES {
        use axum::http::Method;
        let methods: Vec<&str> = [Method::GET, Method::POST]
            .iter()
            .filter(|m| crate::route::parse(m, sample).is_some())
            .map(Method::as_str)
            .collect();
        let Some(page) =
            methods.first().and_then(|m| crate::route::parse(&m.parse().unwrap_or(Method::GET), sample))
        else {
            continue;
        };
        out.push_str(&format!("| {} | `{template}` | {} |\n", methods.join(", "), page.access().describe()));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_page_table_is_the_declared_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/security.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let (begin, end) = ("<!-- pages:begin -->\n", "<!-- pages:end -->");
        let start = doc.find(begin).expect("docs/security.md has the pages markers") + begin.len();
        let stop = doc.find(end).unwrap();
        let table = super::table();
        assert_eq!(table.lines().count(), super::TEMPLATES.len() + 2, "every template is a page:\n{table}");
        if std::env::var_os("KURA_UPDATE_DOCS").is_some() {
            std::fs::write(path, format!("{}{table}{}", &doc[..start], &doc[stop..])).unwrap();
            return;
        }
        assert_eq!(&doc[start..stop], table, "run with KURA_UPDATE_DOCS=1 to rewrite the table");
    }
}
