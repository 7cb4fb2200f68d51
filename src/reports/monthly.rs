//! `hamlet report --month YYYY-MM --out DIR`: the monthly Friends and Family
//! Test report for the partnership's Board, as one self-contained HTML file:
//! inline CSS and hand-drawn SVG charts, no scripts and nothing fetched, so
//! it reads the same offline, attached to an email, or printed.
//!
//! It holds figures only, never free text: small numbers are withheld as
//! `feedbackStats` withholds them, and every name in it is escaped.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::model::{CHANNELS, Month, RatingCounts, SMALL_NUMBER_LIMIT, is_small_number};
use super::store::{self, StatsQuery};
use crate::content::store as content_store;
use crate::locale::LocaleChain;
use crate::submissions::model::Channel;

/// Months the trends cover, the report's month last.
pub const MONTHS: usize = 12;

/// Themes the report lists at most.
const TOP_TAGS: usize = 10;

/// One service's responses per month over the report's twelve months.
#[derive(Clone, Debug)]
pub struct ServiceSeries {
    pub name: String,
    pub months: Vec<RatingCounts>,
}

/// Everything the monthly report shows, gathered from the database.
#[derive(Clone, Debug)]
pub struct MonthlyReport {
    pub organisation: String,
    pub month: Month,
    pub generated_at: DateTime<Utc>,
    /// The twelve months ending with `month`, oldest first.
    pub months: Vec<Month>,
    /// All services together, per month.
    pub overall: Vec<RatingCounts>,
    /// Responses per channel, per month.
    pub channels: Vec<(Channel, Vec<u64>)>,
    /// Services with responses in the twelve months, by name.
    pub services: Vec<ServiceSeries>,
    /// Active services with no responses in the twelve months.
    pub quiet_services: Vec<String>,
    /// Staff tags on the month's feedback, most used first.
    pub tags: Vec<(String, u64)>,
}

/// Reads what the report for `month` needs: one grouped query for the twelve
/// months, one for the month's tags, and the names.
pub async fn gather(db: &DatabaseConnection, month: Month) -> anyhow::Result<MonthlyReport> {
    let now = crate::db::now();
    anyhow::ensure!(month <= Month::of(now), "--month {month} is in the future");
    let first = month.plus(1 - MONTHS as i64);
    let months: Vec<Month> = (0..MONTHS as i64).map(|n| first.plus(n)).collect();
    let cube = store::cube(
        db,
        &StatsQuery {
            received_from: Some(first.start()),
            received_to: Some(month.end()),
            ..StatsQuery::default()
        },
    )
    .await?;
    let per_month =
        |counts: &std::collections::BTreeMap<Month, RatingCounts>| -> Vec<RatingCounts> {
            months
                .iter()
                .map(|m| counts.get(m).copied().unwrap_or_default())
                .collect()
        };
    let overall = per_month(&cube.by(|cell| cell.month));
    let by_channel = cube.by(|cell| (cell.channel.as_str(), cell.month));
    let channels = CHANNELS
        .iter()
        .map(|&channel| {
            let counts = months
                .iter()
                .map(|m| {
                    by_channel
                        .get(&(channel.as_str(), *m))
                        .map_or(0, RatingCounts::total)
                })
                .collect();
            (channel, counts)
        })
        .collect();

    let by_service = cube.by(|cell| (cell.service, cell.month));
    let mut ids: Vec<_> = cube.by(|cell| cell.service).into_keys().collect();
    ids.sort();
    let mut services: Vec<ServiceSeries> = content_store::services_by_ids(db, &ids)
        .await?
        .into_iter()
        .map(|service| ServiceSeries {
            months: months
                .iter()
                .map(|m| {
                    by_service
                        .get(&(service.id, *m))
                        .copied()
                        .unwrap_or_default()
                })
                .collect(),
            name: service.name,
        })
        .collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    let quiet_services = content_store::active_services(db)
        .await?
        .into_iter()
        .filter(|service| ids.binary_search(&service.id).is_err())
        .map(|service| service.name)
        .collect();

    let tags = store::tag_counts(db, month.start(), month.end()).await?;
    let organisation = content_store::organisation(db, &LocaleChain::new(None))
        .await?
        .map_or_else(|| "hamlet".to_owned(), |organisation| organisation.name);
    Ok(MonthlyReport {
        organisation,
        month,
        generated_at: now,
        months,
        overall,
        channels,
        services,
        quiet_services,
        tags,
    })
}

