//! Time phrases (RU/EN) → calendar periods → SQL conditions on a timestamp column.
//!
//! The conventions are the evaluation set's: "last N days" is N full days plus today so far,
//! weeks start on Monday, "last N months" is the current month plus the N−1 before it.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::text::Token;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Day,
    Week,
    Month,
    Year,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Day => "day",
            Unit::Week => "week",
            Unit::Month => "month",
            Unit::Year => "year",
        }
    }
}

/// A period relative to "now" in the business time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Today,
    Yesterday,
    DayBeforeYesterday,
    /// The last `n` full days plus today so far.
    LastDays(u32),
    /// The current calendar month plus the `n - 1` before it.
    LastMonths(u32),
    /// The current week/month/year to date.
    This(Unit),
    /// The previous full calendar week/month/year.
    Previous(Unit),
    Year(i32),
}

impl Period {
    /// Words for messages and comparison labels.
    pub fn label(&self, ru: bool) -> String {
        use Period::*;
        let unit_ru = |u: Unit, this: bool| match (u, this) {
            (Unit::Day, _) => "день",
            (Unit::Week, true) => "эта неделя",
            (Unit::Week, false) => "прошлая неделя",
            (Unit::Month, true) => "этот месяц",
            (Unit::Month, false) => "прошлый месяц",
            (Unit::Year, true) => "этот год",
            (Unit::Year, false) => "прошлый год",
        };
        match (self, ru) {
            (Today, true) => "сегодня".into(),
            (Today, false) => "today".into(),
            (Yesterday, true) => "вчера".into(),
            (Yesterday, false) => "yesterday".into(),
            (DayBeforeYesterday, true) => "позавчера".into(),
            (DayBeforeYesterday, false) => "the day before yesterday".into(),
            (LastDays(n), true) => format!("последние {n} дн."),
            (LastDays(n), false) => format!("last {n} days"),
            (LastMonths(n), true) => format!("последние {n} мес."),
            (LastMonths(n), false) => format!("last {n} months"),
            (This(u), true) => unit_ru(*u, true).into(),
            (This(u), false) => format!("this {}", u.name()),
            (Previous(u), true) => unit_ru(*u, false).into(),
            (Previous(u), false) => format!("last {}", u.name()),
            (Year(y), _) => y.to_string(),
        }
    }

    /// `[start, end)` as SQL expressions over `CURRENT_DATE` (UTC business day).
    fn sql_bounds(&self) -> (Option<String>, Option<String>) {
        use Period::*;
        let trunc = |u: Unit| format!("date_trunc('{}', CURRENT_DATE)", u.name());
        match *self {
            Today => (Some("CURRENT_DATE".into()), None),
            Yesterday => (
                Some("CURRENT_DATE - INTERVAL '1 day'".into()),
                Some("CURRENT_DATE".into()),
            ),
            DayBeforeYesterday => (
                Some("CURRENT_DATE - INTERVAL '2 days'".into()),
                Some("CURRENT_DATE - INTERVAL '1 day'".into()),
            ),
            LastDays(n) => (Some(format!("CURRENT_DATE - INTERVAL '{n} days'")), None),
            LastMonths(n) if n <= 1 => (Some(trunc(Unit::Month)), None),
            LastMonths(n) => (
                Some(format!(
                    "{} - INTERVAL '{} months'",
                    trunc(Unit::Month),
                    n - 1
                )),
                None,
            ),
            This(u) => (Some(trunc(u)), None),
            Previous(Unit::Day) => Yesterday.sql_bounds(),
            Previous(Unit::Week) => (
                Some(format!("{} - INTERVAL '7 days'", trunc(Unit::Week))),
                Some(trunc(Unit::Week)),
            ),
            Previous(u) => (
                Some(format!("{} - INTERVAL '1 {}'", trunc(u), u.name())),
                Some(trunc(u)),
            ),
            Year(y) => (
                Some(format!("TIMESTAMP '{y}-01-01 00:00:00'")),
                Some(format!("TIMESTAMP '{}-01-01 00:00:00'", y + 1)),
            ),
        }
    }

