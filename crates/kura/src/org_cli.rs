//! `kura org …`: create organizations and manage their members from the data directory (the
//! operator is trusted like the database itself; every change is audited).

use anyhow::Context;
use clap::Subcommand;
use kura_core::{Authority, MemberChange, OrgRole};

use crate::{Common, load};

const ROLES: [&str; 4] = ["read", "contributor", "write", "admin"];

#[derive(Subcommand)]
pub(crate) enum OrgAction {
    /// Create an organization with an owner (its first admin).
    Create {
        name: String,
        #[arg(long)]
        owner: String,
        #[command(flatten)]
        common: Common,
    },
    /// Add a user to an organization, or change their role.
    SetMember {
        org: String,
        user: String,
        #[arg(long, value_parser = ROLES)]
        role: String,
        #[command(flatten)]
        common: Common,
    },
    /// Remove a user from an organization (the last admin cannot be removed).
    RemoveMember {
        org: String,
        user: String,
        #[command(flatten)]
        common: Common,
    },
    /// List the members of an organization with their roles, tab-separated.
    Members {
        org: String,
        #[command(flatten)]
        common: Common,
    },
}

pub(crate) async fn run_org(action: OrgAction) -> anyhow::Result<()> {
    match action {
        OrgAction::Create { name, owner, common } => {
            let hub = kura::open_hub(&load(&common, None, None)?).await?;
            hub.accounts().create_org(&name, &owner).await.with_context(|| format!("creating org {name}"))?;
            eprintln!("created organization {name} owned by {owner}");
        }
        OrgAction::SetMember { org, user, role, common } => {
            let hub = kura::open_hub(&load(&common, None, None)?).await?;
            let parsed = OrgRole::parse(&role).context("unknown role")?;
            hub.accounts()
                .put_org_member(Authority::Operator, &org, &user, parsed, MemberChange::Upsert)
                .await
                .with_context(|| format!("adding {user} to {org}"))?;
            eprintln!("{user} is now {role} in {org}");
        }
        OrgAction::RemoveMember { org, user, common } => {
            let hub = kura::open_hub(&load(&common, None, None)?).await?;
            hub.accounts()
                .remove_org_member(Authority::Operator, &org, &user)
                .await
                .with_context(|| format!("removing {user} from {org}"))?;
            eprintln!("{user} is no longer a member of {org}");
        }
        OrgAction::Members { org, common } => {
            let hub = kura::open_hub(&load(&common, None, None)?).await?;
            let members = hub
                .accounts()
                .org_members(Authority::Operator, &org)
                .await
                .with_context(|| format!("listing {org}"))?;
            for (user, role) in members {
                println!("{}\t{}", user.name, role.as_str());
            }
        }
    }
    Ok(())
}