/// Writes the report for `month` into `dir` (made if missing) and answers
/// the file's path.
pub async fn write_report(
    db: &DatabaseConnection,
    month: Month,
    dir: &Path,
) -> anyhow::Result<PathBuf> {
    let report = gather(db, month).await?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("feedback-report-{month}.html"));
    std::fs::write(&path, render(&report))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Text made safe inside HTML and SVG, in content and in quoted attributes.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// NHS identity colours.
mod colour {
    pub const BLUE: &str = "#005EB8";
    pub const DARK_BLUE: &str = "#003087";
    pub const LIGHT_BLUE: &str = "#41B6E6";
    pub const AQUA_GREEN: &str = "#00A499";
    pub const WARM_YELLOW: &str = "#FFB81C";
    pub const MID_GREY: &str = "#768692";
    pub const DARK_GREY: &str = "#425563";
    pub const PALE_GREY: &str = "#E8EDEE";
}

fn channel_colour(channel: Channel) -> &'static str {
    match channel {
        Channel::Web => colour::BLUE,
        Channel::Kiosk => colour::LIGHT_BLUE,
        Channel::Mobile => colour::AQUA_GREEN,
        Channel::Paper => colour::WARM_YELLOW,
        Channel::Phone => colour::MID_GREY,
    }
}

fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Web => "Web",
        Channel::Kiosk => "Kiosk",
        Channel::Mobile => "Mobile app",
        Channel::Paper => "Paper",
        Channel::Phone => "Phone",
    }
}

/// A published percentage: whole numbers, as NHS England publishes them.
fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}%"))
}

fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A percentage as the report may show it: `None` when withheld or when
/// nobody rated.
fn shown_positive(counts: &RatingCounts) -> Option<f64> {
    counts.publish().percent_positive
}

fn shown_negative(counts: &RatingCounts) -> Option<f64> {
    counts.publish().percent_negative
}

