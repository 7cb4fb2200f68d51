//! Password hashing: argon2id with OWASP's parameters, always off the async
//! threads, and never more at once than there are cores but one, so a flood
//! of login attempts queues here instead of starving residents' submissions.
//! Scoring a new password against the policy runs the same way.

use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use super::model::{NewPassword, PasswordOwner};
use crate::error::{AppError, AppResult};

/// OWASP's recommended argon2id parameters (19 MiB, 2 passes, 1 lane).
fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// Hashes and verifies passwords, a bounded number at a time.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
}

impl Default for Passwords {
    /// One hash at a time per core but one, so that however many sign-ins
    /// arrive, a core is left for everything else (on one core, one at a time).
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            permits: Arc::new(Semaphore::new(cores.saturating_sub(1).max(1))),
        }
    }
}

/// What checking a password found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Wrong,
    Right,
    /// Right, but hashed with other parameters than today's: store a new hash.
    RightButRehash,
}

impl Passwords {
    /// A new PHC string for `password`.
    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let password = password.to_owned();
        self.blocking(move || hash_now(&password)).await
    }

    /// Checks `password` against `stored`. With no stored hash (an unknown
    /// email), checks against a dummy so the answer takes as long either way.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> AppResult<Verdict> {
        let password = password.to_owned();
        let stored = stored.map(str::to_owned);
        self.blocking(move || {
            let dummy = dummy_hash()?;
            let known = stored.is_some();
            let phc = stored.as_deref().unwrap_or(dummy);
            let parsed = PasswordHash::new(phc)
                .map_err(|error| anyhow::anyhow!("a stored password hash is malformed: {error}"))?;
            let matches = argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(match (known && matches, needs_rehash(&parsed)) {
                (false, _) => Verdict::Wrong,
                (true, false) => Verdict::Right,
                (true, true) => Verdict::RightButRehash,
            })
        })
        .await
    }

    /// `password` checked against the policy for a new password. Scoring it
    /// takes milliseconds of CPU, so it runs off the async threads too.
    pub async fn parse_new(
        &self,
        password: &str,
        owner: PasswordOwner,
        field: &'static str,
    ) -> AppResult<NewPassword> {
        let password = password.to_owned();
        self.blocking(move || NewPassword::parse(&password, &owner, field))
            .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("the password semaphore closed")?;
        tokio::task::spawn_blocking(work)
            .await
            .context("password hashing panicked")?
    }
}

fn hash_now(password: &str) -> AppResult<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|error| anyhow::anyhow!("encoding a salt: {error}"))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| AppError::Internal(anyhow::anyhow!("hashing a password: {error}")))
}

/// Whether a stored hash was made with other parameters than today's.
fn needs_rehash(hash: &PasswordHash<'_>) -> bool {
    let current = Params::DEFAULT;
    let same = hash.algorithm.as_str() == "argon2id"
        && hash.version == Some(Version::V0x13.into())
        && Params::try_from(hash).is_ok_and(|params| {
            params.m_cost() == current.m_cost()
                && params.t_cost() == current.t_cost()
                && params.p_cost() == current.p_cost()
        });
    !same
}

/// A hash of a random password, made once, to verify against when the email
/// is unknown.
fn dummy_hash() -> AppResult<&'static str> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let mut random = [0u8; 24];
    getrandom::fill(&mut random).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    let hash = hash_now(&hex::encode(random))?;
    Ok(DUMMY.get_or_init(|| hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let passwords = Passwords::default();
        let hash = passwords.hash("plum kettle orbit 42").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            passwords
                .verify("plum kettle orbit 42", Some(&hash))
                .await
                .unwrap(),
            Verdict::Right
        );
        assert_eq!(
            passwords
                .verify("plum kettle orbit 43", Some(&hash))
                .await
                .unwrap(),
            Verdict::Wrong
        );
        assert_eq!(
            passwords
                .verify("plum kettle orbit 42", None)
                .await
                .unwrap(),
            Verdict::Wrong
        );
    }

    #[tokio::test]
    async fn a_hash_with_old_parameters_asks_to_be_rehashed() {
        let weaker = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let old = weaker
            .hash_password(b"plum kettle orbit 42", &salt)
            .unwrap()
            .to_string();
        let verdict = Passwords::default()
            .verify("plum kettle orbit 42", Some(&old))
            .await
            .unwrap();
        assert_eq!(verdict, Verdict::RightButRehash);
    }
}
