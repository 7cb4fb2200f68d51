//! Fills a migrated, seeded database with realistic feedback, fast.
//!
//! Everything that knows the `feedback` table's columns is in [`fill`]: when
//! a migration adds a column, this is the one place to change. The column
//! list is written out in the SQL, so a new nullable column (or one with a
//! default) needs no change at all.
//!
//! "Realistic" means shaped like a year or two of Friends and Family Test
//! answers at a busy partnership:
//! - received over the last two years, mostly in the day and evening;
//! - spread over the seeded services, busiest at the emergency department and
//!   GP practices;
//! - ratings skewed positive as national FFT results are (about 85% good or
//!   very good);
//! - about 40% with a comment, a few of those with personal data in them
//!   (flagged as the server would flag them) and a very few that raise a
//!   safeguarding concern;
//! - old feedback mostly closed or actioned, recent feedback mostly new, with
//!   a small backlog of old feedback never triaged;
//! - channels mixed (web, kiosk, mobile, paper, phone); kiosk answers carry a
//!   kiosk id, except a few from kiosks the data does not know;
//! - some English, some Bengali; a few with contact details.
//!
//! Rows go in with multi-row `INSERT`s inside large transactions, in time
//! order (so ids, which are UUIDv7 made from `received_at`, arrive in index
//! order).

use std::collections::HashSet;
use std::time::Instant;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Duration, SubsecRound as _, Timelike as _, Utc};
use hamlet::submissions::reference::{Reference, ReferenceKind};
use sea_orm::{
    ConnectionTrait as _, DatabaseConnection, DbBackend, Statement, TransactionTrait as _, Value,
};
use uuid::{NoContext, Timestamp, Uuid};

/// What [`fill`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FillReport {
    pub rows: u64,
    pub seconds: f64,
    pub services: usize,
    pub kiosks: usize,
    /// Rows inserted with status NEW for the queue workload's service.
    pub new_for_queue_service: u64,
}

/// Relative feedback volume by service slug; unlisted services weigh 1.
const SERVICE_WEIGHTS: &[(&str, u32)] = &[
    ("royal-london-emergency-department", 6),
    ("gp-practices", 5),
    ("royal-london-maternity", 3),
    ("community-pharmacies", 3),
    ("mile-end-hospital-outpatients-rehabilitation", 2),
    ("gp-extended-hours-hubs", 2),
];

/// Ratings as stored, with weights per thousand (roughly national FFT shares).
const RATINGS: &[(&str, u32)] = &[
    ("VERY_GOOD", 690),
    ("GOOD", 160),
    ("NEITHER_GOOD_NOR_POOR", 45),
    ("POOR", 35),
    ("VERY_POOR", 45),
    ("DONT_KNOW", 25),
];

/// Channels as stored, with weights per thousand.
const CHANNELS: &[(&str, u32)] = &[
    ("WEB", 400),
    ("KIOSK", 350),
    ("MOBILE", 120),
    ("PAPER", 80),
    ("PHONE", 50),
];

const PRAISE: &[&str] = &[
    "Seen quickly and the nurse was very kind.",
    "Staff explained everything clearly and listened to me.",
    "The receptionist was helpful and friendly, thank you.",
    "Very clean, well organised and the doctor took time with my mum.",
    "Excellent care from start to finish. Thank you to the whole team.",
    "The midwives were wonderful, I felt safe and supported.",
    "Got an appointment the same day, which I did not expect.",
    "The pharmacist sorted my prescription and explained the side effects.",
];
const MIXED: &[&str] = &[
    "Care was good but the wait was nearly four hours.",
    "Nice staff, but nobody told us what was happening.",
    "OK overall. Parking was impossible and the signs are confusing.",
    "Hard to get through on the phone in the morning.",
];
const COMPLAINT: &[&str] = &[
    "Waited six hours with a child in pain and nobody checked on us.",
    "I was sent home without an explanation and had to come back the next day.",
    "The interpreter never came so I could not understand the doctor.",
    "Appointment cancelled twice by text with no new date.",
    "Rude on the phone and the letter had the wrong address.",
];
const BENGALI: &[&str] = &[
    "খুব ভালো সেবা, ধন্যবাদ।",
    "ডাক্তার খুব যত্ন নিয়েছেন।",
    "অনেকক্ষণ অপেক্ষা করতে হয়েছে।",
];
/// Comments with personal data in them, and the flags the server's scan gives
/// them (checked against `hamlet::privacy` in the tests).
const WITH_PERSONAL_DATA: &[(&str, &str)] = &[
    (
        "Please call me back on 07700 900123 about my dad's appointment.",
        "PHONE",
    ),
    (
        "You can email me at ada.resident@example.org if you need more detail.",
        "EMAIL",
    ),
    (
        "My NHS number is 943 476 5919, the letter went to the wrong address.",
        "NHS_NUMBER",
    ),
    (
        "Nobody came to E1 4DG for the home visit. Ring 020 7946 0018.",
        "PHONE,POSTCODE",
    ),
];
/// Comments that suggest someone may be at risk (checked in the tests).
const SAFEGUARDING: &[&str] = &[
    "I am worried my elderly neighbour is being neglected by her carers.",
    "My daughter has been self-harming and we could not get help.",
];