/// "+3 pts", "−2 pts" or "no change"; empty when either side is withheld.
fn change(now: Option<f64>, before: Option<f64>) -> String {
    match (now, before) {
        (Some(now), Some(before)) => {
            let points = now.round() - before.round();
            if points > 0.0 {
                format!("+{points:.0} pts")
            } else if points < 0.0 {
                format!("−{:.0} pts", -points)
            } else {
                "no change".to_owned()
            }
        }
        _ => String::new(),
    }
}

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f0f4f5; color: #212b32; font: 15px/1.45 Arial, "Helvetica Neue", Helvetica, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 0 24px 32px; }
header.band { background: #005EB8; color: #fff; padding: 22px 24px 18px; }
header.band .inner { max-width: 1072px; margin: 0 auto; display: flex; justify-content: space-between; align-items: flex-end; gap: 24px; }
header.band h1 { margin: 0; font-size: 28px; line-height: 1.15; }
header.band p { margin: 4px 0 0; }
header.band .org { font-weight: bold; font-size: 15px; opacity: .95; margin: 0 0 4px; }
header.band .meta { text-align: right; font-size: 13px; opacity: .9; }
section { background: #fff; border-radius: 4px; padding: 18px 22px 20px; margin-top: 18px; break-inside: avoid; page-break-inside: avoid; }
h2 { font-size: 19px; margin: 0 0 4px; color: #003087; }
p.lede { margin: 0 0 12px; color: #425563; font-size: 14px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 14px; margin-top: 18px; }
.card { background: #fff; border-radius: 4px; padding: 14px 16px; border-top: 5px solid #005EB8; }
.card.good { border-top-color: #00A499; }
.card.poor { border-top-color: #DA291C; }
.card.grey { border-top-color: #768692; }
.card .label { font-size: 13px; color: #425563; }
.card .value { font-size: 34px; font-weight: bold; line-height: 1.15; margin: 2px 0; color: #212b32; }
.card .note { font-size: 12.5px; color: #425563; }
.multiples { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px 18px; }
.multiple h3 { font-size: 13px; margin: 6px 0 0; color: #212b32; height: 2.7em; overflow: hidden; line-height: 1.35; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; color: #425563; margin: 2px 0 8px; }
.legend span { display: inline-flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; }
.line-swatch { display: inline-block; width: 18px; height: 0; border-top: 3px solid #005EB8; }
.line-swatch.overall { border-top: 2px dashed #768692; }
.split { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
.split section { margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #E8EDEE; vertical-align: top; }
th { font-size: 13px; color: #425563; font-weight: bold; border-bottom: 2px solid #d8dde0; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.withheld td { color: #768692; }
.up { color: #007f3b; }
.down { color: #DA291C; }
.small { font-size: 12.5px; color: #425563; }
dl { margin: 0; display: grid; grid-template-columns: 190px 1fr; gap: 8px 16px; font-size: 14px; }
dt { font-weight: bold; color: #003087; }
dd { margin: 0; }
code { font-family: inherit; background: #f0f4f5; padding: 0 3px; border-radius: 2px; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font-family: Arial, "Helvetica Neue", Helvetica, sans-serif; }
footer { margin-top: 18px; font-size: 12.5px; color: #425563; }
@page { size: A4; margin: 12mm; }
@media print {
  body { background: #fff; font-size: 12px; }
  main { padding: 0; max-width: none; }
  header.band { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section, .card { border: 1px solid #d8dde0; }
  .split { grid-template-columns: 1fr; gap: 0; }
  .split section { margin-top: 18px; }
  .card, .swatch, .line-swatch { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

/// The report as one HTML document.
pub fn render(report: &MonthlyReport) -> String {
    let mut html = String::with_capacity(64 * 1024);
    let month = report.month;
    let this = report.overall.last().copied().unwrap_or_default();
    let before = report
        .overall
        .len()
        .checked_sub(2)
        .and_then(|i| report.overall.get(i))
        .copied()
        .unwrap_or_default();
    let title = format!(
        "Friends and Family Test: {} — {}",
        month.name(),
        report.organisation
    );
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let _ = write!(
        html,
        "<header class=\"band\"><div class=\"inner\"><div>\
         <p class=\"org\">{}</p>\
         <h1>Friends and Family Test: {}</h1>\
         <p>What residents told us about local health and care services</p></div>\
         <div class=\"meta\">Monthly report for the Board<br>Made {} UTC{}</div></div></header>\n<main>\n",
        escape(&report.organisation),
        escape(&month.name()),
        report.generated_at.format("%-d %B %Y, %H:%M"),
        if month == Month::of(report.generated_at) {
            "<br><b>The month is not over: its figures are partial</b>"
        } else {
            ""
        },
    );

    render_cards(&mut html, report, &this, &before);
    render_multiples(&mut html, report);
    html.push_str("<div class=\"split\">");
    render_volumes(&mut html, report);
    render_channel_mix(&mut html, report);
    html.push_str("</div>");
    render_service_table(&mut html, report);
    render_themes(&mut html, report);
    render_definitions(&mut html, report);
    let _ = write!(
        html,
        "<footer>Made by hamlet from feedback received up to {} UTC. \
         Figures hold no comments and no contact details.</footer>\n</main>\n</body>\n</html>\n",
        report.generated_at.format("%-d %B %Y, %H:%M"),
    );
    html
}

fn render_cards(
    html: &mut String,
    report: &MonthlyReport,
    this: &RatingCounts,
    before: &RatingCounts,
) {
    let previous = report.month.previous();
    let total = this.total();
    let volume_note = format!("{} in {}", thousands(before.total()), previous.month_name());
    let withheld = is_small_number(total);
    let positive_value = if withheld {
        "withheld".to_owned()
    } else {
        percent(shown_positive(this))
    };
    let negative_value = if withheld {
        "withheld".to_owned()
    } else {
        percent(shown_negative(this))
    };
    let positive_note = match change(shown_positive(this), shown_positive(before)) {
        note if note.is_empty() => "very good or good".to_owned(),
        note => format!("very good or good · {note} on {}", previous.month_name()),
    };
    let negative_note = match change(shown_negative(this), shown_negative(before)) {
        note if note.is_empty() => "poor or very poor".to_owned(),
        note => format!("poor or very poor · {note} on {}", previous.month_name()),
    };
    let rated_services = report
        .services
        .iter()
        .filter(|service| service.months.last().is_some_and(|c| c.total() > 0))
        .count();
    let _ = writeln!(
        html,
        "<div class=\"cards\">\
         <div class=\"card\"><div class=\"label\">Responses in {month}</div><div class=\"value\">{total}</div><div class=\"note\">{volume_note}</div></div>\
         <div class=\"card good\"><div class=\"label\">Percent positive</div><div class=\"value\">{positive_value}</div><div class=\"note\">{positive_note}</div></div>\
         <div class=\"card poor\"><div class=\"label\">Percent negative</div><div class=\"value\">{negative_value}</div><div class=\"note\">{negative_note}</div></div>\
         <div class=\"card grey\"><div class=\"label\">Services with feedback</div><div class=\"value\">{rated_services}</div><div class=\"note\">of {all} services</div></div>\
         </div>",
        month = escape(&report.month.name()),
        total = thousands(total),
        volume_note = escape(&volume_note),
        all = report.services.len() + report.quiet_services.len(),
    );
}

/// Plot geometry of one small multiple.
struct Frame {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    /// The percentage at the foot of the scale; the top is 100%.
    floor: f64,
}

impl Frame {
    fn x(&self, index: usize, count: usize) -> f64 {
        let span = self.width - self.left - self.right;
        if count <= 1 {
            return self.left + span / 2.0;
        }
        self.left + span * index as f64 / (count - 1) as f64
    }

    fn y(&self, percent: f64) -> f64 {
        let span = self.height - self.top - self.bottom;
        let share = (percent.clamp(self.floor, 100.0) - self.floor) / (100.0 - self.floor).max(1.0);
        self.top + span * (1.0 - share)
    }
}

/// A line through the points that are shown; a gap where a month is withheld
/// or has no responses, and a dot for a point with no neighbour.
fn series_path(frame: &Frame, values: &[Option<f64>]) -> (String, Vec<(f64, f64)>) {
    let mut path = String::new();
    let mut lonely = Vec::new();
    let count = values.len();
    for (index, value) in values.iter().enumerate() {
        let Some(value) = value else { continue };
        let (x, y) = (frame.x(index, count), frame.y(*value));
        let joined_before = index > 0 && values[index - 1].is_some();
        let joined_after = values.get(index + 1).is_some_and(Option::is_some);
        if !joined_before {
            let _ = write!(path, "M{x:.1},{y:.1}");
        } else {
            let _ = write!(path, "L{x:.1},{y:.1}");
        }
        if !joined_before && !joined_after {
            lonely.push((x, y));
        }
    }
    (path, lonely)
}

fn small_multiple(
    report: &MonthlyReport,
    service: &ServiceSeries,
    overall: &[Option<f64>],
    floor: f64,
) -> String {
    let frame = Frame {
        width: 340.0,
        height: 128.0,
        left: 30.0,
        right: 44.0,
        top: 10.0,
        bottom: 22.0,
        floor,
    };
    let values: Vec<Option<f64>> = service.months.iter().map(shown_positive).collect();
    let count = values.len();
    let mut svg = String::new();
    let last_value = values.last().copied().flatten();
    let description = match last_value {
        Some(value) => format!(
            "{}: {} positive in {}",
            service.name,
            percent(Some(value)),
            report.month.name()
        ),
        None => format!(
            "{}: no percentage shown for {}",
            service.name,
            report.month.name()
        ),
    };
    let _ = write!(
        svg,
        "<svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{label}\">",
        w = frame.width,
        h = frame.height,
        label = escape(&description),
    );
    for grid in [floor, (floor + 100.0) / 2.0, 100.0] {
        let y = frame.y(grid);
        let _ = write!(
            svg,
            "<line x1=\"{x1}\" x2=\"{x2:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{c}\" stroke-width=\"1\"/>\
             <text x=\"{tx}\" y=\"{ty:.1}\" font-size=\"10\" fill=\"{g}\" text-anchor=\"end\">{grid:.0}%</text>",
            x1 = frame.left,
            x2 = frame.width - frame.right,
            c = colour::PALE_GREY,
            tx = frame.left - 5.0,
            ty = y + 3.5,
            g = colour::MID_GREY,
        );
    }
    // Months with responses but withheld are marked on the axis.
    for (index, counts) in service.months.iter().enumerate() {
        if is_small_number(counts.total()) {
            let x = frame.x(index, count);
            let _ = write!(
                svg,
                "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"14\" font-weight=\"bold\" fill=\"{c}\" text-anchor=\"middle\">*</text>",
                y = frame.y(floor) + 1.0,
                c = colour::DARK_GREY,
            );
        }
    }
    let (overall_path, _) = series_path(&frame, overall);
    if !overall_path.is_empty() {
        let _ = write!(
            svg,
            "<path d=\"{overall_path}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>",
            c = colour::MID_GREY
        );
    }
    let (path, lonely) = series_path(&frame, &values);
    if !path.is_empty() {
        let _ = write!(
            svg,
            "<path d=\"{path}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2.5\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>",
            c = colour::BLUE
        );
    }
    for (x, y) in lonely {
        let _ = write!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{c}\"/>",
            c = colour::BLUE
        );
    }
    if let Some(value) = last_value {
        let (x, y) = (frame.x(count - 1, count), frame.y(value));
        let _ = write!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{c}\"/>\
             <text x=\"{tx:.1}\" y=\"{ty:.1}\" font-size=\"12\" font-weight=\"bold\" fill=\"{d}\">{label}</text>",
            c = colour::BLUE,
            d = colour::DARK_BLUE,
            tx = x + 6.0,
            ty = y + 4.0,
            label = percent(Some(value)),
        );
    }
    if let (Some(first), Some(last)) = (report.months.first(), report.months.last()) {
        let y = frame.height - 6.0;
        let _ = write!(
            svg,
            "<text x=\"{x1:.1}\" y=\"{y}\" font-size=\"10\" fill=\"{c}\" text-anchor=\"start\">{a} {ay}</text>\
             <text x=\"{x2:.1}\" y=\"{y}\" font-size=\"10\" fill=\"{c}\" text-anchor=\"end\">{b} {by}</text>",
            x1 = frame.left,
            x2 = frame.width - frame.right,
            c = colour::MID_GREY,
            a = first.short_name(),
            ay = first.year(),
            b = last.short_name(),
            by = last.year(),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The foot of the percent-positive scale all panels share: 50%, or lower
/// in steps of 10 so that no value falls off it.
fn scale_floor(values: impl Iterator<Item = f64>) -> f64 {
    let lowest = values.fold(50.0_f64, f64::min);
    ((lowest / 10.0).floor() * 10.0).clamp(0.0, 50.0)
}

fn render_multiples(html: &mut String, report: &MonthlyReport) {
    let overall: Vec<Option<f64>> = report.overall.iter().map(shown_positive).collect();
    let floor = scale_floor(
        report
            .services
            .iter()
            .flat_map(|service| service.months.iter().map(shown_positive))
            .chain(overall.iter().copied())
            .flatten(),
    );
    let _ = write!(
        html,
        "<section><h2>Percent positive by service, {} to {}</h2>\
         <p class=\"lede\">Each panel is one service, month by month, on the same scale ({}% to 100%). \
         A gap means no percentage can be shown that month; <b>*</b> marks a month withheld because it \
         had fewer than {} responses.</p>\
         <div class=\"legend\"><span><i class=\"line-swatch\"></i>the service</span>\
         <span><i class=\"line-swatch overall\"></i>all services</span></div>\
         <div class=\"multiples\">",
        escape(&report.months.first().map(|m| m.name()).unwrap_or_default()),
        escape(&report.month.name()),
        floor,
        SMALL_NUMBER_LIMIT,
    );
    for service in &report.services {
        let _ = write!(
            html,
            "<div class=\"multiple\"><h3>{}</h3>{}</div>",
            escape(&service.name),
            small_multiple(report, service, &overall, floor)
        );
    }
    html.push_str("</div>");
    if report.services.is_empty() {
        html.push_str("<p>No feedback was received in these twelve months.</p>");
    }
    if !report.quiet_services.is_empty() {
        let names: Vec<String> = report.quiet_services.iter().map(|n| escape(n)).collect();
        let _ = write!(
            html,
            "<p class=\"small\">No feedback in these twelve months: {}.</p>",
            names.join("; ")
        );
    }
    html.push_str("</section>\n");
}

fn render_volumes(html: &mut String, report: &MonthlyReport) {
    let (width, height) = (520.0, 250.0);
    let (left, right, top, bottom) = (44.0, 8.0, 16.0, 38.0);
    let totals: Vec<u64> = (0..report.months.len())
        .map(|i| {
            report
                .channels
                .iter()
                .map(|(_, counts)| counts.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = nice_ceiling(totals.iter().copied().max().unwrap_or(0));
    let plot_height = height - top - bottom;
    let slot = (width - left - right) / report.months.len().max(1) as f64;
    let bar = slot * 0.68;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" \
         aria-label=\"Responses per month by channel, {} to {}\">",
        escape(&report.months.first().map(|m| m.name()).unwrap_or_default()),
        escape(&report.month.name()),
    );
    for step in 0..=4 {
        let value = max as f64 * f64::from(step) / 4.0;
        let y = top + plot_height * (1.0 - f64::from(step) / 4.0);
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{x2}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{c}\"/>\
             <text x=\"{tx}\" y=\"{ty:.1}\" font-size=\"10\" fill=\"{g}\" text-anchor=\"end\">{label}</text>",
            x2 = width - right,
            c = colour::PALE_GREY,
            tx = left - 5.0,
            ty = y + 3.5,
            g = colour::MID_GREY,
            label = thousands(value.round() as u64),
        );
    }
    for (index, month) in report.months.iter().enumerate() {
        let x = left + slot * index as f64 + (slot - bar) / 2.0;
        let mut base = top + plot_height;
        for (channel, counts) in &report.channels {
            let value = counts.get(index).copied().unwrap_or(0);
            if value == 0 || max == 0 {
                continue;
            }
            let h = plot_height * value as f64 / max as f64;
            base -= h;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{base:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"{c}\"/>",
                c = channel_colour(*channel),
            );
        }
        let total = totals.get(index).copied().unwrap_or(0);
        let centre = x + bar / 2.0;
        let _ = write!(
            svg,
            "<text x=\"{centre:.1}\" y=\"{ty:.1}\" font-size=\"9.5\" fill=\"{d}\" text-anchor=\"middle\">{label}</text>\
             <text x=\"{centre:.1}\" y=\"{my:.1}\" font-size=\"10\" fill=\"{g}\" text-anchor=\"middle\">{m}</text>",
            ty = base - 4.0,
            d = colour::DARK_GREY,
            label = thousands(total),
            my = height - bottom + 14.0,
            g = colour::MID_GREY,
            m = month.short_name(),
        );
        if index == 0 || month.number() == 1 {
            let _ = write!(
                svg,
                "<text x=\"{centre:.1}\" y=\"{yy:.1}\" font-size=\"10\" fill=\"{g}\" text-anchor=\"middle\">{y}</text>",
                yy = height - bottom + 27.0,
                g = colour::MID_GREY,
                y = month.year(),
            );
        }
    }
    svg.push_str("</svg>");
    let _ = write!(
        html,
        "<section><h2>Responses per month</h2>\
         <p class=\"lede\">All services, by the channel the response came through.</p>{}{}</section>",
        channel_legend(),
        svg
    );
}

fn channel_legend() -> String {
    let mut legend = String::from("<div class=\"legend\">");
    for channel in CHANNELS {
        let _ = write!(
            legend,
            "<span><i class=\"swatch\" style=\"background:{}\"></i>{}</span>",
            channel_colour(channel),
            channel_name(channel)
        );
    }
    legend.push_str("</div>");
    legend
}

/// A round number at or above `value` for a chart's top line.
fn nice_ceiling(value: u64) -> u64 {
    if value == 0 {
        return 4;
    }
    let magnitude = 10u64.pow(value.ilog10());
    for step in [1, 2, 4, 5, 8, 10] {
        let candidate = step * magnitude;
        if candidate >= value {
            return candidate;
        }
    }
    10 * magnitude
}

fn render_channel_mix(html: &mut String, report: &MonthlyReport) {
    let last = report.months.len().saturating_sub(1);
    let counts: Vec<(Channel, u64)> = report
        .channels
        .iter()
        .map(|(channel, counts)| (*channel, counts.get(last).copied().unwrap_or(0)))
        .collect();
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let (width, height) = (520.0, 44.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" \
         aria-label=\"Channel mix in {}\">",
        escape(&report.month.name())
    );
    if total == 0 {
        let _ = write!(
            svg,
            "<rect x=\"0\" y=\"6\" width=\"{width}\" height=\"28\" fill=\"{c}\"/>",
            c = colour::PALE_GREY
        );
    } else {
        let mut x = 0.0;
        for (channel, count) in &counts {
            if *count == 0 {
                continue;
            }
            let w = width * *count as f64 / total as f64;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"6\" width=\"{w:.1}\" height=\"28\" fill=\"{c}\"/>",
                c = channel_colour(*channel)
            );
            if w > 34.0 {
                let share = 100.0 * *count as f64 / total as f64;
                let fill = if matches!(channel, Channel::Paper | Channel::Kiosk) {
                    "#212b32"
                } else {
                    "#ffffff"
                };
                let _ = write!(
                    svg,
                    "<text x=\"{tx:.1}\" y=\"25\" font-size=\"12\" font-weight=\"bold\" fill=\"{fill}\" text-anchor=\"middle\">{share:.0}%</text>",
                    tx = x + w / 2.0
                );
            }
            x += w;
        }
    }
    svg.push_str("</svg>");
    let mut table = String::from(
        "<table><thead><tr><th>Channel</th><th class=\"n\">Responses</th><th class=\"n\">Share</th></tr></thead><tbody>",
    );
    for (channel, count) in &counts {
        let share = if total > 0 {
            format!("{:.0}%", 100.0 * *count as f64 / total as f64)
        } else {
            "–".to_owned()
        };
        let _ = write!(
            table,
            "<tr><td><i class=\"swatch\" style=\"background:{}\"></i> {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            channel_colour(*channel),
            channel_name(*channel),
            thousands(*count),
            share
        );
    }
    table.push_str("</tbody></table>");
    let _ = write!(
        html,
        "<section><h2>Channel mix, {}</h2>\
         <p class=\"lede\">How residents reached us this month.</p>{svg}{table}</section>",
        escape(&report.month.name())
    );
}

fn render_service_table(html: &mut String, report: &MonthlyReport) {
    let previous = report.month.previous();
    let _ = write!(
        html,
        "<section><h2>Services in {month}</h2>\
         <p class=\"lede\">Responses and Friends and Family Test percentages per service this month, \
         with the change in percent positive since {prev}.</p>\
         <table><thead><tr><th>Service</th><th class=\"n\">Responses</th><th class=\"n\">Percent positive</th>\
         <th class=\"n\">Percent negative</th><th class=\"n\">Change since {prev_short}</th></tr></thead><tbody>",
        month = escape(&report.month.name()),
        prev = escape(&previous.name()),
        prev_short = previous.month_name(),
    );
    for service in &report.services {
        let len = service.months.len();
        let this = service.months.last().copied().unwrap_or_default();
        let before = len
            .checked_sub(2)
            .and_then(|i| service.months.get(i))
            .copied()
            .unwrap_or_default();
        let withheld = is_small_number(this.total());
        let (positive, negative, delta) = if withheld {
            (
                "withheld*".to_owned(),
                "withheld*".to_owned(),
                String::new(),
            )
        } else {
            let delta = change(shown_positive(&this), shown_positive(&before));
            let class = if delta.starts_with('+') {
                "up"
            } else if delta.starts_with('−') {
                "down"
            } else {
                ""
            };
            (
                percent(shown_positive(&this)),
                percent(shown_negative(&this)),
                format!("<span class=\"{class}\">{delta}</span>"),
            )
        };
        let _ = write!(
            html,
            "<tr{row_class}><td>{name}</td><td class=\"n\">{total}</td><td class=\"n\">{positive}</td>\
             <td class=\"n\">{negative}</td><td class=\"n\">{delta}</td></tr>",
            row_class = if withheld { " class=\"withheld\"" } else { "" },
            name = escape(&service.name),
            total = thousands(this.total()),
        );
    }
    html.push_str("</tbody></table>");
    let _ = writeln!(
        html,
        "<p class=\"small\">* Withheld: fewer than {SMALL_NUMBER_LIMIT} responses, too few to show \
         without risk of identifying someone. The number of responses is always shown.</p></section>"
    );
}

fn render_themes(html: &mut String, report: &MonthlyReport) {
    let shown: Vec<&(String, u64)> = report
        .tags
        .iter()
        .filter(|(_, uses)| *uses >= SMALL_NUMBER_LIMIT)
        .take(TOP_TAGS)
        .collect();
    let _ = write!(
        html,
        "<section><h2>Themes, {}</h2>\
         <p class=\"lede\">The tags moderators most often gave this month's feedback. \
         One response may carry several tags.</p>",
        escape(&report.month.name())
    );
    if shown.is_empty() {
        let _ = write!(
            html,
            "<p>No theme was tagged on {SMALL_NUMBER_LIMIT} or more responses this month.</p>"
        );
    } else {
        let max = shown.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
        let row = 26.0;
        let (width, label_width) = (1060.0, 230.0);
        let height = row * shown.len() as f64 + 6.0;
        let mut svg = String::new();
        let _ = write!(
            svg,
            "<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" \
             aria-label=\"Most used tags in {}\">",
            escape(&report.month.name())
        );
        for (index, (tag, uses)) in shown.iter().enumerate() {
            let y = row * index as f64 + 4.0;
            let w = (width - label_width - 70.0) * *uses as f64 / max as f64;
            let _ = write!(
                svg,
                "<text x=\"{lx}\" y=\"{ty:.1}\" font-size=\"13\" fill=\"#212b32\" text-anchor=\"end\">{tag}</text>\
                 <rect x=\"{label_width}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"18\" rx=\"2\" fill=\"{c}\"/>\
                 <text x=\"{vx:.1}\" y=\"{ty:.1}\" font-size=\"12\" fill=\"{d}\">{uses}</text>",
                lx = label_width - 10.0,
                ty = y + 13.5,
                tag = escape(tag),
                c = colour::AQUA_GREEN,
                vx = label_width + w + 6.0,
                d = colour::DARK_GREY,
                uses = thousands(*uses),
            );
        }
        svg.push_str("</svg>");
        html.push_str(&svg);
    }
    let fewer = report
        .tags
        .iter()
        .filter(|(_, uses)| *uses < SMALL_NUMBER_LIMIT)
        .count();
    if fewer > 0 {
        let _ = write!(
            html,
            "<p class=\"small\">{fewer} further tag(s) were each used on fewer than \
             {SMALL_NUMBER_LIMIT} responses and are not listed.</p>"
        );
    }
    html.push_str("</section>\n");
}

fn render_definitions(html: &mut String, report: &MonthlyReport) {
    let _ = writeln!(
        html,
        "<section><h2>About these figures</h2><dl>\
         <dt>The question</dt><dd>The NHS Friends and Family Test asks: “Overall, how was your experience of our service?” \
         Residents answer very good, good, neither good nor poor, poor, very poor or don’t know.</dd>\
         <dt>Percent positive</dt><dd>(very good + good) ÷ (all responses − don’t know) × 100, as NHS England defines it. \
         “Neither good nor poor” stays in the denominator.</dd>\
         <dt>Percent negative</dt><dd>(poor + very poor) ÷ (all responses − don’t know) × 100. \
         No percentage is shown when every response was “don’t know”.</dd>\
         <dt>Small numbers</dt><dd>Where a group (a service, a month, a channel, or all services) had 1 to {limit_less} \
         responses, its percentages are withheld so that no one’s answer can be picked out; \
         the number of responses is still shown. Themes used on fewer than {limit} responses are not listed.</dd>\
         <dt>What counts</dt><dd>Every response received in the month (by the date we received it, in UTC), \
         from every channel, except those moderators marked as spam. \
         Percentages are rounded to whole numbers.</dd>\
         <dt>Period</dt><dd>{first} to {last}; the report’s month is {month}.</dd>\
         </dl></section>",
        limit_less = SMALL_NUMBER_LIMIT - 1,
        limit = SMALL_NUMBER_LIMIT,
        first = escape(&report.months.first().map(|m| m.name()).unwrap_or_default()),
        last = escape(&report.month.name()),
        month = escape(&report.month.name()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submissions::model::FftRating;

    fn counts(good: u64, poor: u64) -> RatingCounts {
        let mut counts = RatingCounts::default();
        counts.add(FftRating::Good, good);
        counts.add(FftRating::Poor, poor);
        counts
    }

    fn report() -> MonthlyReport {
        let month = Month::new(2026, 5).unwrap();
        let months: Vec<Month> = (0..12).map(|n| month.plus(n - 11)).collect();
        let mut overall = vec![counts(8, 2); 12];
        overall[11] = counts(9, 1);
        MonthlyReport {
            organisation: "Tower Hamlets <Together>".into(),
            month,
            generated_at: month.end(),
            months,
            overall,
            channels: vec![(Channel::Web, vec![10; 12]), (Channel::Paper, vec![0; 12])],
            services: vec![
                ServiceSeries {
                    name: "Maternity & <b>births</b>".into(),
                    months: vec![counts(8, 2); 12],
                },
                ServiceSeries {
                    name: "Tiny clinic".into(),
                    months: vec![counts(2, 1); 12],
                },
            ],
            quiet_services: vec!["Quiet service".into()],
            tags: vec![("waiting-times".into(), 7), ("parking".into(), 2)],
        }
    }

    #[test]
    fn the_report_is_self_contained_and_escapes_names() {
        let html = render(&report());
        assert!(html.contains("<svg"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("src=\"http"));
        assert!(!html.contains("href=\"http"));
        assert!(html.contains("Tower Hamlets &lt;Together&gt;"));
        assert!(html.contains("Maternity &amp; &lt;b&gt;births&lt;/b&gt;"));
        assert!(!html.contains("<b>births"));
    }

    #[test]
    fn the_report_shows_the_month_and_withholds_small_numbers() {
        let html = render(&report());
        assert!(html.contains("May 2026"));
        assert!(html.contains("90%"), "the month's percent positive");
        assert!(html.contains("+10 pts"), "the change since April");
        assert!(html.contains("withheld*"), "the tiny clinic's percentages");
        assert!(html.contains("waiting-times"));
        assert!(
            !html.contains(">parking<"),
            "a tag used twice is not listed"
        );
    }

    #[test]
    fn chart_tops_are_round_numbers() {
        assert_eq!(nice_ceiling(0), 4);
        assert_eq!(nice_ceiling(7), 8);
        assert_eq!(nice_ceiling(312), 400);
        assert_eq!(nice_ceiling(1000), 1000);
        assert_eq!(nice_ceiling(1001), 2000);
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(scale_floor([88.0, 93.5].into_iter()), 50.0);
        assert_eq!(scale_floor([88.0, 41.2].into_iter()), 40.0);
        assert_eq!(scale_floor(std::iter::empty()), 50.0);
        assert_eq!(scale_floor([0.0].into_iter()), 0.0);
    }
}
