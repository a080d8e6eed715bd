//! Inviting people, the seat cap, accepting (new and existing accounts),
//! revoking and expiry.
//!
//! The small query helpers at the bottom are shared with `members.rs`.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::helpers::*;

/// The invitation lifetime the server uses by default (ATELYA_INVITATION_TTL).
const TTL: Duration = Duration::from_secs(7 * 24 * 3600);

db_test! {
    async fn an_invitation_defaults_to_member_holds_a_seat_and_turns_into_a_membership(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "STARTER").await;

        let body = invite_raw(&app, &owner.token, "Bob@Example.com", None).await;
        let invited = &body["data"]["inviteMember"];
        assert!(body.get("errors").is_none(), "{body}");
        let inv = &invited["invitation"];
        assert_eq!(inv["email"], "bob@example.com");
        assert_eq!(inv["role"], "MEMBER");
        assert_eq!(inv["state"], "PENDING");
        assert_eq!(inv["invitedBy"]["email"], "owner@example.com");
        let created = chrono::DateTime::parse_from_rfc3339(inv["createdAt"].as_str().unwrap()).unwrap();
        let expires = chrono::DateTime::parse_from_rfc3339(inv["expiresAt"].as_str().unwrap()).unwrap();
        assert_eq!(expires - created, chrono::TimeDelta::days(7));
        assert_eq!(seats_used(&app, &owner.token).await, 2);

        let token = invited["acceptToken"].as_str().unwrap();
        let accepted = accept(&app, None, token, Some("Bob"), Some(PASSWORD)).await;
        let a = &accepted["data"]["acceptInvitation"];
        assert_eq!(a["role"], "MEMBER", "{accepted}");
        assert_eq!(a["workspaceId"], owner.workspace_id.as_str());
        assert_eq!(a["user"]["email"], "bob@example.com");

        assert_eq!(members(&app, &owner.token).await, vec![("bob@example.com".into(), "MEMBER".into()), ("owner@example.com".into(), "OWNER".into())]);
        assert_eq!(seats_used(&app, &owner.token).await, 2, "the pending seat became a member's seat");
        assert_eq!(invitations(&app, &owner.token, None).await, vec![("bob@example.com".into(), "ACCEPTED".into())]);
        let bob = app.ok(a["accessToken"].as_str(), "{ viewer { member { role } workspace { name } } }", json!({})).await;
        assert_eq!(bob["viewer"], json!({ "member": { "role": "MEMBER" }, "workspace": { "name": "Team" } }));
    }
}

db_test! {
    async fn an_invitation_may_carry_the_admin_or_viewer_role_but_never_owner(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "PRO").await;

        let refused = invite_raw(&app, &owner.token, "olga@example.com", Some("OWNER")).await;
        assert_eq!(code(&refused), "BAD_USER_INPUT");
        assert!(invitations(&app, &owner.token, None).await.is_empty());
        assert_eq!(seats_used(&app, &owner.token).await, 1);

        let admin = app.invite(&owner.token, "ada@example.com", "ADMIN").await;
        let viewer = app.invite(&owner.token, "vic@example.com", "VIEWER").await;
        let ada = app.accept_new(&admin, "ada@example.com").await;
        let vic = app.accept_new(&viewer, "vic@example.com").await;
        assert_eq!(role_of(&app, &ada).await, "ADMIN");
        assert_eq!(role_of(&app, &vic).await, "VIEWER");
    }
}

db_test! {
    async fn inviting_a_member_or_an_email_already_invited_is_a_conflict(app);
    {
        let (owner, team) = app.team(&["MEMBER"]).await;
        app.invite(&owner.token, "bob@example.com", "MEMBER").await;
        let before = (members(&app, &owner.token).await, invitations(&app, &owner.token, None).await, seats_used(&app, &owner.token).await);

        for email in [team[0].email.to_uppercase(), "owner@example.com".into(), "bob@example.com".into(), " BOB@example.COM ".into()] {
            let body = invite_raw(&app, &owner.token, &email, Some("ADMIN")).await;
            assert_eq!(code(&body), "CONFLICT", "{email}");
        }

        let after = (members(&app, &owner.token).await, invitations(&app, &owner.token, None).await, seats_used(&app, &owner.token).await);
        assert_eq!(after, before);
    }
}

