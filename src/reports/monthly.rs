//! `hamlet report --month YYYY-MM --out DIR`: the monthly Friends and Family
//! Test report for the partnership's Board, as one self-contained HTML file:
//! inline CSS and hand-drawn SVG charts, no scripts and nothing fetched, so
//! it reads the same offline, attached to an email, or printed.
//!
//! It holds figures only, never free text: small numbers are withheld as
//! `feedbackStats` withholds them. This module works out the figures and
//! the charts' geometry; the page is the askama template
//! `templates/reports/monthly.html`, checked when hamlet is compiled, and
//! askama escapes every name in it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use askama::Template;
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

/// The report's page: `templates/reports/monthly.html`, filled with what
/// [`page`] works out. askama escapes every value in it.
#[derive(Template)]
#[template(path = "reports/monthly.html", whitespace = "minimize")]
struct Page<'a> {
    organisation: &'a str,
    /// The report's month, e.g. "May 2026".
    month: String,
    /// The first of the twelve months.
    first_month: String,
    previous: String,
    previous_short: &'static str,
    /// When the report was made, in UTC.
    made: String,
    /// Whether the month is still going on.
    partial: bool,
    limit: u64,
    cards: Cards,
    multiples: Multiples<'a>,
    legend: Vec<(&'static str, &'static str)>,
    volumes: Volumes,
    mix: ChannelMix,
    services: Vec<ServiceRow<'a>>,
    themes: Themes<'a>,
}

/// The month at a glance.
struct Cards {
    total: String,
    volume_note: String,
    positive: String,
    positive_note: String,
    negative: String,
    negative_note: String,
    rated_services: usize,
    all_services: usize,
}

struct Multiples<'a> {
    /// The foot of the scale all panels share.
    floor: f64,
    panels: Vec<Panel<'a>>,
    quiet: &'a [String],
}

/// One service's small multiple.
struct Panel<'a> {
    name: &'a str,
    /// What the chart shows, for screen readers.
    label: String,
    width: f64,
    height: f64,
    grid: Vec<GridLine>,
    /// Months with responses, withheld: a `*` on the axis.
    withheld: Vec<Point>,
    overall_path: String,
    path: String,
    /// Points with no neighbour, drawn as dots.
    lonely: Vec<Point>,
    last: Option<LastPoint>,
    axis: Option<Axis>,
}

struct GridLine {
    x1: f64,
    x2: f64,
    y: f64,
    tx: f64,
    ty: f64,
    value: f64,
}

struct Point {
    x: f64,
    y: f64,
}

/// The month's point, marked and labelled.
struct LastPoint {
    x: f64,
    y: f64,
    tx: f64,
    ty: f64,
    label: String,
}

/// The first and last months under a panel.
struct Axis {
    x1: f64,
    x2: f64,
    y: f64,
    first: String,
    last: String,
}

/// Responses per month, stacked by channel.
struct Volumes {
    width: f64,
    height: f64,
    grid_from: f64,
    grid_to: f64,
    label_x: f64,
    grid: Vec<VolumeLine>,
    bars: Vec<VolumeBar>,
}

struct VolumeLine {
    y: f64,
    label_y: f64,
    label: String,
}

/// One month's stack, its total and its name (and year, at a new year).
struct VolumeBar {
    blocks: Vec<Block>,
    centre: f64,
    total_y: f64,
    total: String,
    month_y: f64,
    month: &'static str,
    year_y: f64,
    year: Option<i32>,
}

struct Block {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    colour: &'static str,
}

/// The month's responses by channel: a bar of shares, and a table.
struct ChannelMix {
    width: f64,
    height: f64,
    /// Empty when nobody responded.
    blocks: Vec<MixBlock>,
    rows: Vec<MixRow>,
}

struct MixBlock {
    x: f64,
    width: f64,
    colour: &'static str,
    /// The share written on the block, where it is wide enough.
    share: Option<Share>,
}

struct Share {
    x: f64,
    colour: &'static str,
    percent: f64,
}

struct MixRow {
    colour: &'static str,
    name: &'static str,
    responses: String,
    share: String,
}

