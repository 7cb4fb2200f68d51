//! `hamlet import feedback --csv FILE`: historic paper and spreadsheet
//! returns, and what `hamlet export` writes.
//!
//! Every row is checked first, with the rules the API applies to a
//! submission; one bad row and nothing is imported. Then all rows go in one
//! transaction, screened for personal data and safeguarding as submissions
//! are. Importing a file again adds nothing: a row with a `reference` that is
//! stored is skipped, and a row without one gets an idempotency key made
//! from what it says (kept in the same table as the API's keys), so a second
//! import finds the key and skips the row.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::IsTerminal as _;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SubsecRound as _, Utc};
use sea_orm::DatabaseConnection;
use sha2::{Digest as _, Sha256};
use uuid::{NoContext, Timestamp, Uuid};

use super::export::{LIST_SEPARATOR, unprotect};
use super::store::{self, ImportedFeedback};
use crate::audit::{self, AuditEntry};
use crate::content::model::Slug;
use crate::error::AppError;
use crate::locale::Locale;
use crate::moderation::model::Tag;
use crate::privacy::{self, PiiKind};
use crate::submissions::model::{
    Channel, FeedbackStatus, FftRating, FreeText, fingerprint, limits,
};
use crate::submissions::reference::{Reference, ReferenceKind};

/// How far ahead of our clock a date may be: the API allows kiosks the same.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// Rows checked against the database and written at a time.
const CHUNK: usize = 500;

/// What is wrong with one cell (or a whole row, or the header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// As a spreadsheet numbers rows: the header is row 1.
    pub row: u64,
    /// Empty when the fault is the row's, not one cell's.
    pub column: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            write!(f, "row {}: {}", self.row, self.reason)
        } else {
            write!(
                f,
                "row {}, column {}: {}",
                self.row, self.column, self.reason
            )
        }
    }
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Some rows broke the rules; nothing was imported.
    #[error("{} problem(s) in the file; nothing was imported", .0.len())]
    Rows(Vec<RowError>),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<AppError> for ImportError {
    fn from(error: AppError) -> Self {
        Self::Failed(error.into())
    }
}

impl From<sea_orm::DbErr> for ImportError {
    fn from(error: sea_orm::DbErr) -> Self {
        Self::Failed(error.into())
    }
}

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Data rows in the file.
    pub rows: u64,
    /// Rows stored now.
    pub imported: u64,
    /// Rows already stored by an earlier import (or submission).
    pub skipped: u64,
}

/// The columns a file may have, by name.
#[derive(Clone, Copy, Debug, Default)]
struct Columns {
    reference: Option<usize>,
    received_at: usize,
    captured_at: Option<usize>,
    service: usize,
    rating: usize,
    comment: Option<usize>,
    channel: Option<usize>,
    locale: Option<usize>,
    status: Option<usize>,
    safeguarding: Option<usize>,
    pii_flags: Option<usize>,
    tags: Option<usize>,
    count: usize,
}

/// The columns import reads; the first three are required.
const REQUIRED: [&str; 3] = ["service", "rating", "received_at"];

fn header_name(cell: &str) -> String {
    cell.trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .replace([' ', '-'], "_")
}