    /// `[start, end)` as naive UTC instants for a business time zone other than UTC.
    fn bounds_in(
        &self,
        tz: Tz,
        now_utc: NaiveDateTime,
    ) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
        use Period::*;
        let today = tz.from_utc_datetime(&now_utc).date_naive();
        let utc = |d: NaiveDate| {
            tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
                .earliest()
                .map(|t| t.naive_utc())
                .unwrap_or_else(|| d.and_hms_opt(0, 0, 0).expect("midnight"))
        };
        let week_start = today - Duration::days(today.weekday().num_days_from_monday() as i64);
        let month_start = today.with_day(1).expect("day 1");
        let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).expect("Jan 1");
        let months_back = |d: NaiveDate, n: u32| {
            let m = d.year() * 12 + d.month0() as i32 - n as i32;
            NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1)
                .expect("first of month")
        };
        let (s, e) = match *self {
            Today => (today, None),
            Yesterday | Previous(Unit::Day) => (today - Duration::days(1), Some(today)),
            DayBeforeYesterday => (today - Duration::days(2), Some(today - Duration::days(1))),
            LastDays(n) => (today - Duration::days(n as i64), None),
            LastMonths(n) => (months_back(month_start, n.max(1) - 1), None),
            This(Unit::Day) => (today, None),
            This(Unit::Week) => (week_start, None),
            This(Unit::Month) => (month_start, None),
            This(Unit::Year) => (year_start, None),
            Previous(Unit::Week) => (week_start - Duration::days(7), Some(week_start)),
            Previous(Unit::Month) => (months_back(month_start, 1), Some(month_start)),
            Previous(Unit::Year) => (
                NaiveDate::from_ymd_opt(today.year() - 1, 1, 1).expect("Jan 1"),
                Some(year_start),
            ),
            Year(y) => (
                NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(year_start),
                NaiveDate::from_ymd_opt(y + 1, 1, 1),
            ),
        };
        (Some(utc(s)), e.map(utc))
    }

    /// The SQL condition "`column` falls in this period".
    pub fn condition(&self, column: &str, tz: Tz) -> String {
        let (start, end) = if tz == Tz::UTC {
            self.sql_bounds()
        } else {
            let lit = |t: NaiveDateTime| format!("TIMESTAMP '{}'", t.format("%Y-%m-%d %H:%M:%S"));
            let (s, e) = self.bounds_in(tz, chrono::Utc::now().naive_utc());
            (s.map(lit), e.map(lit))
        };
        match (start, end) {
            (Some(s), Some(e)) => format!("{column} >= {s} AND {column} < {e}"),
            (Some(s), None) => format!("{column} >= {s}"),
            (None, Some(e)) => format!("{column} < {e}"),
            (None, None) => "TRUE".into(),
        }
    }
}

/// A time phrase found in the question, with the tokens it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeMention {
    pub period: Period,
    pub start: usize,
    pub end: usize,
}

fn unit_of(t: &Token) -> Option<Unit> {
    let w = t.text.as_str();
    let starts = |p: &[&str]| p.iter().any(|p| w.starts_with(p));
    if starts(&["дн", "день", "day", "сут"]) {
        Some(Unit::Day)
    } else if starts(&["недел", "week"]) {
        Some(Unit::Week)
    } else if starts(&["месяц", "month", "мес"]) {
        Some(Unit::Month)
    } else if starts(&["год", "лет", "year"]) || w == "г" {
        Some(Unit::Year)
    } else {
        None
    }
}

fn is_any(t: Option<&Token>, prefixes: &[&str]) -> bool {
    t.is_some_and(|t| prefixes.iter().any(|p| t.text.starts_with(p)))
}

const LAST: &[&str] = &["последн", "last", "past", "прошедш", "recent"];
const THIS: &[&str] = &["эт", "текущ", "нынешн", "this", "current"];
const PREV: &[&str] = &["прошл", "предыдущ", "previous", "prior"];