/// One service's line in the month's table.
struct ServiceRow<'a> {
    withheld: bool,
    name: &'a str,
    responses: String,
    positive: String,
    negative: String,
    change: Option<Change>,
}

struct Change {
    class: &'static str,
    text: String,
}

/// The month's most used tags.
struct Themes<'a> {
    width: f64,
    height: f64,
    label_x: f64,
    bar_x: f64,
    bars: Vec<ThemeBar<'a>>,
    /// Tags used too few times to list.
    unlisted: usize,
}

struct ThemeBar<'a> {
    tag: &'a str,
    y: f64,
    text_y: f64,
    width: f64,
    uses_x: f64,
    uses: String,
}

/// The report as one HTML document.
pub fn render(report: &MonthlyReport) -> String {
    // askama writes into a String, which cannot fail, and every value in
    // the page is a string or a number, whose Display cannot fail either.
    page(report).to_string()
}

fn page(report: &MonthlyReport) -> Page<'_> {
    let month = report.month;
    let previous = month.previous();
    Page {
        organisation: &report.organisation,
        month: month.name(),
        first_month: report.months.first().map(|m| m.name()).unwrap_or_default(),
        previous: previous.name(),
        previous_short: previous.month_name(),
        made: report.generated_at.format("%-d %B %Y, %H:%M").to_string(),
        partial: month == Month::of(report.generated_at),
        limit: SMALL_NUMBER_LIMIT,
        cards: cards(report),
        multiples: multiples(report),
        legend: CHANNELS
            .iter()
            .map(|&channel| (channel_colour(channel), channel_name(channel)))
            .collect(),
        volumes: volumes(report),
        mix: channel_mix(report),
        services: service_rows(report),
        themes: themes(report),
    }
}

fn cards(report: &MonthlyReport) -> Cards {
    let this = report.overall.last().copied().unwrap_or_default();
    let before = report
        .overall
        .len()
        .checked_sub(2)
        .and_then(|i| report.overall.get(i))
        .copied()
        .unwrap_or_default();
    let previous = report.month.previous();
    let total = this.total();
    let withheld = is_small_number(total);
    let shown = |value: Option<f64>| {
        if withheld {
            "withheld".to_owned()
        } else {
            percent(value)
        }
    };
    let note = |what: &str, change: String| {
        if change.is_empty() {
            what.to_owned()
        } else {
            format!("{what} · {change} on {}", previous.month_name())
        }
    };
    Cards {
        total: thousands(total),
        volume_note: format!("{} in {}", thousands(before.total()), previous.month_name()),
        positive: shown(shown_positive(&this)),
        positive_note: note(
            "very good or good",
            change(shown_positive(&this), shown_positive(&before)),
        ),
        negative: shown(shown_negative(&this)),
        negative_note: note(
            "poor or very poor",
            change(shown_negative(&this), shown_negative(&before)),
        ),
        rated_services: report
            .services
            .iter()
            .filter(|service| service.months.last().is_some_and(|c| c.total() > 0))
            .count(),
        all_services: report.services.len() + report.quiet_services.len(),
    }
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

fn panel<'a>(
    report: &MonthlyReport,
    service: &'a ServiceSeries,
    overall: &[Option<f64>],
    floor: f64,
) -> Panel<'a> {
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
    let last_value = values.last().copied().flatten();
    let label = match last_value {
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
    let grid = [floor, (floor + 100.0) / 2.0, 100.0]
        .into_iter()
        .map(|value| {
            let y = frame.y(value);
            GridLine {
                x1: frame.left,
                x2: frame.width - frame.right,
                y,
                tx: frame.left - 5.0,
                ty: y + 3.5,
                value,
            }
        })
        .collect();
    let withheld = service
        .months
        .iter()
        .enumerate()
        .filter(|(_, counts)| is_small_number(counts.total()))
        .map(|(index, _)| Point {
            x: frame.x(index, count),
            y: frame.y(floor) + 1.0,
        })
        .collect();
    let (overall_path, _) = series_path(&frame, overall);
    let (path, lonely) = series_path(&frame, &values);
    let last = last_value.map(|value| {
        let (x, y) = (frame.x(count - 1, count), frame.y(value));
        LastPoint {
            x,
            y,
            tx: x + 6.0,
            ty: y + 4.0,
            label: percent(Some(value)),
        }
    });
    let axis = report
        .months
        .first()
        .zip(report.months.last())
        .map(|(first, last)| Axis {
            x1: frame.left,
            x2: frame.width - frame.right,
            y: frame.height - 6.0,
            first: format!("{} {}", first.short_name(), first.year()),
            last: format!("{} {}", last.short_name(), last.year()),
        });
    Panel {
        name: &service.name,
        label,
        width: frame.width,
        height: frame.height,
        grid,
        withheld,
        overall_path,
        path,
        lonely: lonely.into_iter().map(|(x, y)| Point { x, y }).collect(),
        last,
        axis,
    }
}