fn columns(header: &csv::StringRecord) -> Result<Columns, Vec<RowError>> {
    let mut found: HashMap<String, usize> = HashMap::new();
    let mut errors = Vec::new();
    let error = |column: &str, reason: String| RowError {
        row: 1,
        column: column.to_owned(),
        reason,
    };
    for (index, cell) in header.iter().enumerate() {
        let name = header_name(cell);
        if !super::export::COLUMNS.contains(&name.as_str()) {
            errors.push(error(
                cell,
                format!(
                    "is not a column hamlet reads; the columns are {}",
                    super::export::COLUMNS.join(", ")
                ),
            ));
        } else if found.insert(name.clone(), index).is_some() {
            errors.push(error(&name, "appears twice".to_owned()));
        }
    }
    for name in REQUIRED {
        if !found.contains_key(name) {
            errors.push(error(name, "is missing; it is required".to_owned()));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let get = |name: &str| found.get(name).copied();
    Ok(Columns {
        reference: get("reference"),
        received_at: get("received_at").unwrap_or_default(),
        captured_at: get("captured_at"),
        service: get("service").unwrap_or_default(),
        rating: get("rating").unwrap_or_default(),
        comment: get("comment"),
        channel: get("channel"),
        locale: get("locale"),
        status: get("status"),
        safeguarding: get("safeguarding"),
        pii_flags: get("pii_flags"),
        tags: get("tags"),
        count: header.len(),
    })
}

/// One row, checked.
#[derive(Clone, Debug)]
struct ParsedRow {
    reference: Option<Reference>,
    received_at: DateTime<Utc>,
    captured_at: Option<DateTime<Utc>>,
    service: String,
    service_id: Uuid,
    rating: FftRating,
    comment: Option<FreeText>,
    channel: Channel,
    locale: Locale,
    status: FeedbackStatus,
    safeguarding: bool,
    pii_flags: Vec<PiiKind>,
    tags: Vec<Tag>,
}

/// Reads a date or time as spreadsheets write them, in UTC: RFC 3339 (what
/// export writes), `2026-05-04`, `2026-05-04 09:15[:00]`, `04/05/2026` or
/// `04/05/2026 09:15[:00]` (day first, as in the UK).
fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Some(at.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(value, format) {
            return Some(at.and_utc());
        }
    }
    ["%Y-%m-%d", "%d/%m/%Y"].into_iter().find_map(|format| {
        NaiveDate::parse_from_str(value, format)
            .ok()
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .map(|at| at.and_utc())
    })
}

fn time_cell(value: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let at = parse_time(value).ok_or_else(|| {
        format!(
            "{value:?} is not a date; write 2026-05-04, 04/05/2026, 2026-05-04 09:15 or an RFC 3339 time"
        )
    })?;
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc());
    if earliest.is_some_and(|earliest| at < earliest) {
        return Err("is before the year 2000; write the year in full".to_owned());
    }
    if at > now + CLOCK_SKEW {
        return Err("must not be in the future".to_owned());
    }
    Ok(at.trunc_subsecs(6))
}

/// `Very good`, `very-good` and `VERY_GOOD` all read as VERY_GOOD; `Don't
/// know` as DONT_KNOW.
fn rating_cell(value: &str) -> Result<FftRating, String> {
    let name: String = value
        .trim()
        .to_uppercase()
        .replace(['\'', '\u{2019}'], "")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    FftRating::parse(&name).ok_or_else(|| {
        format!(
            "{value:?} is not a rating; use VERY_GOOD, GOOD, NEITHER_GOOD_NOR_POOR, POOR, VERY_POOR or DONT_KNOW"
        )
    })
}

fn bool_cell(value: &str) -> Result<bool, String> {
    match value.to_lowercase().as_str() {
        "" | "false" | "no" | "n" | "0" => Ok(false),
        "true" | "yes" | "y" | "1" => Ok(true),
        _ => Err(format!("{value:?} is not true or false")),
    }
}

