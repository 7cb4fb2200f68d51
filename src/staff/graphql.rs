//! Staff's GraphQL face: signing in and out, the signed-in member, and the
//! admin's management of accounts.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::actions::{self, SignInLimits, SignedIn};
use super::model::{DisplayName, PasswordOwner, Role, Roles, StaffEmail};
use super::password::Passwords;
use super::store::{self, NewStaff, StaffChange, StaffView};
use super::throttle::LoginThrottle;
use super::token::TokenKeys;
use crate::auth::{Client, RoleGuard, Viewers, viewer};
use crate::error::{AppError, AppResult};
use crate::ids::StaffId;
use crate::rate_limit::RateLimiter;

/// The login rate limit (`HAMLET_LOGIN_PER_MINUTE`), per address and per email.
pub struct LoginLimit(pub RateLimiter);

/// Signed-in staff and, for admins, every account.
#[derive(Default)]
pub struct StaffQuery;

#[Object]
impl StaffQuery {
    /// The signed-in staff member. Like every staff field, it answers
    /// UNAUTHENTICATED (not null) without a signed-in staff member.
    #[graphql(guard = "RoleGuard::STAFF")]
    async fn me(&self, ctx: &Context<'_>) -> AppResult<Option<StaffMember>> {
        Ok(Some(StaffMember(viewer(ctx)?.staff.clone())))
    }

    /// Every staff account, by name. ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn staff_members(&self, ctx: &Context<'_>) -> AppResult<Vec<StaffMember>> {
        store::staff_members(ctx.data::<DatabaseConnection>()?)
            .await
            .map(|members| members.into_iter().map(StaffMember).collect())
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
    ) -> AppResult<AuthPayload> {
        let limits = SignInLimits {
            per_minute: &ctx.data::<LoginLimit>()?.0,
            throttle: ctx.data::<LoginThrottle>()?,
        };
        let signed_in = actions::sign_in(
            ctx.data::<DatabaseConnection>()?,
            ctx.data::<Passwords>()?,
            limits,
            &email,
            &password,
            ctx.data::<Client>()?.address,
        )
        .await?;
        AuthPayload::new(ctx, signed_in)
    }

    /// Exchanges a refresh token for a new access token and a new refresh
    /// token; the old refresh token stops working. Presenting a refresh token
    /// a second time ends its session everywhere, since only a stolen copy
    /// would be presented twice.
    async fn refresh(&self, ctx: &Context<'_>, refresh_token: String) -> AppResult<AuthPayload> {
        let signed_in = actions::refresh(
            ctx.data::<DatabaseConnection>()?,
            ctx.data::<Arc<Viewers>>()?,
            &refresh_token,
        )
        .await?;
        AuthPayload::new(ctx, signed_in)
    }

    /// Ends the session the refresh token belongs to: its access tokens stop
    /// working at once. Always `true`, so it reveals nothing about the token.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> AppResult<bool> {
        actions::sign_out(
            ctx.data::<DatabaseConnection>()?,
            ctx.data::<Arc<Viewers>>()?,
            &refresh_token,
        )
        .await?;
        Ok(true)
    }

    /// Changes the signed-in member's password and ends their other sessions.
    #[graphql(guard = "RoleGuard::STAFF")]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> AppResult<bool> {
        let viewer = viewer(ctx)?;
        ctx.data::<LoginLimit>()?
            .0
            .allow(&format!("password-change:{}", viewer.id()), 1)
            .await
            .map_err(|retry_after_seconds| AppError::RateLimited {
                retry_after_seconds,
            })?;
        actions::change_password(
            ctx.data::<DatabaseConnection>()?,
            ctx.data::<Passwords>()?,
            ctx.data::<Arc<Viewers>>()?,
            (viewer.id(), viewer.session_id),
            &current_password,
            &new_password,
        )
        .await?;
        Ok(true)
    }

    /// Creates a staff account. ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn create_staff(
        &self,
        ctx: &Context<'_>,
        input: CreateStaffInput,
    ) -> AppResult<StaffMember> {
        let actor = viewer(ctx)?.id();
        let email = StaffEmail::parse(&input.email, "email")?;
        let display_name = DisplayName::parse(&input.display_name, "displayName")?;
        let roles = Roles::parse(&input.roles, "roles")?;
        let owner = PasswordOwner {
            email: Some(email.clone()),
            display_name: Some(display_name.clone()),
        };
        let passwords = ctx.data::<Passwords>()?;
        let password = passwords
            .parse_new(&input.password, owner, "password")
            .await?;
        let password_hash = passwords.hash(password.expose()).await?;
        let new = NewStaff {
            email,
            display_name,
            roles,
            password_hash,
        };
        actions::create_staff(ctx.data::<DatabaseConnection>()?, &new, Some(actor))
            .await
            .map(StaffMember)
    }

    /// Changes a staff account's name, roles or active flag. Deactivation
    /// and demotion act on the member's next request. The last active admin
    /// cannot be demoted or deactivated (`CONFLICT`). ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn update_staff(
        &self,
        ctx: &Context<'_>,
        input: UpdateStaffInput,
    ) -> AppResult<StaffMember> {
        let actor = viewer(ctx)?.id();
        let id = StaffId::parse(&input.id, "id")?;
        let change = StaffChange {
            display_name: input
                .display_name
                .as_deref()
                .map(|name| DisplayName::parse(name, "displayName"))
                .transpose()?,
            roles: input
                .roles
                .as_deref()
                .map(|roles| Roles::parse(roles, "roles"))
                .transpose()?,
            active: input.active,
        };
        actions::update_staff(
            ctx.data::<DatabaseConnection>()?,
            ctx.data::<Arc<Viewers>>()?,
            actor,
            id,
            &change,
        )
        .await
        .and_then(|staff| staff.ok_or(AppError::NotFound("the staff member")))
        .map(StaffMember)
    }
}

/// A signed-in session's tokens.
pub struct AuthPayload {
    access_token: String,
    access_token_expires_at: DateTime<Utc>,
    refresh_token: String,
    staff: StaffView,
}

impl AuthPayload {
    fn new(ctx: &Context<'_>, signed_in: SignedIn) -> AppResult<Self> {
        let SignedIn {
            staff,
            session_id,
            refresh_token,
        } = signed_in;
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
        self.0.id.into()
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
