//! Staff's GraphQL face: signing in and out, the signed-in member, and the
//! admin's management of accounts.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::model::{DisplayName, NewPassword, Role, Roles, StaffEmail};
use super::password::{Passwords, Verdict};
use super::store::{self, NewStaff, Refreshed, StaffChange, StaffView};
use super::throttle::LoginThrottle;
use super::token::TokenKeys;
use crate::auth::{Client, RoleGuard, Viewers, viewer};
use crate::error::{AppError, AppResult, IntoGraphql as _};
use crate::moderation::audit::{self, AuditEntry};
use crate::rate_limit::RateLimiter;

/// The login rate limit (`HAMLET_LOGIN_PER_MINUTE`), per address and per email.
pub struct LoginLimit(pub RateLimiter);

fn wrong_credentials() -> AppError {
    AppError::Unauthenticated
}

fn parse_id(id: &ID, field: &str) -> AppResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| AppError::bad_input(field, "is not an id"))
}

/// Signed-in staff and, for admins, every account.
#[derive(Default)]
pub struct StaffQuery;

#[Object]
impl StaffQuery {
    /// The signed-in staff member. Like every staff field, it answers
    /// UNAUTHENTICATED (not null) without a signed-in staff member.
    #[graphql(guard = "RoleGuard::STAFF")]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<StaffMember>> {
        Ok(Some(StaffMember(viewer(ctx)?.staff.clone())))
    }

    /// Every staff account, by name. ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn staff_members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StaffMember>> {
        store::staff_members(ctx.data::<DatabaseConnection>()?)
            .await
            .map(|members| members.into_iter().map(StaffMember).collect())
            .into_graphql()
    }
}

/// A new staff account. ADMIN.
#[derive(InputObject)]
pub struct CreateStaffInput {
    /// The email they sign in with.
    email: String,
    display_name: String,
    roles: Vec<Role>,
    /// At least 12 characters; three or four random words make a good one.
    password: String,
}

/// A change to a staff account; fields left out stay as they are. ADMIN.
#[derive(InputObject)]
pub struct UpdateStaffInput {
    id: ID,
    display_name: Option<String>,
    roles: Option<Vec<Role>>,
    /// `false` signs them out everywhere at once and keeps them out.
    active: Option<bool>,
}

/// Signing in and out, and managing accounts.
#[derive(Default)]
pub struct StaffMutation;