fn list_cell(value: &str) -> impl Iterator<Item = &str> {
    value
        .split([LIST_SEPARATOR, ','])
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// Checks one row with the API's rules. `row` is its spreadsheet number.
fn parse_row(
    columns: &Columns,
    record: &csv::StringRecord,
    row: u64,
    services: &HashMap<String, Uuid>,
    now: DateTime<Utc>,
) -> Result<ParsedRow, Vec<RowError>> {
    if record.len() != columns.count {
        return Err(vec![RowError {
            row,
            column: String::new(),
            reason: format!(
                "has {} cells; the header has {}",
                record.len(),
                columns.count
            ),
        }]);
    }
    let mut errors = Vec::new();
    let cell = |index: Option<usize>| {
        index
            .and_then(|index| record.get(index))
            .map(|value| unprotect(value).trim())
            .unwrap_or("")
    };
    let mut check = |column: &str, outcome: Result<(), String>| {
        if let Err(reason) = outcome {
            errors.push(RowError {
                row,
                column: column.to_owned(),
                reason,
            });
        }
    };

    let mut reference = None;
    let text = cell(columns.reference);
    if !text.is_empty() {
        check(
            "reference",
            match Reference::parse(text) {
                Ok(parsed) if parsed.kind() == ReferenceKind::Feedback => {
                    reference = Some(parsed);
                    Ok(())
                }
                Ok(_) => Err("is the reference of an idea, not of feedback".to_owned()),
                Err(error) => Err(format!("{text:?}: {error}")),
            },
        );
    }

    let mut received_at = None;
    check(
        "received_at",
        match cell(Some(columns.received_at)) {
            "" => Err("is empty; it is required".to_owned()),
            text => time_cell(text, now).map(|at| received_at = Some(at)),
        },
    );

    let mut captured_at = None;
    let text = cell(columns.captured_at);
    if !text.is_empty() {
        check(
            "captured_at",
            time_cell(text, now).and_then(|at| match received_at {
                Some(received) if at > received => Err("must not be after received_at".to_owned()),
                _ => {
                    captured_at = Some(at);
                    Ok(())
                }
            }),
        );
    }

    let mut service = None;
    let slug = cell(Some(columns.service));
    check(
        "service",
        if slug.is_empty() {
            Err("is empty; it is required".to_owned())
        } else {
            Slug::parse(slug, "service")
                .ok()
                .and_then(|slug| services.get_key_value(slug.as_str()))
                .map(|(slug, id)| service = Some((slug.clone(), *id)))
                .ok_or_else(|| format!("{slug:?} is not the slug of a service"))
        },
    );

    let mut rating = None;
    check(
        "rating",
        match cell(Some(columns.rating)) {
            "" => Err("is empty; it is required".to_owned()),
            text => rating_cell(text).map(|parsed| rating = Some(parsed)),
        },
    );

    let mut comment = None;
    let text = cell(columns.comment);
    if !text.is_empty() {
        check(
            "comment",
            FreeText::parse(text, "comment", limits::COMMENT)
                .map(|parsed| comment = Some(parsed))
                .map_err(|error| reason(&error)),
        );
    }

    let mut channel = Channel::Paper;
    let text = cell(columns.channel);
    if !text.is_empty() {
        check(
            "channel",
            Channel::parse(&text.to_uppercase())
                .map(|parsed| channel = parsed)
                .ok_or_else(|| format!("{text:?} is not WEB, KIOSK, MOBILE, PAPER or PHONE")),
        );
    }

    let mut locale = Locale::default_locale();
    let text = cell(columns.locale);
    if !text.is_empty() {
        check(
            "locale",
            Locale::parse(text, "locale")
                .map(|parsed| locale = parsed)
                .map_err(|error| reason(&error)),
        );
    }

    let mut status = FeedbackStatus::New;
    let text = cell(columns.status);
    if !text.is_empty() {
        check(
            "status",
            FeedbackStatus::parse(&text.to_uppercase().replace(' ', "_"))
                .map(|parsed| status = parsed)
                .ok_or_else(|| format!("{text:?} is not NEW, IN_REVIEW, ACTIONED, CLOSED or SPAM")),
        );
    }

    let mut safeguarding = false;
    check(
        "safeguarding",
        bool_cell(cell(columns.safeguarding)).map(|flag| safeguarding = flag),
    );

    let mut pii_flags = Vec::new();
    for flag in list_cell(cell(columns.pii_flags)) {
        check(
            "pii_flags",
            PiiKind::parse(&flag.to_uppercase())
                .map(|kind| pii_flags.push(kind))
                .ok_or_else(|| format!("{flag:?} is not NHS_NUMBER, PHONE, EMAIL or POSTCODE")),
        );
    }

    let mut tags = Vec::new();
    let given: Vec<String> = list_cell(cell(columns.tags)).map(str::to_owned).collect();
    check(
        "tags",
        Tag::parse_all(&given, "tags")
            .map(|parsed| tags = parsed)
            .map_err(|error| reason(&error)),
    );

    match (received_at, service, rating) {
        (Some(received_at), Some((service, service_id)), Some(rating)) if errors.is_empty() => {
            Ok(ParsedRow {
                reference,
                received_at,
                captured_at,
                service,
                service_id,
                rating,
                comment,
                channel,
                locale,
                status,
                safeguarding,
                pii_flags,
                tags,
            })
        }
        _ => Err(errors),
    }
}

/// The reason of a rule the API applies, without the API's field name.
fn reason(error: &AppError) -> String {
    match error {
        AppError::BadInput { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

impl ParsedRow {
    /// What the resident said and when: the same row in a file imported
    /// again has the same fingerprint, whatever staff changed since (status,
    /// tags).
    fn fingerprint(&self) -> String {
        let received = self.received_at.to_rfc3339();
        let captured = self.captured_at.map(|at| at.to_rfc3339());
        fingerprint(&[
            Some("imported feedback"),
            Some(&self.service),
            Some(self.rating.as_str()),
            self.comment.as_ref().map(FreeText::as_str),
            Some(self.channel.as_str()),
            Some(self.locale.as_str()),
            Some(&received),
            captured.as_deref(),
        ])
    }
}

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

/// The idempotency key of the `occurrence`th row (from 0) in a file with this
/// fingerprint. Identical rows are different responses (two paper forms
/// both saying GOOD on the same day), so each occurrence has its own key;
/// rows added to or removed from elsewhere in the file do not change it.
fn derived_key(fingerprint: &str, occurrence: u64) -> String {
    let hash = digest(&[fingerprint, &occurrence.to_string()]);
    format!("import:{}", hex::encode(hash))
}

/// The reference a row without one gets: made from its key, so importing
/// the same file into a fresh database gives the same references; `attempt`
/// picks another when one is taken.
fn derived_reference(key: &str, attempt: u32) -> Reference {
    let hash = digest(&[key, &attempt.to_string()]);
    let mut random = [0u8; 8];
    random.copy_from_slice(&hash[..8]);
    Reference::from_random(ReferenceKind::Feedback, u64::from_le_bytes(random))
}

/// A UUIDv7 made from when the response was received, so that id order
/// (the staff queues' order) places historic feedback by its date.
fn id_for(received_at: DateTime<Utc>) -> Uuid {
    match u64::try_from(received_at.timestamp()) {
        Ok(seconds) => Uuid::new_v7(Timestamp::from_unix(
            NoContext,
            seconds,
            received_at.timestamp_subsec_nanos(),
        )),
        Err(_) => Uuid::now_v7(),
    }
}

/// The file's rows, checked, each with its spreadsheet row number.
struct Rows {
    reader: csv::Reader<std::fs::File>,
    columns: Columns,
    record: csv::StringRecord,
    row: u64,
}

impl Rows {
    fn open(path: &Path) -> Result<Self, ImportError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(path)
            .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?;
        let header = match reader.headers() {
            Ok(header) => header.clone(),
            Err(error) => return Err(row_error(1, &error).into()),
        };
        let columns = columns(&header).map_err(ImportError::Rows)?;
        Ok(Self {
            reader,
            columns,
            record: csv::StringRecord::new(),
            row: 1,
        })
    }

    /// The next row, or `None` at the end of the file.
    fn next(
        &mut self,
        services: &HashMap<String, Uuid>,
        now: DateTime<Utc>,
    ) -> Option<Result<ParsedRow, Vec<RowError>>> {
        self.row += 1;
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => Some(parse_row(
                &self.columns,
                &self.record,
                self.row,
                services,
                now,
            )),
            Err(error) => Some(Err(vec![row_error(self.row, &error)])),
        }
    }
}

fn row_error(row: u64, error: &csv::Error) -> RowError {
    let reason = match error.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            "is not UTF-8 text; save the file as \"CSV UTF-8\"".to_owned()
        }
        _ => error.to_string(),
    };
    RowError {
        row,
        column: String::new(),
        reason,
    }
}