/// Every time phrase of the question, left to right.
pub fn find(tokens: &[Token]) -> Vec<TimeMention> {
    let mut out: Vec<TimeMention> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let next = tokens.get(i + 1);
        let w = t.text.as_str();
        let found: Option<(Period, usize)> = if w.starts_with("сегодня") || w == "today" {
            Some((Period::Today, 1))
        } else if w.starts_with("позавчера") {
            Some((Period::DayBeforeYesterday, 1))
        } else if w.starts_with("вчера") || w == "yesterday" {
            Some((Period::Yesterday, 1))
        } else if w == "day"
            && next.is_some_and(|n| n.text == "before")
            && tokens.get(i + 2).is_some_and(|n| n.text == "yesterday")
        {
            Some((Period::DayBeforeYesterday, 3))
        } else if w == "mtd" {
            Some((Period::This(Unit::Month), 1))
        } else if w == "ytd" {
            Some((Period::This(Unit::Year), 1))
        } else if (w == "с" || w == "since") && is_any(next, &["начал", "start", "beginning"])
        {
            // "с начала года", "since the start of the month"
            let unit = tokens[i + 1..tokens.len().min(i + 5)]
                .iter()
                .position(|t| unit_of(t).is_some())
                .map(|p| (unit_of(&tokens[i + 1 + p]).expect("unit"), p + 2));
            unit.map(|(u, len)| (Period::This(u), len))
        } else if w == "so" && next.is_some_and(|n| n.text == "far") {
            None
        } else if LAST.iter().any(|p| w.starts_with(p))
            || w == "за" && next.and_then(|n| n.number).is_some()
        {
            // "за последние 7 дней", "last 30 days", "past week", "за 7 дней"
            let mut j = i + 1;
            let mut n: Option<f64> = None;
            if let Some(num) = tokens.get(j).and_then(|t| t.number) {
                n = Some(num);
                j += 1;
            }
            match tokens.get(j).and_then(unit_of) {
                Some(u) => {
                    let len = j + 1 - i;
                    let n = n.map(|n| n.max(1.0) as u32);
                    let english_last = w == "last" && n.is_none();
                    let p = match (u, n) {
                        // "last week/month/year" in English is the previous calendar one.
                        (u, None) if english_last && u != Unit::Day => Period::Previous(u),
                        (Unit::Day, n) => Period::LastDays(n.unwrap_or(1)),
                        (Unit::Week, n) => Period::LastDays(7 * n.unwrap_or(1)),
                        (Unit::Month, None) => Period::LastDays(30),
                        (Unit::Month, Some(n)) => Period::LastMonths(n),
                        (Unit::Year, None) => Period::LastDays(365),
                        (Unit::Year, Some(n)) => Period::LastMonths(12 * n),
                    };
                    Some((p, len))
                }
                None => None,
            }
        } else if THIS.iter().any(|p| w.starts_with(p)) && w != "это" {
            next.and_then(unit_of).map(|u| (Period::This(u), 2))
        } else if PREV.iter().any(|p| w.starts_with(p)) {
            match next.and_then(unit_of) {
                Some(u) => Some((Period::Previous(u), 2)),
                // "в этом месяце и в прошлом": the unit of the period before.
                None => out.last().and_then(|m| match m.period {
                    Period::This(u) | Period::Previous(u) => Some((Period::Previous(u), 1)),
                    _ => None,
                }),
            }
        } else if let Some(y) = t
            .number
            .filter(|y| (1990.0..2200.0).contains(y) && y.fract() == 0.0)
        {
            let year_word = next.and_then(unit_of) == Some(Unit::Year);
            let after_in =
                i > 0 && matches!(tokens[i - 1].text.as_str(), "in" | "в" | "за" | "during");
            (year_word || after_in)
                .then_some((Period::Year(y as i32), if year_word { 2 } else { 1 }))
        } else {
            None
        };
        match found {
            Some((period, len)) => {
                // "за последние" before the phrase belongs to it.
                let start = if i > 0
                    && matches!(
                        tokens[i - 1].text.as_str(),
                        "за" | "в" | "на" | "in" | "for" | "over" | "during"
                    ) {
                    i - 1
                } else {
                    i
                };
                out.push(TimeMention {
                    period,
                    start,
                    end: i + len,
                });
                i += len;
            }
            None => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokenize;

    fn periods(q: &str) -> Vec<Period> {
        find(&tokenize(q)).into_iter().map(|m| m.period).collect()
    }

    #[test]
    fn phrases() {
        use Period::*;
        assert_eq!(periods("Сколько транзакций было вчера?"), [Yesterday]);
        assert_eq!(periods("за последние 7 дней"), [LastDays(7)]);
        assert_eq!(periods("за последние семь дней"), [LastDays(7)]);
        assert_eq!(periods("Daily volume for the last 30 days"), [LastDays(30)]);
        assert_eq!(periods("in each of the last 3 months"), [LastMonths(3)]);
        assert_eq!(periods("this month"), [This(Unit::Month)]);
        assert_eq!(periods("last month"), [Previous(Unit::Month)]);
        assert_eq!(periods("в прошлом месяце"), [Previous(Unit::Month)]);
        assert_eq!(
            periods("за эту неделю и за прошлую неделю"),
            [This(Unit::Week), Previous(Unit::Week)]
        );
        assert_eq!(
            periods("в этом месяце и в прошлом"),
            [This(Unit::Month), Previous(Unit::Month)]
        );
        assert_eq!(periods("с начала года"), [This(Unit::Year)]);
        assert_eq!(periods("in 2025"), [Year(2025)]);
        assert_eq!(periods("за текущий месяц"), [This(Unit::Month)]);
    }

    #[test]
    fn sql() {
        assert_eq!(
            Period::Previous(Unit::Month).condition("t.ts", Tz::UTC),
            "t.ts >= date_trunc('month', CURRENT_DATE) - INTERVAL '1 month' \
             AND t.ts < date_trunc('month', CURRENT_DATE)"
        );
        let moscow = Period::Today.condition("ts", Tz::Europe__Moscow);
        assert!(
            moscow.starts_with("ts >= TIMESTAMP '") && moscow.ends_with(" 21:00:00'"),
            "{moscow}"
        );
    }
}