db_test! {
    async fn inviting_an_invalid_email_is_refused(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "PRO").await;
        for email in ["", "bob", "bob@", "@example.com", "bob@example", "b ob@example.com"] {
            let body = invite_raw(&app, &owner.token, email, None).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{email:?}");
        }
        assert!(invitations(&app, &owner.token, None).await.is_empty());
    }
}

db_test! {
    async fn the_invitation_token_is_stored_only_hashed_or_sealed_and_never_logged(app);
    {
        use sea_orm::EntityTrait;
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "STARTER").await;

        let token = app.invite(&owner.token, "bob@example.com", "MEMBER").await;
        let refused = invite_raw(&app, &owner.token, "carol@example.com", None).await;
        assert_eq!(code(&refused), "SEAT_LIMIT_REACHED");

        let db = app.state.db.conn();
        let mail = entity::email_outbox::Entity::find().all(db).await.unwrap();
        assert_eq!(mail.len(), 1, "a refused invitation sends nothing: {mail:?}");
        assert_eq!(mail[0].to_email, "bob@example.com");
        assert!(!mail[0].body.contains(&token), "{}", mail[0].body);
        let sealed = mail[0].sealed_secret.clone().expect("the token waits sealed for the mailer");
        assert!(!sealed.windows(token.len()).any(|w| w == token.as_bytes()));
        let opened = app.state.sealer.open(mail[0].id.as_bytes(), &sealed).unwrap();
        assert_eq!(opened, token.as_bytes(), "the mailer can read it back");
        // The log mailer delivers it (no SMTP here) and the secret goes.
        let mail_id = mail[0].id;
        let row = eventually(std::time::Duration::from_secs(10), move || async move {
            let row = entity::email_outbox::Entity::find_by_id(mail_id).one(db).await.unwrap().unwrap();
            match row.sent_at {
                Some(_) => Ok(row),
                None => Err("not delivered yet".to_owned()),
            }
        })
        .await;
        assert_eq!(row.sealed_secret, None);
        assert!(!row.body.contains(&token));
        let stored = entity::invitation::Entity::find().all(db).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_ne!(stored[0].token_hash, token);
        assert!(!stored[0].token_hash.contains(&token));
    }
}

db_test! {
    async fn only_owners_and_admins_invite_revoke_and_list_invitations(app);
    {
        let (owner, team) = app.team(&["ADMIN", "MEMBER", "VIEWER"]).await;
        let (admin, member, viewer) = (&team[0], &team[1], &team[2]);
        let pending = invitation_id(&app, &owner.token, "eve@example.com").await;

        for outsider in [member, viewer] {
            assert_eq!(code(&invite_raw(&app, &outsider.token, "zed@example.com", None).await), "FORBIDDEN");
            assert_eq!(code(&revoke(&app, &outsider.token, &pending).await), "FORBIDDEN");
            assert_eq!(code(&app.gql(Some(&outsider.token), INVITATIONS, json!({})).await), "FORBIDDEN");
        }
        assert_eq!(invitations(&app, &owner.token, Some("PENDING")).await, vec![("eve@example.com".into(), "PENDING".into())]);

        let by_admin = invite_raw(&app, &admin.token, "new-admin@example.com", Some("ADMIN")).await;
        assert_eq!(by_admin["data"]["inviteMember"]["invitation"]["invitedBy"]["email"], admin.email.as_str(), "{by_admin}");
        let revoked = revoke(&app, &admin.token, &pending).await;
        assert_eq!(revoked["data"]["revokeInvitation"]["state"], "REVOKED", "{revoked}");
        assert_eq!(invitations(&app, &admin.token, Some("PENDING")).await, vec![("new-admin@example.com".into(), "PENDING".into())]);
    }
}

db_test! {
    async fn the_free_trial_and_solo_plans_have_no_seat_to_invite_into(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        let body = invite_raw(&app, &owner.token, "bob@example.com", None).await;
        assert_eq!(code(&body), "SEAT_LIMIT_REACHED");

        app.change_plan(&owner.token, "SOLO").await;
        let body = invite_raw(&app, &owner.token, "bob@example.com", None).await;
        assert_eq!(code(&body), "SEAT_LIMIT_REACHED");
        assert!(invitations(&app, &owner.token, None).await.is_empty());
        assert_eq!(seats_used(&app, &owner.token).await, 1);
    }
}