impl From<RowError> for ImportError {
    fn from(error: RowError) -> Self {
        Self::Rows(vec![error])
    }
}

/// The most problems reported: enough to fix a file in one go, bounded so a
/// wrong file does not flood the terminal.
const MAX_ERRORS: usize = 500;

/// Imports the feedback in the CSV file at `path`, or with `dry_run` only
/// checks it. Shows a progress bar on standard error when that is a terminal.
pub async fn import_feedback(
    db: &DatabaseConnection,
    path: &Path,
    dry_run: bool,
) -> Result<ImportOutcome, ImportError> {
    let now = crate::db::now();
    let services: HashMap<String, Uuid> = store::service_slugs(db)
        .await?
        .into_iter()
        .map(|(id, slug)| (slug, id))
        .collect();
    if services.is_empty() {
        return Err(anyhow::anyhow!(
            "the database has no services to import feedback about: run `hamlet seed` first"
        )
        .into());
    }

    // First pass: check every row, and collect the references the file gives
    // (so no derived reference takes one of them).
    let mut rows = Rows::open(path)?;
    let mut errors = Vec::new();
    let mut given: HashMap<Reference, u64> = HashMap::new();
    let mut count = 0;
    let checking = progress_bar(None);
    while let Some(parsed) = rows.next(&services, now) {
        count += 1;
        checking.inc(1);
        match parsed {
            Ok(parsed) => {
                if let Some(reference) = parsed.reference
                    && let Some(first) = given.insert(reference, rows.row)
                {
                    errors.push(RowError {
                        row: rows.row,
                        column: "reference".to_owned(),
                        reason: format!("{reference} is also on row {first}"),
                    });
                }
            }
            Err(row_errors) => errors.extend(row_errors),
        }
        if errors.len() >= MAX_ERRORS {
            break;
        }
    }
    checking.finish_and_clear();
    if !errors.is_empty() {
        errors.truncate(MAX_ERRORS);
        return Err(ImportError::Rows(errors));
    }
    let mut outcome = ImportOutcome {
        rows: count,
        ..ImportOutcome::default()
    };
    if dry_run {
        return Ok(outcome);
    }

    // Second pass: store what is not stored yet, all in one transaction.
    let progress = progress_bar(Some(count));
    let txn = crate::db::write(db).await?;
    let mut rows = Rows::open(path)?;
    // Keyed by a fingerprint's first 128 bits, to keep a million rows small.
    let mut occurrences: HashMap<u128, u64> = HashMap::new();
    let mut taken: HashSet<Reference> = given.into_keys().collect();
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        let next = rows.next(&services, now);
        let done = next.is_none();
        if let Some(parsed) = next {
            let parsed = parsed.map_err(|_| {
                anyhow::anyhow!(
                    "the file changed while it was being imported; run the import again"
                )
            })?;
            let fingerprint = parsed.fingerprint();
            let key = if parsed.reference.is_some() {
                None
            } else {
                let occurrence = occurrences.entry(short(&fingerprint)).or_default();
                let key = derived_key(&fingerprint, *occurrence);
                *occurrence += 1;
                Some(key)
            };
            chunk.push((parsed, fingerprint, key));
        }
        if chunk.len() >= CHUNK || (done && !chunk.is_empty()) {
            let batch = std::mem::take(&mut chunk);
            let size = batch.len() as u64;
            let stored = plan(&txn, batch, &mut taken).await?;
            store::insert_imported(&txn, &stored, now).await?;
            outcome.imported += stored.len() as u64;
            outcome.skipped += size - stored.len() as u64;
            progress.inc(size);
        }
        if done {
            break;
        }
    }
    if outcome.imported > 0 {
        audit::record(
            &txn,
            AuditEntry::feedback_imported(outcome.imported, outcome.skipped),
        )
        .await?;
        txn.commit().await?;
    } else {
        txn.rollback().await?;
    }
    progress.finish_and_clear();
    Ok(outcome)
}