#[Object]
impl StaffMutation {
    /// Signs a staff member in. A wrong email and a wrong password get the
    /// same answer, `UNAUTHENTICATED`, in about the same time. Attempts are
    /// limited per address and per email, per minute and, after a run of
    /// failures, by a wait that doubles with each further failure
    /// (`RATE_LIMITED` with `retryAfterSeconds`); a success ends the run.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let client = ctx.data::<Client>()?;
        let limit = &ctx.data::<LoginLimit>()?.0;
        let email = StaffEmail::parse(&email, "email").ok();
        let email_key = email.as_ref().map_or("", StaffEmail::as_str);
        let throttle = ctx.data::<LoginThrottle>()?;
        if let Some(retry_after_seconds) = throttle.wait(email_key, client.address) {
            return Err(AppError::RateLimited {
                retry_after_seconds,
            })
            .into_graphql();
        }
        // Both allowances are spent, so guessing many emails from one address
        // and one email from many addresses are both slowed.
        let by_address = limit
            .allow(&format!("login-ip:{}", client.address), 1)
            .await;
        let by_email = limit.allow(&format!("login-email:{email_key}"), 1).await;
        if let Err(retry_after_seconds) = by_address.and(by_email) {
            return Err(AppError::RateLimited {
                retry_after_seconds,
            })
            .into_graphql();
        }
        let db = ctx.data::<DatabaseConnection>()?;
        let passwords = ctx.data::<Passwords>()?;
        let account = match &email {
            Some(email) => store::staff_for_login(db, email).await.into_graphql()?,
            None => None,
        };
        let verdict = passwords
            .verify(
                &password,
                account
                    .as_ref()
                    .map(|account| account.password_hash.as_str()),
            )
            .await
            .into_graphql()?;
        let Some(account) = account.filter(|account| account.active && verdict != Verdict::Wrong)
        else {
            throttle.failed(email_key, client.address);
            tracing::info!("a staff sign-in was refused");
            return Err(wrong_credentials()).into_graphql();
        };
        throttle.succeeded(email_key, client.address);
        if verdict == Verdict::RightButRehash {
            let hash = passwords.hash(&password).await.into_graphql()?;
            store::set_password_hash(db, account.id, &hash)
                .await
                .into_graphql()?;
        }
        let txn = crate::db::write(db)
            .await
            .map_err(AppError::from)
            .into_graphql()?;
        let (session_id, refresh_token) = store::start_session(&txn, account.id)
            .await
            .into_graphql()?;
        txn.commit().await.map_err(AppError::from).into_graphql()?;
        tracing::info!(staff = %account.id, "staff signed in");
        AuthPayload::new(ctx, account.into(), session_id, refresh_token).into_graphql()
    }

    /// Exchanges a refresh token for a new access token and a new refresh
    /// token; the old refresh token stops working. Presenting a refresh token
    /// a second time ends its session everywhere, since only a stolen copy
    /// would be presented twice.
    async fn refresh(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<AuthPayload> {
        let db = ctx.data::<DatabaseConnection>()?;
        let txn = crate::db::write(db)
            .await
            .map_err(AppError::from)
            .into_graphql()?;
        let outcome = store::refresh(&txn, &refresh_token).await.into_graphql()?;
        if let Refreshed::Reused = outcome {
            tracing::warn!("a used refresh token was presented again; its session is revoked");
        }
        txn.commit().await.map_err(AppError::from).into_graphql()?;
        if let Refreshed::Reused = outcome {
            ctx.data::<Arc<Viewers>>()?.changed();
        }
        match outcome {
            Refreshed::Renewed {
                staff,
                session_id,
                refresh_token,
            } => AuthPayload::new(ctx, staff, session_id, refresh_token).into_graphql(),
            Refreshed::Refused | Refreshed::Reused => Err(AppError::Unauthenticated).into_graphql(),
        }
    }

    /// Ends the session the refresh token belongs to: its access tokens stop
    /// working at once. Always `true`, so it reveals nothing about the token.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<bool> {
        store::end_session_of(ctx.data::<DatabaseConnection>()?, &refresh_token)
            .await
            .into_graphql()?;
        ctx.data::<Arc<Viewers>>()?.changed();
        Ok(true)
    }

    /// Changes the signed-in member's password and ends their other sessions.
    #[graphql(guard = "RoleGuard::STAFF")]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<bool> {
        let viewer = viewer(ctx)?;
        let limit = &ctx.data::<LoginLimit>()?.0;
        limit
            .allow(&format!("password-change:{}", viewer.id()), 1)
            .await
            .map_err(|retry_after_seconds| AppError::RateLimited {
                retry_after_seconds,
            })
            .into_graphql()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let passwords = ctx.data::<Passwords>()?;
        let account = store::staff_with_hash(db, viewer.id())
            .await
            .and_then(|account| account.ok_or(AppError::Unauthenticated))
            .into_graphql()?;
        let verdict = passwords
            .verify(&current_password, Some(&account.password_hash))
            .await
            .into_graphql()?;
        if verdict == Verdict::Wrong {
            return Err(AppError::bad_input(
                "currentPassword",
                "is not your current password",
            ))
            .into_graphql();
        }
        let email = StaffEmail::parse(&account.email, "email").ok();
        let new =
            NewPassword::parse(&new_password, email.as_ref(), "newPassword").into_graphql()?;
        if new.expose() == current_password {
            return Err(AppError::bad_input(
                "newPassword",
                "must differ from the current one",
            ))
            .into_graphql();
        }
        let hash = passwords.hash(new.expose()).await.into_graphql()?;
        let txn = crate::db::write(db)
            .await
            .map_err(AppError::from)
            .into_graphql()?;
        store::set_password_hash(&txn, viewer.id(), &hash)
            .await
            .into_graphql()?;
        store::revoke_sessions(&txn, viewer.id(), Some(viewer.session_id))
            .await
            .into_graphql()?;
        audit::record(&txn, AuditEntry::password_changed(viewer.id()))
            .await
            .into_graphql()?;
        txn.commit().await.map_err(AppError::from).into_graphql()?;
        ctx.data::<Arc<Viewers>>()?.changed();
        Ok(true)
    }

    /// Creates a staff account. ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn create_staff(
        &self,
        ctx: &Context<'_>,
        input: CreateStaffInput,
    ) -> async_graphql::Result<StaffMember> {
        let actor = viewer(ctx)?.id();
        let email = StaffEmail::parse(&input.email, "email").into_graphql()?;
        let display_name = DisplayName::parse(&input.display_name, "displayName").into_graphql()?;
        let roles = Roles::parse(&input.roles, "roles").into_graphql()?;
        let password =
            NewPassword::parse(&input.password, Some(&email), "password").into_graphql()?;
        let password_hash = ctx
            .data::<Passwords>()?
            .hash(password.expose())
            .await
            .into_graphql()?;
        let new = NewStaff {
            email,
            display_name,
            roles,
            password_hash,
        };
        create_staff(ctx.data::<DatabaseConnection>()?, &new, Some(actor))
            .await
            .map(StaffMember)
            .into_graphql()
    }

    /// Changes a staff account's name, roles or active flag. Deactivation
    /// and demotion act on the member's next request. The last active admin
    /// cannot be demoted or deactivated (`CONFLICT`). ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn update_staff(
        &self,
        ctx: &Context<'_>,
        input: UpdateStaffInput,
    ) -> async_graphql::Result<StaffMember> {
        let actor = viewer(ctx)?.id();
        let id = parse_id(&input.id, "id").into_graphql()?;
        let change = StaffChange {
            display_name: input
                .display_name
                .as_deref()
                .map(|name| DisplayName::parse(name, "displayName"))
                .transpose()
                .into_graphql()?,
            roles: input
                .roles
                .as_deref()
                .map(|roles| Roles::parse(roles, "roles"))
                .transpose()
                .into_graphql()?,
            active: input.active,
        };
        let db = ctx.data::<DatabaseConnection>()?;
        let txn = crate::db::write(db)
            .await
            .map_err(AppError::from)
            .into_graphql()?;
        let Some((before, after)) = store::update_staff(&txn, id, &change)
            .await
            .into_graphql()?
        else {
            return Err(AppError::NotFound("the staff member")).into_graphql();
        };
        audit::record(
            &txn,
            AuditEntry::staff_updated(actor, id, before.audit_state(), after.audit_state()),
        )
        .await
        .into_graphql()?;
        txn.commit().await.map_err(AppError::from).into_graphql()?;
        ctx.data::<Arc<Viewers>>()?.changed();
        Ok(StaffMember(after))
    }
}