db_test! {
    async fn pending_invitations_count_against_the_seat_cap(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "STARTER").await;
        app.invite(&owner.token, "a@example.com", "MEMBER").await;
        assert_eq!(seats_used(&app, &owner.token).await, 2);
        assert_eq!(code(&invite_raw(&app, &owner.token, "b@example.com", None).await), "SEAT_LIMIT_REACHED");

        app.change_plan(&owner.token, "PRO").await;
        for email in ["b@example.com", "c@example.com", "d@example.com"] {
            app.invite(&owner.token, email, "MEMBER").await;
        }
        assert_eq!(seats_used(&app, &owner.token).await, 5);
        assert_eq!(code(&invite_raw(&app, &owner.token, "e@example.com", None).await), "SEAT_LIMIT_REACHED");
        assert_eq!(invitations(&app, &owner.token, Some("PENDING")).await.len(), 4);
        assert_eq!(seats_used(&app, &owner.token).await, 5);
    }
}

db_test! {
    async fn revoking_an_invitation_frees_its_seat_and_kills_its_token(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "STARTER").await;
        let old_token = app.invite(&owner.token, "bob@example.com", "MEMBER").await;
        let id = invitation_id_of(&app, &owner.token, "bob@example.com").await;

        let revoked = revoke(&app, &owner.token, &id).await;
        assert_eq!(revoked["data"]["revokeInvitation"]["state"], "REVOKED", "{revoked}");
        assert_eq!(seats_used(&app, &owner.token).await, 1);
        assert_eq!(invitations(&app, &owner.token, Some("REVOKED")).await, vec![("bob@example.com".into(), "REVOKED".into())]);

        let refused = accept(&app, None, &old_token, Some("Bob"), Some(PASSWORD)).await;
        assert_eq!(code(&refused), "CONFLICT");
        assert_eq!(members(&app, &owner.token).await.len(), 1);
        assert_eq!(code(&login(&app, "bob@example.com").await), "UNAUTHENTICATED", "no account was created");

        let new_token = app.invite(&owner.token, "bob@example.com", "MEMBER").await;
        assert_eq!(code(&accept(&app, None, &old_token, Some("Bob"), Some(PASSWORD)).await), "CONFLICT");
        app.accept_new(&new_token, "bob@example.com").await;
        assert_eq!(members(&app, &owner.token).await.len(), 2);
    }
}

db_test! {
    async fn revoking_an_invitation_that_is_not_pending_is_a_conflict(app);
    {
        let mut owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "AGENCY").await;
        let stale = invitation_id(&app, &owner.token, "stale@example.com").await;
        app.state.clock.advance(TTL + Duration::from_secs(60));
        refresh_account(&app, &mut owner).await;

        let used_token = app.invite(&owner.token, "used@example.com", "MEMBER").await;
        app.accept_new(&used_token, "used@example.com").await;
        let used = invitation_id_of(&app, &owner.token, "used@example.com").await;
        let gone = invitation_id(&app, &owner.token, "gone@example.com").await;
        assert_eq!(revoke(&app, &owner.token, &gone).await["data"]["revokeInvitation"]["state"], "REVOKED");
        let before = invitations(&app, &owner.token, None).await;

        for id in [&used, &gone, &stale] {
            assert_eq!(code(&revoke(&app, &owner.token, id).await), "CONFLICT", "{id}");
        }

        assert_eq!(invitations(&app, &owner.token, None).await, before);
        let states: Vec<_> = before.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(states, ["REVOKED", "ACCEPTED", "EXPIRED"]);
    }
}

db_test! {
    async fn an_invitation_of_another_workspace_is_not_found(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        let other = app.signup("other@example.com", "Other").await;
        app.change_plan(&other.token, "PRO").await;
        let theirs = invitation_id(&app, &other.token, "bob@example.com").await;

        for id in [theirs.as_str(), "inv_00000000000000000000000000000000", "nonsense", &other.workspace_id] {
            assert_eq!(code(&revoke(&app, &owner.token, id).await), "NOT_FOUND", "{id}");
        }

        assert_eq!(invitations(&app, &other.token, None).await, vec![("bob@example.com".into(), "PENDING".into())]);
    }
}