/// Turns checked rows into rows to store: drops those already stored, gives
/// the others a reference, and screens their comments as submissions are.
async fn plan(
    db: &impl sea_orm::ConnectionTrait,
    batch: Vec<(ParsedRow, String, Option<String>)>,
    taken: &mut HashSet<Reference>,
) -> Result<Vec<ImportedFeedback>, ImportError> {
    let references: Vec<String> = batch
        .iter()
        .filter_map(|(row, _, _)| row.reference.map(|r| r.to_string()))
        .collect();
    let stored = store::stored_references(db, &references).await?;
    let keys: Vec<String> = batch.iter().filter_map(|(_, _, key)| key.clone()).collect();
    let used = store::used_keys(db, &keys).await?;

    let mut planned = Vec::new();
    let mut unassigned = Vec::new();
    for (row, fingerprint, key) in batch {
        let reference = match (&row.reference, &key) {
            (Some(reference), _) => {
                let reference = reference.to_string();
                if stored.contains(&reference) {
                    continue;
                }
                Some(reference)
            }
            (None, Some(key)) if used.contains(key) => continue,
            _ => None,
        };
        let comment = row.comment.as_ref().map(|c| c.as_str().to_owned());
        let text = comment.as_deref().unwrap_or("");
        let screening = privacy::screen(&[text]);
        if reference.is_none() {
            unassigned.push(planned.len());
        }
        planned.push(ImportedFeedback {
            id: id_for(row.received_at),
            reference: reference.unwrap_or_default(),
            key,
            fingerprint,
            service_id: row.service_id,
            rating: row.rating,
            pii_flags: screening
                .pii_flags
                .union(row.pii_flags.iter().copied().collect()),
            safeguarding: row.safeguarding || screening.safeguarding,
            concerns: screening.safeguarding_concerns,
            comment,
            channel: row.channel,
            locale: row.locale.as_str().to_owned(),
            status: row.status,
            captured_at: row.captured_at,
            received_at: row.received_at,
            tags: row.tags.iter().map(|tag| tag.as_str().to_owned()).collect(),
        });
    }

    // Rows without a reference get one made from their key; a reference
    // already taken (by stored feedback, or another row) moves on to the
    // next attempt.
    let mut attempt = 0;
    while !unassigned.is_empty() {
        let candidates: Vec<Reference> = unassigned
            .iter()
            .map(|&index| {
                let key = planned[index].key.as_deref().unwrap_or_default();
                derived_reference(key, attempt)
            })
            .collect();
        let texts: Vec<String> = candidates.iter().map(ToString::to_string).collect();
        let clashing = store::stored_references(db, &texts).await?;
        let mut still = Vec::new();
        for ((index, candidate), text) in unassigned.into_iter().zip(candidates).zip(texts) {
            if clashing.contains(&text) || !taken.insert(candidate) {
                still.push(index);
            } else {
                planned[index].reference = text;
            }
        }
        unassigned = still;
        attempt += 1;
        if attempt > 8 && !unassigned.is_empty() {
            return Err(anyhow::anyhow!("could not find free receipt references").into());
        }
    }
    Ok(planned)
}