/// Creates an account and its audit event together; `actor` is `None` for
/// the command line.
pub async fn create_staff(
    db: &DatabaseConnection,
    new: &NewStaff,
    actor: Option<Uuid>,
) -> AppResult<StaffView> {
    let txn = crate::db::write(db).await?;
    let created = store::create_staff(&txn, new).await?;
    audit::record(
        &txn,
        AuditEntry::staff_created(actor, created.id, created.audit_state()),
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// A signed-in session's tokens.
pub struct AuthPayload {
    access_token: String,
    access_token_expires_at: DateTime<Utc>,
    refresh_token: String,
    staff: StaffView,
}

impl AuthPayload {
    fn new(
        ctx: &Context<'_>,
        staff: StaffView,
        session_id: Uuid,
        refresh_token: String,
    ) -> AppResult<Self> {
        let keys = ctx
            .data::<Arc<TokenKeys>>()
            .map_err(|_| AppError::Internal(anyhow::anyhow!("no token keys in the schema")))?;
        let (access_token, access_token_expires_at) =
            keys.issue(staff.id, session_id, crate::db::now())?;
        Ok(Self {
            access_token,
            access_token_expires_at,
            refresh_token,
            staff,
        })
    }
}

#[Object]
impl AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`. Lasts 15 minutes.
    async fn access_token(&self) -> &str {
        &self.access_token
    }

    async fn access_token_expires_at(&self) -> DateTime<Utc> {
        self.access_token_expires_at
    }

    /// Exchange with `refresh` for new tokens before the access token
    /// expires. Each refresh token works once; keep it secret.
    async fn refresh_token(&self) -> &str {
        &self.refresh_token
    }

    async fn staff(&self) -> StaffMember {
        StaffMember(self.staff.clone())
    }
}

/// A member of the partnership's staff.
pub struct StaffMember(pub StaffView);

#[Object]
impl StaffMember {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn display_name(&self) -> &str {
        &self.0.display_name
    }

    async fn roles(&self) -> Vec<Role> {
        self.0.roles.to_vec()
    }

    /// Inactive members cannot sign in, and their sessions have ended.
    async fn active(&self) -> bool {
        self.0.active
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