db_test! {
    async fn accepting_an_unknown_token_is_not_found(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "STARTER").await;
        let real = app.invite(&owner.token, "bob@example.com", "MEMBER").await;

        for token in ["", "not-a-token", &format!("{real}x"), &real[..real.len() - 1]] {
            let body = accept(&app, None, token, Some("Bob"), Some(PASSWORD)).await;
            assert_eq!(code(&body), "NOT_FOUND", "{token:?}");
        }

        assert_eq!(invitations(&app, &owner.token, None).await, vec![("bob@example.com".into(), "PENDING".into())]);
        assert_eq!(members(&app, &owner.token).await.len(), 1);
    }
}

db_test! {
    async fn an_accept_token_works_only_once(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "PRO").await;
        let token = app.invite(&owner.token, "bob@example.com", "MEMBER").await;
        let bob = app.accept_new(&token, "bob@example.com").await;

        let again = accept(&app, None, &token, None, Some(PASSWORD)).await;
        assert_eq!(code(&again), "CONFLICT");
        let again_signed_in = accept(&app, Some(&bob.token), &token, None, None).await;
        assert_eq!(code(&again_signed_in), "CONFLICT");

        assert_eq!(members(&app, &owner.token).await.len(), 2);
        assert_eq!(seats_used(&app, &owner.token).await, 2);
        assert_eq!(invitations(&app, &owner.token, None).await, vec![("bob@example.com".into(), "ACCEPTED".into())]);
    }
}

db_test! {
    async fn an_invitation_expires_after_seven_days_and_frees_its_seat(app);
    {
        let mut owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "STARTER").await;
        let token = app.invite(&owner.token, "bob@example.com", "MEMBER").await;

        app.state.clock.advance(TTL - Duration::from_secs(60));
        refresh_account(&app, &mut owner).await;
        assert_eq!(invitations(&app, &owner.token, None).await, vec![("bob@example.com".into(), "PENDING".into())]);
        assert_eq!(seats_used(&app, &owner.token).await, 2);

        app.state.clock.advance(Duration::from_secs(61));
        assert_eq!(invitations(&app, &owner.token, None).await, vec![("bob@example.com".into(), "EXPIRED".into())]);
        assert_eq!(seats_used(&app, &owner.token).await, 1);

        let refused = accept(&app, None, &token, Some("Bob"), Some(PASSWORD)).await;
        assert_eq!(code(&refused), "CONFLICT");
        assert_eq!(members(&app, &owner.token).await.len(), 1);
        assert_eq!(code(&login(&app, "bob@example.com").await), "UNAUTHENTICATED", "no account was created");
        assert_eq!(invitations(&app, &owner.token, None).await, vec![("bob@example.com".into(), "EXPIRED".into())]);

        let fresh = app.invite(&owner.token, "bob@example.com", "MEMBER").await;
        app.accept_new(&fresh, "bob@example.com").await;
        assert_eq!(members(&app, &owner.token).await.len(), 2);
    }
}

db_test! {
    async fn the_invitation_lifetime_is_a_setting(app) with |config| config.invitation_ttl = 60;
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "STARTER").await;
        let body = invite_raw(&app, &owner.token, "bob@example.com", None).await;
        let inv = &body["data"]["inviteMember"]["invitation"];
        let created = chrono::DateTime::parse_from_rfc3339(inv["createdAt"].as_str().unwrap()).unwrap();
        let expires = chrono::DateTime::parse_from_rfc3339(inv["expiresAt"].as_str().unwrap()).unwrap();
        assert_eq!(expires - created, chrono::TimeDelta::seconds(60));

        app.state.clock.advance(Duration::from_secs(61));

        assert_eq!(invitations(&app, &owner.token, None).await, vec![("bob@example.com".into(), "EXPIRED".into())]);
        let token = body["data"]["inviteMember"]["acceptToken"].as_str().unwrap();
        assert_eq!(code(&accept(&app, None, token, Some("Bob"), Some(PASSWORD)).await), "CONFLICT");
        assert_eq!(seats_used(&app, &owner.token).await, 1);
    }
}

db_test! {
    async fn an_invitation_accepted_just_before_it_expires_still_works(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "STARTER").await;
        let token = app.invite(&owner.token, "bob@example.com", "MEMBER").await;

        app.state.clock.advance(TTL - Duration::from_secs(5));
        let bob = app.accept_new(&token, "bob@example.com").await;

        assert_eq!(role_of(&app, &bob).await, "MEMBER");
    }
}