/// The foot of the percent-positive scale all panels share: 50%, or lower
/// in steps of 10 so that no value falls off it.
fn scale_floor(values: impl Iterator<Item = f64>) -> f64 {
    let lowest = values.fold(50.0_f64, f64::min);
    ((lowest / 10.0).floor() * 10.0).clamp(0.0, 50.0)
}

fn multiples(report: &MonthlyReport) -> Multiples<'_> {
    let overall: Vec<Option<f64>> = report.overall.iter().map(shown_positive).collect();
    let floor = scale_floor(
        report
            .services
            .iter()
            .flat_map(|service| service.months.iter().map(shown_positive))
            .chain(overall.iter().copied())
            .flatten(),
    );
    Multiples {
        floor,
        panels: report
            .services
            .iter()
            .map(|service| panel(report, service, &overall, floor))
            .collect(),
        quiet: &report.quiet_services,
    }
}

fn volumes(report: &MonthlyReport) -> Volumes {
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
    let grid = (0..=4)
        .map(|step| {
            let value = max as f64 * f64::from(step) / 4.0;
            let y = top + plot_height * (1.0 - f64::from(step) / 4.0);
            VolumeLine {
                y,
                label_y: y + 3.5,
                label: thousands(value.round() as u64),
            }
        })
        .collect();
    let bars = report
        .months
        .iter()
        .enumerate()
        .map(|(index, month)| {
            let x = left + slot * index as f64 + (slot - bar) / 2.0;
            let mut base = top + plot_height;
            let mut blocks = Vec::new();
            for (channel, counts) in &report.channels {
                let value = counts.get(index).copied().unwrap_or(0);
                if value == 0 || max == 0 {
                    continue;
                }
                let h = plot_height * value as f64 / max as f64;
                base -= h;
                blocks.push(Block {
                    x,
                    y: base,
                    width: bar,
                    height: h,
                    colour: channel_colour(*channel),
                });
            }
            VolumeBar {
                blocks,
                centre: x + bar / 2.0,
                total_y: base - 4.0,
                total: thousands(totals.get(index).copied().unwrap_or(0)),
                month_y: height - bottom + 14.0,
                month: month.short_name(),
                year_y: height - bottom + 27.0,
                year: (index == 0 || month.number() == 1).then(|| month.year()),
            }
        })
        .collect();
    Volumes {
        width,
        height,
        grid_from: left,
        grid_to: width - right,
        label_x: left - 5.0,
        grid,
        bars,
    }
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

fn channel_mix(report: &MonthlyReport) -> ChannelMix {
    let last = report.months.len().saturating_sub(1);
    let counts: Vec<(Channel, u64)> = report
        .channels
        .iter()
        .map(|(channel, counts)| (*channel, counts.get(last).copied().unwrap_or(0)))
        .collect();
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let width = 520.0;
    let mut blocks = Vec::new();
    if total > 0 {
        let mut x = 0.0;
        for (channel, count) in &counts {
            if *count == 0 {
                continue;
            }
            let w = width * *count as f64 / total as f64;
            let share = (w > 34.0).then(|| Share {
                x: x + w / 2.0,
                colour: if matches!(channel, Channel::Paper | Channel::Kiosk) {
                    "#212b32"
                } else {
                    "#ffffff"
                },
                percent: 100.0 * *count as f64 / total as f64,
            });
            blocks.push(MixBlock {
                x,
                width: w,
                colour: channel_colour(*channel),
                share,
            });
            x += w;
        }
    }
    let rows = counts
        .iter()
        .map(|(channel, count)| MixRow {
            colour: channel_colour(*channel),
            name: channel_name(*channel),
            responses: thousands(*count),
            share: if total > 0 {
                format!("{:.0}%", 100.0 * *count as f64 / total as f64)
            } else {
                "–".to_owned()
            },
        })
        .collect();
    ChannelMix {
        width,
        height: 44.0,
        blocks,
        rows,
    }
}

fn service_rows(report: &MonthlyReport) -> Vec<ServiceRow<'_>> {
    report
        .services
        .iter()
        .map(|service| {
            let len = service.months.len();
            let this = service.months.last().copied().unwrap_or_default();
            let before = len
                .checked_sub(2)
                .and_then(|i| service.months.get(i))
                .copied()
                .unwrap_or_default();
            let withheld = is_small_number(this.total());
            let (positive, negative, change) = if withheld {
                ("withheld*".to_owned(), "withheld*".to_owned(), None)
            } else {
                let text = change(shown_positive(&this), shown_positive(&before));
                let class = if text.starts_with('+') {
                    "up"
                } else if text.starts_with('−') {
                    "down"
                } else {
                    ""
                };
                (
                    percent(shown_positive(&this)),
                    percent(shown_negative(&this)),
                    Some(Change { class, text }),
                )
            };
            ServiceRow {
                withheld,
                name: &service.name,
                responses: thousands(this.total()),
                positive,
                negative,
                change,
            }
        })
        .collect()
}

