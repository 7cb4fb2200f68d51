//! Staff's database operations: accounts, sessions and refresh tokens, and
//! the signing secret.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DbErr, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, SqlErr,
};
use uuid::Uuid;

use super::entity::{refresh_token, setting, staff, staff_session};
use super::model::{DisplayName, Role, Roles, StaffEmail};
use super::token::{self, SESSION_IDLE_LIFETIME};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::ids::StaffId;

/// A staff member as the rest of hamlet sees one: never the password hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffView {
    pub id: StaffId,
    pub email: String,
    pub display_name: String,
    pub roles: Roles,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<staff::Model> for StaffView {
    type Error = AppError;

    /// Fails, and the failure is logged, when the stored roles name one
    /// hamlet does not know: never a silent guess at someone's rights.
    fn try_from(model: staff::Model) -> AppResult<Self> {
        Ok(Self {
            id: StaffId::from_uuid(model.id),
            roles: Roles::from_stored(&model.roles)?,
            email: model.email,
            display_name: model.display_name,
            active: model.active,
            created_at: model.created_at,
            updated_at: model.updated_at,
        })
    }
}

/// Rows as staff members; one with roles hamlet does not know fails them all.
fn views(rows: Vec<staff::Model>) -> AppResult<Vec<StaffView>> {
    rows.into_iter().map(StaffView::try_from).collect()
}

impl StaffView {
    /// What the audit log keeps of an account: no password, nothing free-form.
    pub fn audit_state(&self) -> serde_json::Value {
        serde_json::json!({
            "email": self.email,
            "displayName": self.display_name,
            "roles": self.roles.to_vec().iter().map(|role| role.as_str()).collect::<Vec<_>>(),
            "active": self.active,
        })
    }
}

/// A new account, parsed and with its password already hashed.
pub struct NewStaff {
    pub email: StaffEmail,
    pub display_name: DisplayName,
    pub roles: Roles,
    pub password_hash: String,
}

pub async fn create_staff(db: &impl ConnectionTrait, new: &NewStaff) -> AppResult<StaffView> {
    let now = db::now();
    let model = staff::Model {
        id: StaffId::new().uuid(),
        email: new.email.as_str().to_owned(),
        display_name: new.display_name.as_str().to_owned(),
        password_hash: new.password_hash.clone(),
        roles: new.roles.to_stored(),
        active: true,
        created_at: now,
        updated_at: now,
    };
    let inserted = staff::Entity::insert(staff::ActiveModel::from(model.clone()))
        .exec_without_returning(db)
        .await;
    match inserted {
        Ok(_) => model.try_into(),
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Err(
            AppError::Conflict("a staff member with this email already exists".into()),
        ),
        Err(error) => Err(error.into()),
    }
}

/// An account by email, with its password hash, for signing in.
pub async fn staff_for_login(
    db: &impl ConnectionTrait,
    email: &StaffEmail,
) -> AppResult<Option<staff::Model>> {
    Ok(staff::Entity::find()
        .filter(staff::Column::Email.eq(email.as_str()))
        .one(db)
        .await?)
}

pub async fn staff_with_hash(
    db: &impl ConnectionTrait,
    id: StaffId,
) -> AppResult<Option<staff::Model>> {
    Ok(staff::Entity::find_by_id(id.uuid()).one(db).await?)
}

