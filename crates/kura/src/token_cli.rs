//! `kura token …`: create, list and revoke access tokens from the data directory (the
//! operator is trusted like the database itself, so no rate limit applies).

use anyhow::Context;
use clap::Subcommand;
use kura_core::{Authority, TokenSpec};
use kura_model::{Role, TokenScope, format_timestamp};

use crate::{Common, load};

#[derive(Subcommand)]
pub(crate) enum TokenAction {
    /// Create a token and print it (only the token, on stdout).
    Create {
        user: String,
        /// read, write, or fineGrained (implied by --scope).
        #[arg(long, value_parser = ["read", "write", "fineGrained"])]
        role: Option<String>,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// The token stops working after this many days.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36_500))]
        expires_in_days: Option<u32>,
        /// A fine-grained scope, `TARGET=PERMISSION[,PERMISSION]`; TARGET is `*`, a namespace
        /// or `model|dataset|space:ns/name`; permissions are repo.content.read and repo.write.
        /// Repeatable.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// List a user's tokens that are not revoked (id, name, role, created, last used, expires, scopes).
    List {
        user: String,
        #[command(flatten)]
        common: Common,
    },
    /// Revoke a token by id; it stops working at once.
    Revoke {
        id: i64,
        #[command(flatten)]
        common: Common,
    },
}

fn role_of(role: Option<&str>, scoped: bool) -> anyhow::Result<Role> {
    match (role, scoped) {
        (None, true) | (Some("fineGrained"), _) => Ok(Role::FineGrained),
        (Some(_), true) => {
            anyhow::bail!("--scope makes a fine-grained token; drop --role or use --role fineGrained")
        }
        (Some(role), false) => Role::parse(role).context("role must be read, write or fineGrained"),
        (None, false) => anyhow::bail!("give --role read|write, or --scope for a fine-grained token"),
    }
}

pub(crate) async fn run_token(action: TokenAction) -> anyhow::Result<()> {
    match action {
        TokenAction::Create { user, role, name, expires_in_days, scopes, common } => {
            let scopes = scopes
                .iter()
                .map(|s| TokenScope::parse(s).map_err(|e| anyhow::anyhow!(e.0)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let role = role_of(role.as_deref(), !scopes.is_empty())?;
            let expires_at =
                expires_in_days.map(|days| kura_core::now_millis() + i64::from(days) * 86_400_000);
            let hub = kura::open_hub(&load(&common, None, None)?).await?;
            let spec = TokenSpec { name, role, expires_at, scopes };
            let issued = hub
                .accounts()
                .issue_token(Authority::Operator, &user, spec)
                .await
                .with_context(|| format!("creating a token for {user}"))?;
            println!("{}", issued.secret);
        }
        TokenAction::List { user, common } => {
            let hub = kura::open_hub(&load(&common, None, None)?).await?;
            let tokens = hub
                .accounts()
                .list_tokens(Authority::Operator, &user)
                .await
                .with_context(|| format!("listing tokens of {user}"))?;
            let date = |at: Option<i64>| at.map_or_else(|| "-".to_owned(), format_timestamp);
            for token in tokens {
                let scopes: Vec<String> = token.scopes.iter().map(ToString::to_string).collect();
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    token.id,
                    token.name,
                    token.role.as_str(),
                    format_timestamp(token.created_at),
                    date(token.last_used_at),
                    date(token.expires_at),
                    if scopes.is_empty() { "-".to_owned() } else { scopes.join(" ") }
                );
            }
        }
        TokenAction::Revoke { id, common } => {
            let hub = kura::open_hub(&load(&common, None, None)?).await?;
            let token = hub
                .accounts()
                .revoke_token(Authority::Operator, id)
                .await
                .with_context(|| format!("revoking token {id}"))?;
            eprintln!("revoked token {id} ({})", token.name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use kura_model::Role;

    use super::role_of;

    #[test]
    fn scopes_imply_a_fine_grained_role() {
        assert_eq!(role_of(None, true).unwrap(), Role::FineGrained);
        assert_eq!(role_of(Some("read"), false).unwrap(), Role::Read);
        assert!(role_of(Some("write"), true).is_err());
        assert!(role_of(None, false).is_err());
    }
}