db_test! {
    async fn invitations_can_be_listed_by_state(app);
    {
        let mut owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "AGENCY").await;
        app.invite(&owner.token, "expired@example.com", "MEMBER").await;
        app.state.clock.advance(TTL + Duration::from_secs(1));
        refresh_account(&app, &mut owner).await;
        let accepted = app.invite(&owner.token, "accepted@example.com", "ADMIN").await;
        app.accept_new(&accepted, "accepted@example.com").await;
        let revoked = invitation_id(&app, &owner.token, "revoked@example.com").await;
        revoke(&app, &owner.token, &revoked).await;
        app.invite(&owner.token, "pending@example.com", "VIEWER").await;

        for state in ["PENDING", "ACCEPTED", "REVOKED", "EXPIRED"] {
            let listed = invitations(&app, &owner.token, Some(state)).await;
            assert_eq!(listed, vec![(format!("{}@example.com", state.to_lowercase()), state.to_owned())]);
        }
        let all: Vec<_> = invitations(&app, &owner.token, None).await.into_iter().map(|(e, _)| e).collect();
        assert_eq!(all, ["pending@example.com", "revoked@example.com", "accepted@example.com", "expired@example.com"], "newest first");
        assert_eq!(seats_used(&app, &owner.token).await, 3, "owner, the accepted member, the pending invitation");
    }
}

db_test! {
    async fn accepting_without_an_account_needs_a_name_and_a_valid_password(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "STARTER").await;
        let token = app.invite(&owner.token, "bob@example.com", "MEMBER").await;

        let attempts = [(None, Some(PASSWORD)), (Some("Bob"), None), (None, None), (Some("  "), Some(PASSWORD)), (Some("Bob"), Some("short"))];
        for (name, password) in attempts {
            let body = accept(&app, None, &token, name, password).await;
            assert_eq!(code(&body), "BAD_USER_INPUT", "{name:?} {password:?}");
        }

        assert_eq!(invitations(&app, &owner.token, None).await, vec![("bob@example.com".into(), "PENDING".into())]);
        assert_eq!(members(&app, &owner.token).await.len(), 1);
        assert_eq!(code(&login(&app, "bob@example.com").await), "UNAUTHENTICATED", "no account was created");

        app.accept_new(&token, "bob@example.com").await;
        let signed_in = login(&app, "bob@example.com").await;
        assert_eq!(signed_in["data"]["login"]["workspaceId"], owner.workspace_id.as_str(), "{signed_in}");
    }
}

db_test! {
    async fn an_existing_account_accepts_with_its_password_and_keeps_both_workspaces(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "STARTER").await;
        let carol = app.signup("carol@example.com", "Carol's studio").await;
        let token = app.invite(&owner.token, "carol@example.com", "ADMIN").await;

        assert_eq!(code(&accept(&app, None, &token, Some("Carol"), None).await), "BAD_USER_INPUT");
        assert_eq!(code(&accept(&app, None, &token, Some("Carol"), Some("wrong password")).await), "UNAUTHENTICATED");
        assert_eq!(invitations(&app, &owner.token, None).await, vec![("carol@example.com".into(), "PENDING".into())]);
        assert_eq!(members(&app, &owner.token).await.len(), 1);

        let body = accept(&app, None, &token, None, Some(PASSWORD)).await;
        let a = &body["data"]["acceptInvitation"];
        assert_eq!(a["user"]["id"], carol.user_id.as_str(), "{body}");
        assert_eq!(a["workspaceId"], owner.workspace_id.as_str());
        assert_eq!(a["role"], "ADMIN");
        let in_team = a["accessToken"].as_str().unwrap();
        assert_both_memberships(&app, in_team, &carol, &owner).await;
    }
}

db_test! {
    async fn an_existing_account_accepts_with_its_own_bearer_token(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "STARTER").await;
        let carol = app.signup("carol@example.com", "Carol's studio").await;
        let token = app.invite(&owner.token, "carol@example.com", "MEMBER").await;

        let body = accept(&app, Some(&carol.token), &token, None, None).await;
        let a = &body["data"]["acceptInvitation"];
        assert_eq!(a["user"]["id"], carol.user_id.as_str(), "{body}");
        assert_eq!(a["role"], "MEMBER");
        assert_both_memberships(&app, a["accessToken"].as_str().unwrap(), &carol, &owner).await;
    }
}