pub async fn staff_by_id(db: &impl ConnectionTrait, id: StaffId) -> AppResult<Option<StaffView>> {
    staff_with_hash(db, id)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

pub async fn staff_by_ids(db: &impl ConnectionTrait, ids: &[StaffId]) -> AppResult<Vec<StaffView>> {
    views(
        staff::Entity::find()
            .filter(staff::Column::Id.is_in(ids.iter().map(|id| id.uuid())))
            .all(db)
            .await?,
    )
}

pub async fn staff_members(db: &impl ConnectionTrait) -> AppResult<Vec<StaffView>> {
    views(
        staff::Entity::find()
            .order_by_asc(staff::Column::DisplayName)
            .order_by_asc(staff::Column::Id)
            .all(db)
            .await?,
    )
}

/// A change to an account; `None` leaves a field as it is.
#[derive(Default)]
pub struct StaffChange {
    pub display_name: Option<DisplayName>,
    pub roles: Option<Roles>,
    pub active: Option<bool>,
}

/// Applies `change`. Refuses to leave the partnership without an active
/// admin, who alone could put things right.
pub async fn update_staff(
    db: &impl ConnectionTrait,
    id: StaffId,
    change: &StaffChange,
) -> AppResult<Option<(StaffView, StaffView)>> {
    let Some(before) = staff_by_id(db, id).await? else {
        return Ok(None);
    };
    let mut after = before.clone();
    if let Some(name) = &change.display_name {
        after.display_name = name.as_str().to_owned();
    }
    if let Some(roles) = &change.roles {
        after.roles = roles.clone();
    }
    if let Some(active) = change.active {
        after.active = active;
    }
    let was_admin = before.active && before.roles.contains(Role::Admin);
    let is_admin = after.active && after.roles.contains(Role::Admin);
    if was_admin && !is_admin && active_admins(db).await? <= 1 {
        return Err(AppError::Conflict(
            "this is the last active admin; make another admin first".into(),
        ));
    }
    after.updated_at = db::now();
    staff::Entity::update_many()
        .col_expr(
            staff::Column::DisplayName,
            Expr::value(after.display_name.clone()),
        )
        .col_expr(staff::Column::Roles, Expr::value(after.roles.to_stored()))
        .col_expr(staff::Column::Active, Expr::value(after.active))
        .col_expr(staff::Column::UpdatedAt, Expr::value(after.updated_at))
        .filter(staff::Column::Id.eq(id.uuid()))
        .exec(db)
        .await?;
    if !after.active {
        revoke_sessions(db, id, None).await?;
    }
    Ok(Some((before, after)))
}

async fn active_admins(db: &impl ConnectionTrait) -> AppResult<usize> {
    let active = staff::Entity::find()
        .filter(staff::Column::Active.eq(true))
        .all(db)
        .await?;
    Ok(views(active)?
        .iter()
        .filter(|member| member.roles.contains(Role::Admin))
        .count())
}

pub async fn set_password_hash(
    db: &impl ConnectionTrait,
    id: StaffId,
    hash: &str,
) -> AppResult<()> {
    staff::Entity::update_many()
        .col_expr(staff::Column::PasswordHash, Expr::value(hash.to_owned()))
        .col_expr(staff::Column::UpdatedAt, Expr::value(db::now()))
        .filter(staff::Column::Id.eq(id.uuid()))
        .exec(db)
        .await?;
    Ok(())
}

/// A new session for `staff_id`, and its first refresh token.
pub async fn start_session(
    db: &impl ConnectionTrait,
    staff_id: StaffId,
) -> AppResult<(Uuid, String)> {
    let now = db::now();
    let id = Uuid::now_v7();
    staff_session::Entity::insert(staff_session::ActiveModel {
        id: Set(id),
        staff_id: Set(staff_id.uuid()),
        created_at: Set(now),
        expires_at: Set(now + SESSION_IDLE_LIFETIME),
        revoked_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    let token = insert_refresh_token(db, id, now).await?;
    Ok((id, token))
}

async fn insert_refresh_token(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let token = token::new_refresh_token()?;
    refresh_token::Entity::insert(refresh_token::ActiveModel {
        token_hash: Set(token::refresh_token_hash(&token)),
        session_id: Set(session_id),
        created_at: Set(now),
        used_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(token)
}

/// What presenting a refresh token led to.
pub enum Refreshed {
    /// The session goes on with a new token.
    Renewed {
        staff: StaffView,
        session_id: Uuid,
        refresh_token: String,
    },
    /// The token is unknown, or its session is over.
    Refused,
    /// The token was used before: someone holds a copy. The whole session,
    /// every token descended from the same login, is now revoked.
    Reused,
}

/// Exchanges a refresh token for a new one. Run it in a transaction: the
/// revocation on reuse must commit even though the caller is refused.
pub async fn refresh(db: &impl ConnectionTrait, presented: &str) -> AppResult<Refreshed> {
    let hash = token::refresh_token_hash(presented);
    let now = db::now();
    // Write before reading, so that on SQLite the transaction takes the write
    // lock at once; and mark the token used only if it was unused, so that two
    // concurrent refreshes with one token are a detected reuse, not two
    // sessions.
    let marked = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::TokenHash.eq(hash.clone()))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    let Some(row) = refresh_token::Entity::find_by_id(hash).one(db).await? else {
        return Ok(Refreshed::Refused);
    };
    if marked.rows_affected == 0 {
        revoke_session(db, row.session_id).await?;
        return Ok(Refreshed::Reused);
    }
    let Some(session) = live_session(db, row.session_id, now).await? else {
        return Ok(Refreshed::Refused);
    };
    let Some(staff) = staff_by_id(db, StaffId::from_uuid(session.staff_id)).await? else {
        return Ok(Refreshed::Refused);
    };
    if !staff.active {
        return Ok(Refreshed::Refused);
    }
    staff_session::Entity::update_many()
        .col_expr(
            staff_session::Column::ExpiresAt,
            Expr::value(now + SESSION_IDLE_LIFETIME),
        )
        .filter(staff_session::Column::Id.eq(session.id))
        .exec(db)
        .await?;
    let refresh_token = insert_refresh_token(db, session.id, now).await?;
    Ok(Refreshed::Renewed {
        staff,
        session_id: session.id,
        refresh_token,
    })
}

async fn live_session(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Option<staff_session::Model>> {
    Ok(staff_session::Entity::find_by_id(id)
        .filter(staff_session::Column::RevokedAt.is_null())
        .filter(staff_session::Column::ExpiresAt.gt(now))
        .one(db)
        .await?)
}

/// Ends the session a refresh token belongs to. Unknown tokens are ignored.
pub async fn end_session_of(db: &impl ConnectionTrait, presented: &str) -> AppResult<()> {
    let hash = token::refresh_token_hash(presented);
    if let Some(row) = refresh_token::Entity::find_by_id(hash).one(db).await? {
        revoke_session(db, row.session_id).await?;
    }
    Ok(())
}

pub async fn revoke_session(db: &impl ConnectionTrait, id: Uuid) -> AppResult<()> {
    staff_session::Entity::update_many()
        .col_expr(staff_session::Column::RevokedAt, Expr::value(db::now()))
        .filter(staff_session::Column::Id.eq(id))
        .filter(staff_session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of a staff member, but `except` one.
pub async fn revoke_sessions(
    db: &impl ConnectionTrait,
    staff_id: StaffId,
    except: Option<Uuid>,
) -> AppResult<()> {
    let mut update = staff_session::Entity::update_many()
        .col_expr(staff_session::Column::RevokedAt, Expr::value(db::now()))
        .filter(staff_session::Column::StaffId.eq(staff_id.uuid()))
        .filter(staff_session::Column::RevokedAt.is_null());
    if let Some(except) = except {
        update = update.filter(staff_session::Column::Id.ne(except));
    }
    update.exec(db).await?;
    Ok(())
}

/// The active staff member behind an access token, if the session it names
/// is still live. Called on every staff request.
pub async fn viewer(
    db: &impl ConnectionTrait,
    staff_id: StaffId,
    session_id: Uuid,
) -> AppResult<Option<StaffView>> {
    // One statement: this runs on every staff request.
    let live_session = Query::select()
        .expr(Expr::val(1))
        .from(staff_session::Entity)
        .and_where(staff_session::Column::Id.eq(session_id))
        .and_where(staff_session::Column::StaffId.eq(staff_id.uuid()))
        .and_where(staff_session::Column::RevokedAt.is_null())
        .and_where(staff_session::Column::ExpiresAt.gt(db::now()))
        .to_owned();
    staff::Entity::find_by_id(staff_id.uuid())
        .filter(staff::Column::Active.eq(true))
        .filter(Expr::exists(live_session))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

const SIGNING_SECRET: &str = "jwt_secret";

/// The token-signing secret kept in the database, made on first use. Two
/// processes starting together agree on one: the first insert wins.
pub async fn signing_secret(db: &impl ConnectionTrait) -> AppResult<String> {
    let insert = setting::Entity::insert(setting::ActiveModel {
        key: Set(SIGNING_SECRET.to_owned()),
        value: Set(token::new_secret()?),
    })
    .on_conflict(
        OnConflict::column(setting::Column::Key)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await;
    match insert {
        Ok(_) | Err(DbErr::RecordNotInserted) => {}
        Err(error) => return Err(error.into()),
    }
    setting::Entity::find_by_id(SIGNING_SECRET.to_owned())
        .one(db)
        .await?
        .map(|row| row.value)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the signing secret vanished")))
}
