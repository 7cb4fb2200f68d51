//! The rules of feedback statistics: NHS England's Friends and Family Test
//! definitions, small-number suppression, and calendar periods. No I/O here.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use uuid::Uuid;

use crate::error::AppError;
use crate::submissions::model::{Channel, FftRating};

/// Every rating, in the order reports list them.
pub const RATINGS: [FftRating; 6] = [
    FftRating::VeryGood,
    FftRating::Good,
    FftRating::NeitherGoodNorPoor,
    FftRating::Poor,
    FftRating::VeryPoor,
    FftRating::DontKnow,
];

/// Every channel, in the order reports list them.
pub const CHANNELS: [Channel; 5] = [
    Channel::Web,
    Channel::Kiosk,
    Channel::Mobile,
    Channel::Paper,
    Channel::Phone,
];

/// The fewest responses a group needs for its rating split to be shown.
/// Groups with 1 to 4 responses are withheld, so that nobody's answer can be
/// picked out of a handful; a group with none is shown as none.
pub const SMALL_NUMBER_LIMIT: u64 = 5;

/// Whether a group of this many responses has its rating split withheld.
pub fn is_small_number(responses: u64) -> bool {
    responses > 0 && responses < SMALL_NUMBER_LIMIT
}

fn rating_index(rating: FftRating) -> usize {
    match rating {
        FftRating::VeryGood => 0,
        FftRating::Good => 1,
        FftRating::NeitherGoodNorPoor => 2,
        FftRating::Poor => 3,
        FftRating::VeryPoor => 4,
        FftRating::DontKnow => 5,
    }
}

/// How many responses gave each rating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RatingCounts([u64; 6]);

impl RatingCounts {
    pub fn add(&mut self, rating: FftRating, count: u64) {
        self.0[rating_index(rating)] += count;
    }

    pub fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }

    pub fn get(&self, rating: FftRating) -> u64 {
        self.0[rating_index(rating)]
    }

    /// All responses, "don't know" included.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Very good and good.
    pub fn positive(&self) -> u64 {
        self.get(FftRating::VeryGood) + self.get(FftRating::Good)
    }

    /// Poor and very poor.
    pub fn negative(&self) -> u64 {
        self.get(FftRating::Poor) + self.get(FftRating::VeryPoor)
    }

    /// The responses percentages are taken of: all but "don't know".
    /// "Neither good nor poor" counts here though it is neither positive nor
    /// negative, as NHS England defines it.
    pub fn rated(&self) -> u64 {
        self.total() - self.get(FftRating::DontKnow)
    }

    /// (very good + good) / (all − don't know) × 100; `None` when nobody rated.
    pub fn percent_positive(&self) -> Option<f64> {
        percent(self.positive(), self.rated())
    }

    /// (poor + very poor) / (all − don't know) × 100; `None` when nobody rated.
    pub fn percent_negative(&self) -> Option<f64> {
        percent(self.negative(), self.rated())
    }

    /// What may be shown of a group with these counts.
    pub fn publish(&self) -> Figures {
        let total = self.total();
        if is_small_number(total) {
            Figures {
                total,
                suppressed: true,
                counts: None,
                percent_positive: None,
                percent_negative: None,
            }
        } else {
            Figures {
                total,
                suppressed: false,
                counts: Some(*self),
                percent_positive: self.percent_positive(),
                percent_negative: self.percent_negative(),
            }
        }
    }
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| 100.0 * part as f64 / whole as f64)
}

/// The figures of one group as they may be published: the number of
/// responses always, the rating split only when the group is not a small
/// number.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub total: u64,
    /// The group had 1 to 4 responses, so its rating split is withheld.
    pub suppressed: bool,
    /// `None` when suppressed.
    pub counts: Option<RatingCounts>,
    pub percent_positive: Option<f64>,
    pub percent_negative: Option<f64>,
}