db_test! {
    async fn a_bearer_token_of_another_user_cannot_accept(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "PRO").await;
        let carol = app.signup("carol@example.com", "Carol's studio").await;
        let mallory = app.signup("mallory@example.com", "Mallory's").await;
        let for_carol = app.invite(&owner.token, "carol@example.com", "ADMIN").await;
        let for_newcomer = app.invite(&owner.token, "new@example.com", "ADMIN").await;

        assert_eq!(code(&accept(&app, Some(&mallory.token), &for_carol, None, None).await), "FORBIDDEN");
        assert_eq!(code(&accept(&app, Some(&mallory.token), &for_carol, None, Some(PASSWORD)).await), "FORBIDDEN");
        assert_eq!(code(&accept(&app, Some(&mallory.token), &for_newcomer, Some("New"), Some(PASSWORD)).await), "FORBIDDEN");
        assert_eq!(code(&accept(&app, Some(&owner.token), &for_carol, None, None).await), "FORBIDDEN");
        assert_eq!(code(&accept(&app, Some("forged.token.here"), &for_carol, None, Some(PASSWORD)).await), "UNAUTHENTICATED");

        assert_eq!(members(&app, &owner.token).await, vec![("owner@example.com".into(), "OWNER".into())]);
        assert_eq!(invitations(&app, &owner.token, Some("PENDING")).await.len(), 2);
        assert_eq!(code(&login(&app, "new@example.com").await), "UNAUTHENTICATED", "no account was created");
        assert_eq!(memberships(&app, &carol.token).await.len(), 1);
        assert_eq!(memberships(&app, &mallory.token).await.len(), 1);
    }
}

db_test! {
    async fn accepting_when_the_plan_has_no_seat_left_is_refused(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "PRO").await;
        let token = app.invite(&owner.token, "bob@example.com", "MEMBER").await;
        app.change_plan(&owner.token, "SOLO").await;

        let refused = accept(&app, None, &token, Some("Bob"), Some(PASSWORD)).await;
        assert_eq!(code(&refused), "SEAT_LIMIT_REACHED");

        assert_eq!(members(&app, &owner.token).await.len(), 1);
        assert_eq!(invitations(&app, &owner.token, None).await, vec![("bob@example.com".into(), "PENDING".into())]);
        assert_eq!(code(&login(&app, "bob@example.com").await), "UNAUTHENTICATED", "no account was created");

        app.change_plan(&owner.token, "STARTER").await;
        app.accept_new(&token, "bob@example.com").await;
        assert_eq!(members(&app, &owner.token).await.len(), 2);
    }
}

db_test! {
    async fn concurrent_accepts_cannot_pass_the_seat_cap(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "PRO").await;
        let mut tokens = Vec::new();
        for i in 0..4 {
            tokens.push(app.invite(&owner.token, &format!("p{i}@example.com"), "MEMBER").await);
        }
        app.change_plan(&owner.token, "STARTER").await;

        let app = &app;
        let bodies = join_all(tokens.iter().enumerate().map(|(i, t)| {
            let name = format!("p{i}");
            async move { accept(app, None, t, Some(&name), Some(PASSWORD)).await }
        }))
        .await;

        let won = bodies.iter().filter(|b| b.get("errors").is_none()).count();
        assert_eq!(won, 1, "{bodies:?}");
        for body in bodies.iter().filter(|b| b.get("errors").is_some()) {
            assert_eq!(code(body), "SEAT_LIMIT_REACHED");
        }
        assert_eq!(members(app, &owner.token).await.len(), 2);
        assert_eq!(invitations(app, &owner.token, Some("ACCEPTED")).await.len(), 1);
        assert_eq!(invitations(app, &owner.token, Some("PENDING")).await.len(), 3);
    }
}

db_test! {
    async fn concurrent_accepts_fill_exactly_the_seats_that_are_left(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "GROWTH").await;
        let mut tokens = Vec::new();
        for i in 0..12 {
            tokens.push(app.invite(&owner.token, &format!("g{i}@example.com"), "VIEWER").await);
        }
        app.change_plan(&owner.token, "PRO").await;

        let app = &app;
        let bodies = join_all(tokens.iter().enumerate().map(|(i, t)| {
            let name = format!("g{i}");
            async move { accept(app, None, t, Some(&name), Some(PASSWORD)).await }
        }))
        .await;

        let won = bodies.iter().filter(|b| b.get("errors").is_none()).count();
        assert_eq!(won, 4, "{bodies:?}");
        assert!(bodies.iter().filter(|b| b.get("errors").is_some()).all(|b| code(b) == "SEAT_LIMIT_REACHED"), "{bodies:?}");
        assert_eq!(members(app, &owner.token).await.len(), 5);
    }
}

