//! Likes as the Hub lists them: a repo's likers (`GET …/likers`) and a user's likes
//! (`GET /api/users/{user}/likes`).

use kura_storage::Liker;
use serde::Serialize;

use crate::LikedRepoView;
use kura_model::format_timestamp;

/// One liker of a repo: the client reads `user`, `fullname` and `avatarUrl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LikerView {
    pub user: String,
    pub fullname: String,
    #[serde(rename = "avatarUrl")]
    pub avatar_url: String,
    #[serde(rename = "likedAt")]
    pub liked_at: String,
}

impl LikerView {
    pub fn new(liker: &Liker) -> Self {
        Self {
            user: liker.name.clone(),
            fullname: liker.name.clone(),
            avatar_url: String::new(),
            liked_at: format_timestamp(liker.liked_at),
        }
    }
}

/// The repo of a like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LikedRepoNameView {
    pub name: String,
    #[serde(rename = "type")]
    pub repo_type: &'static str,
}

/// One like of a user: `{"createdAt", "repo": {"name", "type"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserLikeView {
    #[serde(rename = "createdAt")]
    pub created_at: String,
    pub repo: LikedRepoNameView,
}

impl UserLikeView {
    pub fn new(like: &LikedRepoView) -> Self {
        Self {
            created_at: format_timestamp(like.liked_at),
            repo: LikedRepoNameView {
                name: like.repo.repo_id.to_string(),
                repo_type: like.repo.repo_type.as_str(),
            },
        }
    }
}