/// A calendar month (UTC), such as 2026-05.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    /// 1 to 12.
    month: u32,
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Month {
    /// A month of years 1 to 9999.
    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((1..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    /// Reads `YYYY-MM`.
    pub fn parse(value: &str, field: &str) -> Result<Self, AppError> {
        let invalid =
            || AppError::bad_input(field, "must be a month written YYYY-MM, e.g. 2026-05");
        let value = value.trim();
        let (year, month) = value.split_once('-').ok_or_else(invalid)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(invalid());
        }
        let year = year.parse().map_err(|_| invalid())?;
        let month = month.parse().map_err(|_| invalid())?;
        Self::new(year, month).ok_or_else(invalid)
    }

    /// The month holding this moment (within years 1 to 9999).
    pub fn of(at: DateTime<Utc>) -> Self {
        match at.year() {
            ..=0 => Self { year: 1, month: 1 },
            10_000.. => Self {
                year: 9999,
                month: 12,
            },
            year => Self {
                year,
                month: at.month(),
            },
        }
    }

    /// The month holding the last instant before `end`: the last month of a
    /// range that ends (exclusively) at `end`.
    pub fn before(end: DateTime<Utc>) -> Self {
        Self::of(
            end.checked_sub_signed(chrono::Duration::microseconds(1))
                .unwrap_or(end),
        )
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn number(self) -> u32 {
        self.month
    }

    /// Months since the start of year 0: consecutive months differ by one.
    pub fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    fn from_index(index: i64) -> Option<Self> {
        let year = i32::try_from(index.div_euclid(12)).ok()?;
        let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
        Self::new(year, month)
    }

    /// The month `count` months later (earlier when negative), kept within
    /// years 1 to 9999.
    pub fn plus(self, count: i64) -> Self {
        let index = self.index().saturating_add(count);
        let first = Self { year: 1, month: 1 }.index();
        let last = Self {
            year: 9999,
            month: 12,
        }
        .index();
        Self::from_index(index.clamp(first, last)).unwrap_or(self)
    }

    pub fn next(self) -> Self {
        self.plus(1)
    }

    pub fn previous(self) -> Self {
        self.plus(-1)
    }

    /// Midnight UTC on the first of the month.
    pub fn start(self) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .map_or(DateTime::<Utc>::MAX_UTC, |at| at.and_utc())
    }

    /// The start of the next month: a month is `start() <= t < end()`.
    pub fn end(self) -> DateTime<Utc> {
        if self.year == 9999 && self.month == 12 {
            return DateTime::<Utc>::MAX_UTC;
        }
        self.next().start()
    }

    /// "May 2026".
    pub fn name(self) -> String {
        format!("{} {}", self.month_name(), self.year)
    }

    /// "May".
    pub fn month_name(self) -> &'static str {
        MONTH_NAMES
            .get(self.month as usize - 1)
            .copied()
            .unwrap_or("")
    }

    /// "May" shortened to "May", "September" to "Sep".
    pub fn short_name(self) -> &'static str {
        let name = self.month_name();
        name.get(..3).unwrap_or(name)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// How long each row of a statistics time series is.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StatsPeriod {
    /// Calendar months (UTC), labelled `2026-05`.
    #[default]
    Month,
    /// Calendar quarters, labelled `2026-Q2` (April to June).
    Quarter,
    /// Calendar years, labelled `2026`.
    Year,
}

impl StatsPeriod {
    pub fn months(self) -> i64 {
        match self {
            Self::Month => 1,
            Self::Quarter => 3,
            Self::Year => 12,
        }
    }

    /// The first month of the period holding `month`.
    pub fn start_of(self, month: Month) -> Month {
        let into = match self {
            Self::Month => 0,
            Self::Quarter => (month.number() - 1) % 3,
            Self::Year => month.number() - 1,
        };
        month.plus(-i64::from(into))
    }