db_test! {
    async fn concurrent_invitations_cannot_pass_the_seat_cap(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "PRO").await;
        let app = &app;

        let emails: Vec<String> = (0..8).map(|i| format!("c{i}@example.com")).collect();
        let bodies = join_all(emails.iter().map(|e| invite_raw(app, &owner.token, e, None))).await;

        let won = bodies.iter().filter(|b| b.get("errors").is_none()).count();
        assert_eq!(won, 4, "{bodies:?}");
        assert!(bodies.iter().filter(|b| b.get("errors").is_some()).all(|b| code(b) == "SEAT_LIMIT_REACHED"), "{bodies:?}");
        assert_eq!(seats_used(app, &owner.token).await, 5);
        assert_eq!(invitations(app, &owner.token, None).await.len(), 4);
    }
}

db_test! {
    async fn concurrent_invitations_of_one_email_make_one_invitation(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "AGENCY").await;
        let app = &app;

        let bodies = join_all((0..6).map(|_| invite_raw(app, &owner.token, "bob@example.com", None))).await;

        let won = bodies.iter().filter(|b| b.get("errors").is_none()).count();
        assert_eq!(won, 1, "{bodies:?}");
        assert!(bodies.iter().filter(|b| b.get("errors").is_some()).all(|b| code(b) == "CONFLICT"), "{bodies:?}");
        assert_eq!(invitations(app, &owner.token, None).await, vec![("bob@example.com".into(), "PENDING".into())]);
    }
}

db_test! {
    async fn one_accept_token_used_concurrently_admits_one_member(app);
    {
        let owner = app.signup("owner@example.com", "Team").await;
        app.change_plan(&owner.token, "AGENCY").await;
        let token = app.invite(&owner.token, "bob@example.com", "MEMBER").await;
        let app = &app;

        let bodies = join_all((0..5).map(|_| accept(app, None, &token, Some("Bob"), Some(PASSWORD)))).await;

        let won = bodies.iter().filter(|b| b.get("errors").is_none()).count();
        assert_eq!(won, 1, "{bodies:?}");
        assert!(bodies.iter().filter(|b| b.get("errors").is_some()).all(|b| code(b) == "CONFLICT"), "{bodies:?}");
        assert_eq!(members(app, &owner.token).await.len(), 2);
        assert_eq!(invitations(app, &owner.token, None).await, vec![("bob@example.com".into(), "ACCEPTED".into())]);
    }
}

// ---------------------------------------------------------------- helpers (shared with members.rs)

pub const INVITATIONS: &str =
    "query($s: InvitationState) { workspace { invitations(state: $s, first: 100) { nodes { id email role state } } } }";

/// `inviteMember`, returning the whole response body.
pub async fn invite_raw(app: &TestApp, token: &str, email: &str, role: Option<&str>) -> Value {
    app.gql(
        Some(token),
        "mutation($e: String!, $r: Role) { inviteMember(email: $e, role: $r) { acceptToken invitation { id email role state createdAt expiresAt invitedBy { email } } } }",
        json!({ "e": email, "r": role }),
    )
    .await
}

/// Invites `email` as a member and returns the invitation's id.
pub async fn invitation_id(app: &TestApp, token: &str, email: &str) -> String {
    let body = invite_raw(app, token, email, None).await;
    body["data"]["inviteMember"]["invitation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

/// The id of the newest invitation of `email`.
pub async fn invitation_id_of(app: &TestApp, token: &str, email: &str) -> String {
    let data = app.ok(Some(token), INVITATIONS, json!({})).await;
    let nodes = data["workspace"]["invitations"]["nodes"]
        .as_array()
        .unwrap();
    let found = nodes
        .iter()
        .find(|n| n["email"] == email)
        .unwrap_or_else(|| panic!("no invitation of {email}"));
    found["id"].as_str().unwrap().to_owned()
}

pub async fn revoke(app: &TestApp, token: &str, id: &str) -> Value {
    app.gql(
        Some(token),
        "mutation($id: ID!) { revokeInvitation(id: $id) { id state } }",
        json!({ "id": id }),
    )
    .await
}

/// `acceptInvitation`, with an optional bearer token, returning the whole body.
pub async fn accept(
    app: &TestApp,
    bearer: Option<&str>,
    token: &str,
    name: Option<&str>,
    password: Option<&str>,
) -> Value {
    app.gql(
        bearer,
        "mutation($t: String!, $n: String, $p: String) { acceptInvitation(token: $t, name: $n, password: $p) { accessToken refreshToken workspaceId role user { id email } } }",
        json!({ "t": token, "n": name, "p": password }),
    )
    .await
}

pub async fn login(app: &TestApp, email: &str) -> Value {
    app.gql(
        None,
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken workspaceId } }",
        json!({ "e": email, "p": PASSWORD }),
    )
    .await
}

