//! What staff (and admins for them) do to accounts and sessions, each a whole
//! operation: signing in, refreshing, changing a password, creating and
//! changing accounts. Every write runs in one transaction with its audit
//! event ([`crate::db::transaction`]). The GraphQL resolvers, the command line
//! and the tests call these; none opens a transaction itself.

use std::net::IpAddr;

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::model::{DisplayName, PasswordOwner, StaffEmail};
use super::password::{Passwords, Verdict};
use super::store::{self, NewStaff, Refreshed, StaffChange, StaffView};
use super::throttle::LoginThrottle;
use crate::audit::{self, AuditEntry};
use crate::auth::Viewers;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::ids::StaffId;
use crate::rate_limit::RateLimiter;

/// A new session: who, its id and its first refresh token.
pub struct SignedIn {
    pub staff: StaffView,
    pub session_id: Uuid,
    pub refresh_token: String,
}

/// What sign-in needs besides the database: the limits it keeps.
pub struct SignInLimits<'a> {
    /// `HAMLET_LOGIN_PER_MINUTE`, per address and per email.
    pub per_minute: &'a RateLimiter,
    /// The growing wait after a run of failures.
    pub throttle: &'a LoginThrottle,
}

/// Signs a staff member in with `email` and `password` from `address`. A
/// wrong email and a wrong password get the same answer, `UNAUTHENTICATED`,
/// in about the same time (the password is checked against a stand-in hash
/// when there is no account). Attempts are limited per address and per
/// email, per minute and, after a run of failures, by a wait that doubles
/// with each further failure; a success ends the run.
pub async fn sign_in(
    db: &DatabaseConnection,
    passwords: &Passwords,
    limits: SignInLimits<'_>,
    email: &str,
    password: &str,
    address: IpAddr,
) -> AppResult<SignedIn> {
    let email = StaffEmail::parse(email, "email").ok();
    let email_key = email.as_ref().map_or("", StaffEmail::as_str);
    if let Some(retry_after_seconds) = limits.throttle.wait(email_key, address) {
        return Err(AppError::RateLimited {
            retry_after_seconds,
        });
    }
    // Both allowances are spent, so guessing many emails from one address
    // and one email from many addresses are both slowed.
    let by_address = limits
        .per_minute
        .allow(&format!("login-ip:{address}"), 1)
        .await;
    let by_email = limits
        .per_minute
        .allow(&format!("login-email:{email_key}"), 1)
        .await;
    if let Err(retry_after_seconds) = by_address.and(by_email) {
        return Err(AppError::RateLimited {
            retry_after_seconds,
        });
    }
    let account = match &email {
        Some(email) => store::staff_for_login(db, email).await?,
        None => None,
    };
    let verdict = passwords
        .verify(
            password,
            account
                .as_ref()
                .map(|account| account.password_hash.as_str()),
        )
        .await?;
    let Some(account) = account.filter(|account| account.active && verdict != Verdict::Wrong)
    else {
        limits.throttle.failed(email_key, address);
        tracing::info!("a staff sign-in was refused");
        return Err(AppError::Unauthenticated);
    };
    limits.throttle.succeeded(email_key, address);
    let staff = StaffView::try_from(account)?;
    if verdict == Verdict::RightButRehash {
        let hash = passwords.hash(password).await?;
        store::set_password_hash(db, staff.id, &hash).await?;
    }
    let (session_id, refresh_token) =
        db::transaction(db, |txn, _| Box::pin(store::start_session(txn, staff.id))).await?;
    tracing::info!(staff = %staff.id, "staff signed in");
    Ok(SignedIn {
        staff,
        session_id,
        refresh_token,
    })
}

/// Exchanges a refresh token for a new one (see [`store::refresh`]); a
/// token presented a second time ends its session everywhere.
pub async fn refresh(
    db: &DatabaseConnection,
    viewers: &Viewers,
    presented: &str,
) -> AppResult<SignedIn> {
    // The revocation on reuse commits even though the caller is refused.
    let outcome = db::transaction(db, |txn, _| Box::pin(store::refresh(txn, presented))).await?;
    match outcome {
        Refreshed::Renewed {
            staff,
            session_id,
            refresh_token,
        } => Ok(SignedIn {
            staff,
            session_id,
            refresh_token,
        }),
        Refreshed::Refused => Err(AppError::Unauthenticated),
        Refreshed::Reused => {
            tracing::warn!("a used refresh token was presented again; its session is revoked");
            viewers.changed();
            Err(AppError::Unauthenticated)
        }
    }
}

/// Ends the session a refresh token belongs to; unknown tokens are ignored.
pub async fn sign_out(
    db: &DatabaseConnection,
    viewers: &Viewers,
    presented: &str,
) -> AppResult<()> {
    store::end_session_of(db, presented).await?;
    viewers.changed();
    Ok(())
}

/// Changes `staff`'s password, after checking their current one, and ends
/// every other session of theirs (`keep` is the one they are using).
pub async fn change_password(
    db: &DatabaseConnection,
    passwords: &Passwords,
    viewers: &Viewers,
    (staff, keep): (StaffId, Uuid),
    current: &str,
    new: &str,
) -> AppResult<()> {
    let account = store::staff_with_hash(db, staff)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if passwords
        .verify(current, Some(&account.password_hash))
        .await?
        == Verdict::Wrong
    {
        return Err(AppError::bad_input(
            "currentPassword",
            "is not your current password",
        ));
    }
    let owner = PasswordOwner {
        email: StaffEmail::parse(&account.email, "email").ok(),
        display_name: DisplayName::parse(&account.display_name, "displayName").ok(),
    };
    let new = passwords.parse_new(new, owner, "newPassword").await?;
    if new.expose() == current {
        return Err(AppError::bad_input(
            "newPassword",
            "must differ from the current one",
        ));
    }
    let hash = passwords.hash(new.expose()).await?;
    let hash = hash.as_str();
    db::transaction(db, |txn, _| {
        Box::pin(async move {
            store::set_password_hash(txn, staff, hash).await?;
            store::revoke_sessions(txn, staff, Some(keep)).await?;
            audit::record(txn, AuditEntry::password_changed(staff)).await
        })
    })
    .await?;
    viewers.changed();
    Ok(())
}

/// Creates an account and its audit event together; `actor` is `None` for
/// the command line.
pub async fn create_staff(
    db: &DatabaseConnection,
    new: &NewStaff,
    actor: Option<StaffId>,
) -> AppResult<StaffView> {
    db::transaction(db, |txn, _| {
        Box::pin(async move {
            let created = store::create_staff(txn, new).await?;
            audit::record(
                txn,
                AuditEntry::staff_created(actor, created.id, created.audit_state()),
            )
            .await?;
            Ok(created)
        })
    })
    .await
}

/// Changes an account's name, roles or active flag, with its audit event;
/// `None` when there is no such account. Deactivation and demotion act on
/// the member's next request.
pub async fn update_staff(
    db: &DatabaseConnection,
    viewers: &Viewers,
    actor: StaffId,
    id: StaffId,
    change: &StaffChange,
) -> AppResult<Option<StaffView>> {
    let updated = db::transaction(db, |txn, _| {
        Box::pin(async move {
            let Some((before, after)) = store::update_staff(txn, id, change).await? else {
                return Ok(None);
            };
            audit::record(
                txn,
                AuditEntry::staff_updated(actor, id, before.audit_state(), after.audit_state()),
            )
            .await?;
            Ok(Some(after))
        })
    })
    .await?;
    viewers.changed();
    Ok(updated)
}