    /// The period starting at `start`, as clients see it named.
    pub fn label(self, start: Month) -> String {
        match self {
            Self::Month => start.to_string(),
            Self::Quarter => format!("{}-Q{}", start.year(), (start.number() - 1) / 3 + 1),
            Self::Year => start.year().to_string(),
        }
    }

    /// The starts of every period from the one holding `first` to the one
    /// holding `last`, at most `limit` of them (the latest kept).
    pub fn starts(self, first: Month, last: Month, limit: usize) -> Vec<Month> {
        let first = self.start_of(first);
        let last = self.start_of(last);
        if last < first {
            return Vec::new();
        }
        let count = (last.index() - first.index()) / self.months() + 1;
        let skip = (count - i64::try_from(limit).unwrap_or(i64::MAX)).max(0);
        (skip..count)
            .map(|n| first.plus(n * self.months()))
            .collect()
    }
}

/// Responses counted by service, channel, month and rating: what one grouped
/// query answers, from which every breakdown is added up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    pub service: Uuid,
    pub channel: Channel,
    pub month: Month,
    pub rating: FftRating,
    pub count: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Cube(Vec<Cell>);

impl Cube {
    pub fn new(cells: Vec<Cell>) -> Self {
        Self(cells)
    }

    pub fn cells(&self) -> &[Cell] {
        &self.0
    }

    /// Counts over every cell.
    pub fn whole(&self) -> RatingCounts {
        let mut counts = RatingCounts::default();
        for cell in &self.0 {
            counts.add(cell.rating, cell.count);
        }
        counts
    }

    /// Counts grouped by `key`.
    pub fn by<K: Ord>(&self, key: impl Fn(&Cell) -> K) -> BTreeMap<K, RatingCounts> {
        let mut groups: BTreeMap<K, RatingCounts> = BTreeMap::new();
        for cell in &self.0 {
            groups
                .entry(key(cell))
                .or_default()
                .add(cell.rating, cell.count);
        }
        groups
    }

    /// The cells `keep` says yes to.
    pub fn only(&self, keep: impl Fn(&Cell) -> bool) -> Self {
        Self(self.0.iter().copied().filter(|cell| keep(cell)).collect())
    }