/// `refreshToken`, returning the whole body.
pub async fn refresh(app: &TestApp, refresh_token: &str) -> Value {
    app.gql(
        None,
        "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken workspaceId } }",
        json!({ "r": refresh_token }),
    )
    .await
}

/// Swaps the account's tokens for fresh ones (after the clock moved past the access token's life).
pub async fn refresh_account(app: &TestApp, account: &mut Account) {
    let body = refresh(app, &account.refresh).await;
    let r = &body["data"]["refreshToken"];
    account.token = r["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    account.refresh = r["refreshToken"].as_str().unwrap().to_owned();
}

pub async fn seats_used(app: &TestApp, token: &str) -> i64 {
    app.ok(Some(token), "{ workspace { seatsUsed } }", json!({}))
        .await["workspace"]["seatsUsed"]
        .as_i64()
        .unwrap()
}

/// The workspace's members as (email, role), sorted by email.
pub async fn members(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let data = app
        .ok(
            Some(token),
            "{ workspace { members(first: 100) { nodes { role user { email } } } } }",
            json!({}),
        )
        .await;
    let mut list: Vec<_> = data["workspace"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user"]["email"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    list.sort();
    list
}

/// The workspace's invitations as (email, state), newest first, optionally of one state.
pub async fn invitations(app: &TestApp, token: &str, state: Option<&str>) -> Vec<(String, String)> {
    let data = app
        .ok(Some(token), INVITATIONS, json!({ "s": state }))
        .await;
    data["workspace"]["invitations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["email"].as_str().unwrap().to_owned(),
                i["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub async fn role_of(app: &TestApp, account: &Account) -> String {
    let data = app
        .ok(
            Some(&account.token),
            "{ viewer { member { role } } }",
            json!({}),
        )
        .await;
    data["viewer"]["member"]["role"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `viewer.memberships` as (workspaceId, role, current).
pub async fn memberships(app: &TestApp, token: &str) -> Vec<(String, String, bool)> {
    let data = app
        .ok(
            Some(token),
            "{ viewer { memberships { workspaceId role current } } }",
            json!({}),
        )
        .await;
    data["viewer"]["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["workspaceId"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
                m["current"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// `user`, signed in to `owner`'s workspace with `token`, belongs to both and can switch back to their own.
async fn assert_both_memberships(app: &TestApp, token: &str, user: &Account, owner: &Account) {
    let listed = memberships(app, token).await;
    let role_in_team = listed
        .iter()
        .find(|m| m.0 == owner.workspace_id)
        .map(|m| m.1.clone())
        .expect("a membership in the team");
    assert_eq!(
        listed,
        vec![
            (user.workspace_id.clone(), "OWNER".into(), false),
            (owner.workspace_id.clone(), role_in_team, true)
        ]
    );
    let switched = app
        .ok(Some(token), "mutation($w: ID!) { switchWorkspace(workspaceId: $w) { accessToken role workspaceId } }", json!({ "w": user.workspace_id }))
        .await;
    let s = &switched["switchWorkspace"];
    assert_eq!(s["role"], "OWNER");
    assert_eq!(s["workspaceId"], user.workspace_id.as_str());
    let home = app
        .ok(
            s["accessToken"].as_str(),
            "{ workspace { id } viewer { member { role } } }",
            json!({}),
        )
        .await;
    assert_eq!(home["workspace"]["id"], user.workspace_id.as_str());
    assert_eq!(home["viewer"]["member"]["role"], "OWNER");
}