/// Inserts `rows` feedback rows into a migrated, seeded database. `seed`
/// makes the data reproducible (except ids and references, which need only be
/// unique); `queue_service` is the slug whose NEW rows are counted for the
/// report.
pub async fn fill(
    db: &DatabaseConnection,
    rows: u64,
    seed: u64,
    queue_service: &str,
) -> anyhow::Result<FillReport> {
    let started = Instant::now();
    let backend = db.get_database_backend();

    let mut services: Vec<(Uuid, u32, bool)> = Vec::new();
    for row in db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, slug FROM service ORDER BY slug",
        ))
        .await?
    {
        let id: Uuid = row.try_get("", "id")?;
        let slug: String = row.try_get("", "slug")?;
        let weight = SERVICE_WEIGHTS
            .iter()
            .find(|(known, _)| *known == slug)
            .map_or(1, |(_, weight)| *weight);
        services.push((id, weight, slug == queue_service));
    }
    if services.is_empty() {
        bail!("the database has no services: seed it before filling");
    }
    let service_weights: Vec<u32> = services.iter().map(|(_, weight, _)| *weight).collect();
    let kiosks: Vec<Uuid> = db
        .query_all_raw(Statement::from_string(backend, "SELECT id FROM kiosk"))
        .await?
        .iter()
        .map(|row| row.try_get("", "id"))
        .collect::<Result<_, _>>()?;

    if backend == DbBackend::Sqlite {
        // Setup, not measurement: this connection may skip the per-commit sync
        // and use a big page cache. The server opens its own connections with
        // its own settings.
        db.execute_unprepared("PRAGMA synchronous = OFF").await?;
        db.execute_unprepared("PRAGMA cache_size = -262144").await?;
    }

    // splitmix64: fast, good enough for picking test data, and seedable.
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let pick = |weights: &[u32], random: u64| -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut target = random % total.max(1);
        for (index, weight) in weights.iter().enumerate() {
            let weight = u64::from(*weight);
            if target < weight {
                return index;
            }
            target -= weight;
        }
        weights.len().saturating_sub(1)
    };
    let rating_weights: Vec<u32> = RATINGS.iter().map(|(_, w)| *w).collect();
    let channel_weights: Vec<u32> = CHANNELS.iter().map(|(_, w)| *w).collect();

    // Received times: a day in the last two years, a time of day weighted to
    // opening hours, then sorted so rows go in in time (and id) order.
    let now = Utc::now().trunc_subsecs(6);
    let span_days: u64 = 730;
    let hour_weights: [u32; 24] = [
        1, 1, 1, 1, 1, 2, 3, 6, 9, 12, 13, 13, 12, 12, 12, 11, 11, 10, 9, 8, 6, 4, 3, 2,
    ];
    let mut received: Vec<DateTime<Utc>> = Vec::with_capacity(usize::try_from(rows)?);
    for _ in 0..rows {
        let day = next() % span_days;
        let hour = pick(&hour_weights, next()) as u64;
        let micros_in_hour = next() % 3_600_000_000;
        let micros_ago = day * 86_400_000_000 + micros_in_hour;
        let mut at = now - Duration::microseconds(i64::try_from(micros_ago)?);
        // Move it to the chosen hour on the same day.
        let hour_now = u64::from(at.hour());
        at += Duration::hours(i64::try_from(hour)? - i64::try_from(hour_now)?);
        if at >= now {
            at -= Duration::days(1);
        }
        received.push(at);
    }
    received.sort_unstable();

    // References are random; among a million, a few clashes are expected, and
    // the table's unique index would refuse the whole batch.
    let mut references: HashSet<String> = HashSet::with_capacity(received.len());

    const COLUMNS: &str = "id, reference, service_id, rating, comment, pii_flags, channel, \
         locale, kiosk_id, status, safeguarding, contact_name, contact_email, contact_phone, \
         version, captured_at, received_at, updated_at";
    const COLUMN_COUNT: usize = 18;
    // 1000 rows is 18,000 parameters: under SQLite's 32,766 and PostgreSQL's
    // 65,535 limits, and large enough that per-statement overhead vanishes.
    const ROWS_PER_INSERT: usize = 1000;
    const INSERTS_PER_TRANSACTION: usize = 50;
    let insert_sql = |row_count: usize| {
        let mut sql = format!("INSERT INTO feedback ({COLUMNS}) VALUES ");
        let mut parameter = 0;
        for row in 0..row_count {
            if row > 0 {
                sql.push(',');
            }
            sql.push('(');
            for column in 0..COLUMN_COUNT {
                if column > 0 {
                    sql.push(',');
                }
                parameter += 1;
                match backend {
                    DbBackend::Postgres => sql.push_str(&format!("${parameter}")),
                    _ => sql.push('?'),
                }
            }
            sql.push(')');
        }
        sql
    };
    let full_insert = insert_sql(ROWS_PER_INSERT);

    let mut new_for_queue_service = 0;
    for transaction_rows in received.chunks(ROWS_PER_INSERT * INSERTS_PER_TRANSACTION) {
        let transaction = db.begin().await?;
        for insert_rows in transaction_rows.chunks(ROWS_PER_INSERT) {
            let mut values: Vec<Value> = Vec::with_capacity(insert_rows.len() * COLUMN_COUNT);
            for &received_at in insert_rows {
                let age_days = (now - received_at).num_days();
                let id = Uuid::new_v7(Timestamp::from_unix(
                    NoContext,
                    u64::try_from(received_at.timestamp())?,
                    received_at.timestamp_subsec_nanos(),
                ));
                let reference = loop {
                    let candidate =
                        Reference::from_random(ReferenceKind::Feedback, next()).to_string();
                    if references.insert(candidate.clone()) {
                        break candidate;
                    }
                };
                let service = pick(&service_weights, next());
                let rating = RATINGS[pick(&rating_weights, next())].0;
                let channel = CHANNELS[pick(&channel_weights, next())].0;
                let bengali = next() % 100 < 6;

                let roll = next() % 1000;
                let (comment, pii_flags, safeguarding) = if roll < 3 {
                    let text = SAFEGUARDING[(next() % SAFEGUARDING.len() as u64) as usize];
                    (Some(text.to_owned()), "", true)
                } else if roll < 15 {
                    let (text, flags) =
                        WITH_PERSONAL_DATA[(next() % WITH_PERSONAL_DATA.len() as u64) as usize];
                    (Some(text.to_owned()), flags, false)
                } else if roll < 400 {
                    let pool = if bengali {
                        BENGALI
                    } else {
                        match rating {
                            "VERY_GOOD" | "GOOD" => PRAISE,
                            "NEITHER_GOOD_NOR_POOR" | "DONT_KNOW" => MIXED,
                            _ => COMPLAINT,
                        }
                    };
                    let text = pool[(next() % pool.len() as u64) as usize];
                    (Some(text.to_owned()), "", false)
                } else {
                    (None, "", false)
                };

                let kiosk_id = if channel == "KIOSK" && !kiosks.is_empty() && next() % 100 >= 5 {
                    Some(kiosks[(next() % kiosks.len() as u64) as usize])
                } else {
                    None
                };
                // Status by age: per thousand, NEW / IN_REVIEW / ACTIONED / CLOSED / SPAM.
                let status_weights: [u32; 5] = match age_days {
                    0..14 => [850, 120, 20, 0, 10],
                    14..60 => [150, 150, 300, 380, 20],
                    _ => [10, 5, 270, 695, 20],
                };
                let status = ["NEW", "IN_REVIEW", "ACTIONED", "CLOSED", "SPAM"]
                    [pick(&status_weights, next())];
                if status == "NEW" && services[service].2 {
                    new_for_queue_service += 1;
                }
                let with_contact = next() % 100 < 8;
                let contact_name = with_contact.then(|| "A Resident".to_owned());
                let contact_email =
                    with_contact.then(|| format!("resident{}@example.org", next() % 100_000));
                let contact_phone =
                    (with_contact && next() % 3 == 0).then(|| "07700 900456".to_owned());
                // Each moderation step bumps the version and the update time.
                let (version, updated_at) = if status == "NEW" {
                    (1, received_at)
                } else {
                    let later = received_at
                        + Duration::minutes(i64::try_from(30 + next() % (14 * 24 * 60))?);
                    (2 + i32::from(status == "CLOSED"), later.min(now))
                };
                // Kiosks and paper forms are filled in before they reach us.
                let captured_at = match channel {
                    "KIOSK" => Some(received_at - Duration::seconds(i64::try_from(next() % 120)?)),
                    "PAPER" => Some(received_at - Duration::hours(i64::try_from(1 + next() % 96)?)),
                    _ => None,
                };

                values.extend([
                    Value::from(id),
                    Value::from(reference),
                    Value::from(services[service].0),
                    Value::from(rating.to_owned()),
                    Value::from(comment),
                    Value::from(pii_flags.to_owned()),
                    Value::from(channel.to_owned()),
                    Value::from(if bengali { "bn" } else { "en" }.to_owned()),
                    Value::from(kiosk_id),
                    Value::from(status.to_owned()),
                    Value::from(safeguarding),
                    Value::from(contact_name),
                    Value::from(contact_email),
                    Value::from(contact_phone),
                    Value::from(version),
                    Value::from(captured_at),
                    Value::from(received_at),
                    Value::from(updated_at),
                ]);
            }
            let sql = if insert_rows.len() == ROWS_PER_INSERT {
                full_insert.clone()
            } else {
                insert_sql(insert_rows.len())
            };
            transaction
                .execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await
                .context("inserting feedback")?;
        }
        transaction.commit().await?;
    }
    // The queue's personal-data band (migration 18), set as the server
    // would set it. A build from before that migration has no such column:
    // the statement fails there and the fill stands as it is, so the bench
    // drives older builds too (for before-and-after figures).
    if db
        .execute_unprepared("UPDATE feedback SET personal_data = (pii_flags <> '')")
        .await
        .is_err()
    {
        eprintln!("this build has no personal_data column; the fill leaves it out");
    }

    match backend {
        // The fill wrote far more than the WAL normally holds: fold it into
        // the database so the server starts as it would on a settled file.
        DbBackend::Sqlite => {
            db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await?;
        }
        // Autovacuum would analyze the new rows within a minute or so anyway;
        // doing it now keeps the plans from changing mid-run.
        DbBackend::Postgres => {
            db.execute_unprepared("VACUUM ANALYZE feedback").await?;
        }
        _ => {}
    }

    Ok(FillReport {
        rows,
        seconds: started.elapsed().as_secs_f64(),
        services: services.len(),
        kiosks: kiosks.len(),
        new_for_queue_service,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_with_personal_data_carry_the_flags_the_server_would_give() {
        for (text, flags) in WITH_PERSONAL_DATA {
            assert_eq!(hamlet::privacy::kinds(text).to_stored(), *flags, "{text}");
        }
        for text in PRAISE.iter().chain(MIXED).chain(COMPLAINT).chain(BENGALI) {
            assert!(hamlet::privacy::kinds(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn safeguarding_comments_are_the_ones_the_server_would_mark() {
        for text in SAFEGUARDING {
            assert!(hamlet::privacy::suggests_risk(text), "{text}");
        }
        for text in PRAISE.iter().chain(MIXED).chain(COMPLAINT) {
            assert!(!hamlet::privacy::suggests_risk(text), "{text}");
        }
        for (text, _) in WITH_PERSONAL_DATA {
            assert!(!hamlet::privacy::suggests_risk(text), "{text}");
        }
    }
}
