//! `hamlet export feedback --format csv`: one row per feedback, with a
//! header, streamed a page at a time so a million rows never sit in memory.
//! Contact details are never exported. Analysts' export
//! ([`export_counted_feedback`], the API's `feedbackExport`) leaves the free
//! text out as well.

use std::borrow::Cow;
use std::io::Write;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sea_orm::ConnectionTrait;

use uuid::Uuid;

use super::store::{self, ExportRow, StatsQuery};
use crate::error::AppError;
use crate::moderation::store::tags_of;

/// The export's columns, in order. Import reads the same names.
pub const COLUMNS: [&str; 12] = [
    "reference",
    "received_at",
    "captured_at",
    "service",
    "rating",
    "comment",
    "channel",
    "locale",
    "status",
    "safeguarding",
    "pii_flags",
    "tags",
];

/// How list cells (`pii_flags`, `tags`) separate their items.
pub const LIST_SEPARATOR: char = ';';

/// Rows read per query.
const PAGE_SIZE: u64 = 1000;

/// Whether a spreadsheet could take this cell for a formula: it starts with
/// `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's list), or with
/// the `'` that marks a protected cell (so protection can be undone exactly).
fn needs_protection(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r', '\''])
}

/// A cell made safe to open in a spreadsheet: one that could be read as a
/// formula gets a leading `'`, which spreadsheets show as text and do not
/// evaluate (OWASP's advice against CSV injection).
pub fn protect(cell: &str) -> Cow<'_, str> {
    if needs_protection(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Undoes [`protect`]: `unprotect(&protect(x)) == x` for every `x`. A cell
/// typed by hand that starts with `'` before ordinary text is left alone.
pub fn unprotect(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_protection(rest) => rest,
        _ => cell,
    }
}

/// A timestamp as the export writes it: RFC 3339 in UTC, to the microsecond
/// when it has one.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Reads a `--from`/`--to` bound: a date (`2026-05-01`, midnight UTC) or an
/// RFC 3339 time.
pub fn parse_bound(value: &str, option: &str) -> Result<DateTime<Utc>, AppError> {
    let value = value.trim();
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        && let Some(at) = day.and_hms_opt(0, 0, 0)
    {
        return Ok(at.and_utc());
    }
    DateTime::parse_from_rfc3339(value)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            AppError::bad_input(
                option,
                "must be a date (2026-05-01) or an RFC 3339 time (2026-05-01T09:00:00Z)",
            )
        })
}

/// Which feedback an export holds, and whether with its free text.
enum Scope<'a> {
    /// Everything received in `[from, to)`, comments included: the command
    /// line's export, which import reads back.
    Received {
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    },
    /// The rows the statistics for `query` count (never SPAM), without the
    /// `comment` column: what analysts, who never read free text, download.
    Counted(&'a StatsQuery),
}

impl Scope<'_> {
    fn with_comment(&self) -> bool {
        matches!(self, Self::Received { .. })
    }

    async fn page(
        &self,
        db: &impl ConnectionTrait,
        after: Option<Uuid>,
    ) -> Result<Vec<ExportRow>, AppError> {
        match self {
            Self::Received { from, to } => {
                store::export_page(db, *from, *to, after, PAGE_SIZE).await
            }
            Self::Counted(query) => store::counted_export_page(db, query, after, PAGE_SIZE).await,
        }
    }
}

/// The columns of an export without free text: [`COLUMNS`] but `comment`.
pub fn columns_without_comment() -> impl Iterator<Item = &'static str> {
    COLUMNS.into_iter().filter(|column| *column != "comment")
}

/// Writes every feedback received in `[from, to)` as CSV to `out`, oldest
/// arrival first, and answers how many rows it wrote.
pub async fn export_feedback(
    db: &impl ConnectionTrait,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    out: impl Write,
) -> anyhow::Result<u64> {
    export(db, &Scope::Received { from, to }, out).await
}

/// Writes the feedback the statistics for `query` count (never SPAM) as CSV
/// to `out`, oldest arrival first, without the free text: every column of
/// [`COLUMNS`] but `comment`. Answers how many rows it wrote.
pub async fn export_counted_feedback(
    db: &impl ConnectionTrait,
    query: &StatsQuery,
    out: impl Write,
) -> anyhow::Result<u64> {
    export(db, &Scope::Counted(query), out).await
}

async fn export(
    db: &impl ConnectionTrait,
    scope: &Scope<'_>,
    out: impl Write,
) -> anyhow::Result<u64> {
    let with_comment = scope.with_comment();
    let slugs = store::service_slugs(db).await?;
    let mut writer = csv::Writer::from_writer(out);
    if with_comment {
        writer.write_record(COLUMNS)?;
    } else {
        writer.write_record(columns_without_comment())?;
    }
    let mut after = None;
    let mut written = 0;
    loop {
        let page = scope.page(db, after).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let ids: Vec<_> = page.iter().map(|row| row.id).collect();
        let mut tags = tags_of(db, &ids).await?;
        for row in &page {
            let received = timestamp(row.received_at);
            let captured = row.captured_at.map(timestamp).unwrap_or_default();
            let service = slugs.get(&row.service_id).map_or("", String::as_str);
            let pii_flags = row
                .pii_flags
                .to_vec()
                .iter()
                .map(|kind| kind.as_str())
                .collect::<Vec<_>>()
                .join(&LIST_SEPARATOR.to_string());
            let tags = tags
                .remove(&row.id)
                .unwrap_or_default()
                .join(&LIST_SEPARATOR.to_string());
            let comment = row.comment.as_deref().unwrap_or("");
            let record = [
                row.reference.as_str(),
                &received,
                &captured,
                service,
                row.rating.as_str(),
                comment,
                row.channel.as_str(),
                &row.locale,
                row.status.as_str(),
                if row.safeguarding { "true" } else { "false" },
                &pii_flags,
                &tags,
            ];
            let cells = COLUMNS
                .iter()
                .zip(record)
                .filter(|(column, _)| with_comment || **column != "comment")
                .map(|(_, cell)| protect(cell).into_owned());
            writer.write_record(cells)?;
            written += 1;
        }
        if (page.len() as u64) < PAGE_SIZE {
            break;
        }
    }
    writer.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_could_be_formulas_are_protected_and_restored() {
        for (cell, protected) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-1+2", "'-1+2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'=1", "''=1"),
            ("'quoted'", "''quoted'"),
            ("Seen quickly", "Seen quickly"),
            ("", ""),
        ] {
            assert_eq!(protect(cell), protected, "{cell:?}");
            assert_eq!(unprotect(&protect(cell)), cell, "{cell:?}");
        }
        assert_eq!(unprotect("'quoted by hand'"), "'quoted by hand'");
        assert_eq!(unprotect("'=1"), "=1");
    }

    #[test]
    fn bounds_are_dates_or_times() {
        assert_eq!(
            parse_bound("2026-05-01", "--from").unwrap().to_rfc3339(),
            "2026-05-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_bound("2026-05-01T10:00:00+01:00", "--from")
                .unwrap()
                .to_rfc3339(),
            "2026-05-01T09:00:00+00:00"
        );
        assert!(parse_bound("01/05/2026", "--from").is_err());
    }
}