    /// The first and last months with responses.
    pub fn month_span(&self) -> Option<(Month, Month)> {
        let first = self.0.iter().map(|cell| cell.month).min()?;
        let last = self.0.iter().map(|cell| cell.month).max()?;
        Some((first, last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(FftRating, u64)]) -> RatingCounts {
        let mut counts = RatingCounts::default();
        for (rating, count) in pairs {
            counts.add(*rating, *count);
        }
        counts
    }

    #[test]
    fn percentages_leave_dont_know_out_and_keep_neither_in() {
        let counts = counts(&[
            (FftRating::VeryGood, 3),
            (FftRating::Good, 2),
            (FftRating::NeitherGoodNorPoor, 1),
            (FftRating::Poor, 1),
            (FftRating::VeryPoor, 1),
            (FftRating::DontKnow, 2),
        ]);
        assert_eq!(counts.total(), 10);
        assert_eq!(counts.rated(), 8);
        assert_eq!(counts.percent_positive(), Some(62.5));
        assert_eq!(counts.percent_negative(), Some(25.0));
    }

    #[test]
    fn percentages_are_null_when_nobody_rated() {
        assert_eq!(RatingCounts::default().percent_positive(), None);
        let only_dont_know = counts(&[(FftRating::DontKnow, 7)]);
        assert_eq!(only_dont_know.percent_positive(), None);
        assert_eq!(only_dont_know.percent_negative(), None);
        let figures = only_dont_know.publish();
        assert!(!figures.suppressed);
        assert_eq!(figures.counts, Some(only_dont_know));
    }

    #[test]
    fn one_to_four_responses_are_withheld_and_none_or_five_are_shown() {
        for total in 1..=4 {
            let figures = counts(&[(FftRating::Good, total)]).publish();
            assert!(figures.suppressed, "{total}");
            assert_eq!(figures.total, total);
            assert_eq!(figures.counts, None);
            assert_eq!(figures.percent_positive, None);
        }
        let none = RatingCounts::default().publish();
        assert!(!none.suppressed);
        assert_eq!(none.counts, Some(RatingCounts::default()));
        let five = counts(&[(FftRating::Good, 4), (FftRating::Poor, 1)]).publish();
        assert!(!five.suppressed);
        assert_eq!(five.percent_positive, Some(80.0));
        assert_eq!(five.percent_negative, Some(20.0));
    }

    #[test]
    fn months_parse_and_step() {
        let may = Month::parse("2026-05", "month").unwrap();
        assert_eq!(may.to_string(), "2026-05");
        assert_eq!(may.name(), "May 2026");
        assert_eq!(may.next().to_string(), "2026-06");
        assert_eq!(may.plus(-5).to_string(), "2025-12");
        assert_eq!(may.plus(8).to_string(), "2027-01");
        assert_eq!(may.start().to_rfc3339(), "2026-05-01T00:00:00+00:00");
        assert_eq!(may.end().to_rfc3339(), "2026-06-01T00:00:00+00:00");
        assert_eq!(Month::of(may.end()), may.next());
        assert_eq!(Month::before(may.end()), may);
        assert_eq!(
            Month::before(DateTime::<Utc>::MIN_UTC),
            Month::new(1, 1).unwrap()
        );
        assert_eq!(
            Month::of(DateTime::<Utc>::MAX_UTC),
            Month::new(9999, 12).unwrap()
        );
        for bad in [
            "2026-5", "2026-13", "2026-00", "26-05", "2026/05", "", "abcd-ef",
        ] {
            assert!(Month::parse(bad, "month").is_err(), "{bad}");
        }
        let last = Month::new(9999, 12).unwrap();
        assert_eq!(last.next(), last);
        assert_eq!(last.end(), DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn periods_are_labelled_and_listed() {
        let aug = Month::new(2026, 8).unwrap();
        assert_eq!(
            StatsPeriod::Quarter.label(StatsPeriod::Quarter.start_of(aug)),
            "2026-Q3"
        );
        assert_eq!(
            StatsPeriod::Year.label(StatsPeriod::Year.start_of(aug)),
            "2026"
        );
        let starts = StatsPeriod::Quarter.starts(Month::new(2025, 11).unwrap(), aug, 100);
        let labels: Vec<_> = starts
            .iter()
            .map(|start| StatsPeriod::Quarter.label(*start))
            .collect();
        assert_eq!(labels, ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]);
        let months = StatsPeriod::Month.starts(Month::new(2025, 1).unwrap(), aug, 3);
        assert_eq!(
            months.first().map(ToString::to_string),
            Some("2026-06".into())
        );
        assert_eq!(months.len(), 3);
        assert!(
            StatsPeriod::Month
                .starts(aug, aug.previous(), 10)
                .is_empty()
        );
    }

    #[test]
    fn a_cube_adds_up_by_any_key() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        let may = Month::new(2026, 5).unwrap();
        let cell = |service, channel, month, rating, count| Cell {
            service,
            channel,
            month,
            rating,
            count,
        };
        let cube = Cube::new(vec![
            cell(a, Channel::Web, may, FftRating::Good, 3),
            cell(a, Channel::Paper, may.previous(), FftRating::Poor, 2),
            cell(b, Channel::Web, may, FftRating::VeryGood, 5),
        ]);
        assert_eq!(cube.whole().total(), 10);
        let by_service = cube.by(|cell| cell.service);
        assert_eq!(by_service[&a].total(), 5);
        assert_eq!(by_service[&b].get(FftRating::VeryGood), 5);
        let by_channel = cube.by(|cell| cell.channel.as_str());
        assert_eq!(by_channel["WEB"].total(), 8);
        assert_eq!(cube.month_span(), Some((may.previous(), may)));
        assert_eq!(cube.only(|cell| cell.month == may).whole().total(), 8);
    }
}