/// A fingerprint's first 128 bits.
fn short(fingerprint: &str) -> u128 {
    fingerprint
        .get(..32)
        .and_then(|hex| u128::from_str_radix(hex, 16).ok())
        .unwrap_or_default()
}

/// A progress bar on standard error when that is a terminal: counting up
/// while the file is checked (`rows` unknown), then filling while it is stored.
fn progress_bar(rows: Option<u64>) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let (bar, template) = match rows {
        None => (
            indicatif::ProgressBar::new_spinner(),
            "{spinner} checking row {pos}",
        ),
        Some(rows) => (
            indicatif::ProgressBar::new(rows),
            "importing {bar:40} {pos}/{len} rows ({eta} left)",
        ),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cells: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(cells.to_vec())
    }

    fn services() -> HashMap<String, Uuid> {
        HashMap::from([("gp-practices".to_owned(), Uuid::now_v7())])
    }

    fn now() -> DateTime<Utc> {
        parse_time("2026-06-15T12:00:00Z").unwrap()
    }

    fn parse(cells: &[&str], record: &[&str]) -> Result<ParsedRow, Vec<RowError>> {
        let columns = columns(&header(cells)).unwrap();
        parse_row(&columns, &header(record), 2, &services(), now())
    }

    #[test]
    fn a_minimal_row_gets_the_defaults_of_paper_returns() {
        let row = parse(
            &["service", "rating", "comment", "received_at"],
            &["gp-practices", "Very good", "Kind staff", "04/05/2026"],
        )
        .unwrap();
        assert_eq!(row.rating, FftRating::VeryGood);
        assert_eq!(row.channel, Channel::Paper);
        assert_eq!(row.status, FeedbackStatus::New);
        assert_eq!(row.locale.as_str(), "en");
        assert_eq!(row.received_at.to_rfc3339(), "2026-05-04T00:00:00+00:00");
        assert_eq!(row.comment.unwrap().as_str(), "Kind staff");
    }

    #[test]
    fn every_bad_cell_of_a_row_is_reported_by_column() {
        let errors = parse(
            &["service", "rating", "received_at", "channel", "tags"],
            &["nowhere", "GREAT", "2027-01-01", "FAX", "ok,not ok!"],
        )
        .unwrap_err();
        let columns: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(
            columns,
            ["received_at", "service", "rating", "channel", "tags"]
        );
        assert!(errors.iter().all(|e| e.row == 2));
        assert!(errors[0].reason.contains("future"), "{}", errors[0]);
        assert_eq!(
            errors[1].to_string(),
            "row 2, column service: \"nowhere\" is not the slug of a service"
        );
    }

    #[test]
    fn headers_must_name_known_columns_and_the_required_ones() {
        let errors = columns(&header(&["Service", "raiting", "received at"])).unwrap_err();
        let columns: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(columns, ["raiting", "rating"]);
    }

    #[test]
    fn ratings_read_as_people_write_them() {
        for (text, rating) in [
            ("VERY_GOOD", FftRating::VeryGood),
            ("very good", FftRating::VeryGood),
            ("Neither good nor poor", FftRating::NeitherGoodNorPoor),
            ("Don't know", FftRating::DontKnow),
            ("very-poor", FftRating::VeryPoor),
        ] {
            assert_eq!(rating_cell(text), Ok(rating), "{text}");
        }
        assert!(rating_cell("5").is_err());
    }

    #[test]
    fn dates_read_in_the_forms_spreadsheets_write() {
        for text in [
            "2026-05-04T09:15:00Z",
            "2026-05-04T10:15:00+01:00",
            "2026-05-04 09:15",
            "2026-05-04 09:15:00",
            "04/05/2026 09:15",
        ] {
            assert_eq!(
                parse_time(text).map(|at| at.to_rfc3339()),
                Some("2026-05-04T09:15:00+00:00".to_owned()),
                "{text}"
            );
        }
        assert!(time_cell("04/05/26", now()).is_err(), "two-digit years");
        assert!(time_cell("yesterday", now()).is_err());
    }

    #[test]
    fn derived_keys_tell_identical_rows_apart_and_repeat_on_reimport() {
        let first = derived_key("same", 0);
        assert_eq!(first, derived_key("same", 0));
        assert_ne!(first, derived_key("same", 1));
        assert!(first.len() <= limits::IDEMPOTENCY_KEY);
        let reference = derived_reference(&first, 0);
        assert_eq!(Reference::parse(&reference.to_string()), Ok(reference));
        assert_eq!(reference, derived_reference(&first, 0));
        assert_ne!(reference, derived_reference(&first, 1));
    }
}
