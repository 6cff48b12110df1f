//! The access matrix of org membership and token management: who may list, add, re-role and
//! remove members of `acme`, and create or revoke tokens. Each identity acts on its own member
//! `m{n}` and victim token, so a refused change can be checked to have changed nothing.

use kura_core::OrgRole;
use kura_model::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::matrix::*;
use crate::matrix_fixture::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Members {
    List,
    Add,
    Role,
    Remove,
    CreateToken,
    /// Revokes a token of `victim`.
    RevokeToken,
}

const MEMBERS: [Members; 6] =
    [Members::List, Members::Add, Members::Role, Members::Remove, Members::CreateToken, Members::RevokeToken];

/// Members and server admins list; org admins and server admins with a classic write token
/// change members (read and fine-grained tokens: 403). Read tokens may only list tokens,
/// fine-grained ones cannot manage tokens at all; revoking someone else's token is 404 except
/// for server admins.
fn expect(who: Who, op: Members) -> u16 {
    if matches!(who, Who::Revoked | Who::Expired | Who::Anonymous) {
        return 401;
    }
    let admin = matches!(who, Who::OrgAdmin | Who::ServerAdmin);
    match op {
        // Fine-grained tokens carry no org permission, not even to list.
        Members::List if who == Who::Scoped => 403,
        Members::List if member(who) => 200,
        Members::List => 403,
        Members::Add | Members::Role | Members::Remove if admin => 200,
        Members::Add | Members::Role | Members::Remove => 403,
        _ if matches!(who, Who::WriterReadToken | Who::Scoped) => 403,
        Members::CreateToken => 200,
        _ if who == Who::ServerAdmin => 200,
        _ => 404,
    }
}

#[tokio::test]
async fn org_members_and_tokens_per_identity_follow_the_rules() {
    let fixture = setup().await;
    let admin = fixture.server.admin().await;
    admin.accounts().create_user("victim", false).await.unwrap();
    let mut victims = Vec::new();
    for n in 0..WHO.len() {
        admin.accounts().create_user(&format!("m{n}"), false).await.unwrap();
        admin.accounts().set_org_member("acme", &format!("m{n}"), OrgRole::Read).await.unwrap();
        let spec = kura_core::TokenSpec {
            name: format!("v{n}"),
            role: Role::Read,
            expires_at: None,
            scopes: vec![],
        };
        victims.push(
            admin.accounts().issue_token(kura_core::Authority::Operator, "victim", spec).await.unwrap(),
        );
    }
    let mut cells = Cells::default();
    for (n, who) in WHO.into_iter().enumerate() {
        let member_path = format!("/api/organizations/acme/members/m{n}");
        for op in MEMBERS {
            let request = match op {
                Members::List => fixture.request(Method::GET, "/api/organizations/acme/members"),
                Members::Add => fixture
                    .request(Method::POST, "/api/organizations/acme/members")
                    .json(&json!({"user": format!("m{n}"), "role": "read"})),
                Members::Role => fixture
                    .request(Method::PUT, &format!("{member_path}/role"))
                    .json(&json!({"role": "write"})),
                Members::Remove => fixture.request(Method::DELETE, &member_path),
                Members::CreateToken => fixture
                    .request(Method::POST, "/api/settings/tokens")
                    .json(&json!({"name": "matrix", "role": "read"})),
                Members::RevokeToken => {
                    let id = victims[n].record.id;
                    fixture.request(Method::DELETE, &format!("/api/settings/tokens/{id}"))
                }
            };
            let (got, body) = fixture.send(request, who).await;
            // Token creation answers 201 Created.
            let got = if op == Members::CreateToken && got == 201 { 200 } else { got };
            cells.check(format!("{who:?} × {op:?}"), expect(who, op), got, body, false);
        }
        // A refused change changed nothing: m{n} is still a read member, the victim's token works.
        let members: Vec<Value> =
            fixture.server.get_json(&fixture.server.alice, "/api/organizations/acme/members").await;
        let still = members.iter().any(|m| m["user"] == format!("m{n}") && m["role"] == "read");
        if still == (expect(who, Members::Remove) == 200) {
            cells.mismatches.push(format!("{who:?}: m{n} still a read member: {still}"));
        }
        let whoami =
            fixture.server.get("/api/whoami-v2").bearer_auth(&victims[n].secret).send().await.unwrap();
        if (whoami.status() == 200) == (expect(who, Members::RevokeToken) == 200) {
            cells.mismatches.push(format!("{who:?}: victim token answers {}", whoami.status()));
        }
    }
    assert_eq!(cells.count, WHO.len() * MEMBERS.len());
    cells.finish(&[]);
}