fn themes(report: &MonthlyReport) -> Themes<'_> {
    let shown: Vec<&(String, u64)> = report
        .tags
        .iter()
        .filter(|(_, uses)| *uses >= SMALL_NUMBER_LIMIT)
        .take(TOP_TAGS)
        .collect();
    let max = shown.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let row = 26.0;
    let (width, label_width) = (1060.0, 230.0);
    let bars = shown
        .iter()
        .enumerate()
        .map(|(index, (tag, uses))| {
            let y = row * index as f64 + 4.0;
            let w = (width - label_width - 70.0) * *uses as f64 / max as f64;
            ThemeBar {
                tag,
                y,
                text_y: y + 13.5,
                width: w,
                uses_x: label_width + w + 6.0,
                uses: thousands(*uses),
            }
        })
        .collect();
    Themes {
        width,
        height: row * shown.len() as f64 + 6.0,
        label_x: label_width - 10.0,
        bar_x: label_width,
        bars,
        unlisted: report
            .tags
            .iter()
            .filter(|(_, uses)| *uses < SMALL_NUMBER_LIMIT)
            .count(),
    }
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
        // askama writes entities by number: &#60; is <, &#62; >, &#38; &.
        assert!(html.contains("Tower Hamlets &#60;Together&#62;"));
        assert!(html.contains("Maternity &#38; &#60;b&#62;births&#60;/b&#62;"));
        assert!(!html.contains("<b>births"));
    }

    #[test]
    fn a_name_with_markup_in_it_comes_out_as_text_in_content_and_attributes() {
        let hostile = "<script>&\"'";
        let mut report = report();
        report.services[0].name = format!("{hostile}clinic");
        report.quiet_services = vec![format!("{hostile}quiet")];
        report.tags = vec![(format!("{hostile}tag"), 7)];
        let html = render(&report);
        assert!(!html.contains("<script"), "no markup gets through");
        let escaped = "&#60;script&#62;&#38;&#34;&#39;";
        assert!(html.contains(&format!("<h3>{escaped}clinic</h3>")));
        assert!(html.contains(&format!("<td>{escaped}clinic</td>")));
        assert!(html.contains(&format!(": {escaped}quiet.</p>")));
        assert!(html.contains(&format!(">{escaped}tag</text>")));
        assert!(
            html.contains(&format!("aria-label=\"{escaped}clinic: ")),
            "the chart's label, an attribute, is escaped too"
        );
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
