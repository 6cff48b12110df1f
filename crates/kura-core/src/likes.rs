//! Likes: a signed-in user likes a repo they can see (the browser's `POST …/like`; the
//! official client has `unlike`, `list_liked_repos` and `list_repo_likers`). Liking shares the
//! per-user post rate; listings never show a private repo to a caller who may not see it.

use std::net::IpAddr;

use kura_model::Timestamp;
use kura_storage::{Liker, RepoRecord};

use crate::auth::Identity;
use crate::error::{CoreError, Result};
use crate::services::Repos;

/// Likes (and unlikes) one address may make in a burst, and the refill: one per second.
pub(crate) const ADDRESS_LIKE_BURST: u32 = 120;
pub(crate) const ADDRESS_LIKE_REFILL_MS: i64 = 1_000;

/// The rate-limit key of an address: an IPv4 address (also written as IPv6), or an IPv6 /48,
/// as downloads count clients.
pub(crate) fn address_key(address: IpAddr) -> i64 {
    match address {
        IpAddr::V4(v4) => i64::from(u32::from(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => i64::from(u32::from(v4)),
            None => (1 << 62) | (u128::from(v6) >> 80) as i64,
        },
    }
}

/// Likes and likers listed per page.
pub const LIKES_PAGE: u64 = 100;
/// Highest page of a likes listing (past it the listing is refused rather than scanned).
const MAX_LIKES_PAGE: u64 = 1_000;

/// A repo a user likes, as the caller may see it.
#[derive(Debug, Clone)]
pub struct LikedRepoView {
    pub repo: RepoRecord,
    pub liked_at: Timestamp,
}

fn page_offset(page: u64) -> Result<u64> {
    if page > MAX_LIKES_PAGE {
        return Err(CoreError::invalid(format!("A likes listing has at most {MAX_LIKES_PAGE} pages")));
    }
    Ok(page * LIKES_PAGE)
}

impl Repos<'_> {
    /// Likes (`like`) or stops liking a repo, as the caller from `address` (the per-user post
    /// rate applies, and a per-address rate, which slows many accounts on one address; each
    /// account still likes a repo once).
    pub async fn set_like(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        like: bool,
        address: Option<IpAddr>,
    ) -> Result<()> {
        let principal = self.hub.discussions().poster(identity, repo).await?;
        if let Some(address) = address {
            self.hub.accounts().take_like_from(address)?;
        }
        match self.meta.set_like(repo.id, principal.user.id, like, self.now_millis()).await {
            Err(kura_storage::StorageError::NotFound) => Err(CoreError::RepoNotFound),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    /// Whether the caller likes the repo (`false` for anonymous callers).
    pub async fn liked(&self, identity: &Identity, repo: &RepoRecord) -> Result<bool> {
        match identity.principal() {
            Some(principal) => Ok(self.meta.likes_repo(repo.id, principal.user.id).await?),
            None => Ok(false),
        }
    }

    /// A page of the users who like a repo the caller may see, the latest first; whether more
    /// follow.
    pub async fn likers(
        &self,
        identity: &Identity,
        repo: &RepoRecord,
        page: u64,
    ) -> Result<(Vec<Liker>, bool)> {
        self.hub.accounts().authorize_read(identity, repo).await?;
        let mut likers = self.meta.repo_likers(repo.id, page_offset(page)?, LIKES_PAGE + 1).await?;
        let more = likers.len() as u64 > LIKES_PAGE;
        likers.truncate(LIKES_PAGE as usize);
        Ok((likers, more))
    }

    /// A page of the repos `user` likes that the caller may see, the latest like first; whether
    /// more follow. Others see only public repos (filtered before paging, so neither a page's
    /// size nor its link says anything of the private ones); the user sees their private likes
    /// of repos they can still see. An unknown user is a 404.
    pub async fn liked_by(
        &self,
        identity: &Identity,
        user: &str,
        page: u64,
    ) -> Result<(Vec<LikedRepoView>, bool)> {
        let Some(user) = self.meta.user_by_name(user).await? else {
            return Err(CoreError::NotFound(format!("User '{user}' not found")));
        };
        let own = identity.principal().is_some_and(|p| p.user.id == user.id);
        let mut liked = self.meta.liked_repos(user.id, !own, page_offset(page)?, LIKES_PAGE + 1).await?;
        let more = liked.len() as u64 > LIKES_PAGE;
        liked.truncate(LIKES_PAGE as usize);
        let mut out = Vec::with_capacity(liked.len());
        for like in liked {
            if !like.repo.private || self.hub.accounts().can_see(identity, &like.repo).await? {
                out.push(LikedRepoView { repo: like.repo, liked_at: like.liked_at });
            }
        }
        Ok((out, more))
    }
}

#[cfg(test)]
mod tests {
    use super::address_key;

    #[test]
    fn addresses_share_a_key_per_ipv4_address_or_ipv6_48() {
        let key = |text: &str| address_key(text.parse().unwrap());
        assert_eq!(key("192.0.2.1"), key("::ffff:192.0.2.1"));
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
        assert_eq!(key("2001:db8:1:aaaa::1"), key("2001:db8:1:bbbb::2"), "one /48");
        assert_ne!(key("2001:db8:1::1"), key("2001:db8:2::1"));
        assert_ne!(key("0.0.0.1"), key("::1"), "IPv6 keys never meet IPv4 keys");
    }
}
