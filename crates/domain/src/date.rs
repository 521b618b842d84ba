//! Calendar dates, full and partial. Clinical records often give only a year or a month
//! (`1961`, `1961-04`), so partial dates are first-class and every comparison on them
//! works with the earliest and latest day they could mean.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A proleptic Gregorian calendar day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, DomainError> {
        if !(1..=12).contains(&month) {
            return Err(DomainError::invalid(
                "date",
                format!("month {month} is not 1–12"),
            ));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(DomainError::invalid(
                "date",
                format!("{year:04}-{month:02} has no day {day}"),
            ));
        }
        if !(1800..=2300).contains(&year) {
            return Err(DomainError::invalid(
                "date",
                format!("year {year} is outside 1800–2300"),
            ));
        }
        Ok(Self { year, month, day })
    }

    pub fn year(self) -> i32 {
        self.year
    }
    pub fn month(self) -> u8 {
        self.month
    }
    pub fn day(self) -> u8 {
        self.day
    }

    /// Parses `YYYY-MM-DD`, or the date part of an RFC 3339 date-time.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let partial = PartialDate::parse(text)?;
        partial.full().ok_or_else(|| {
            DomainError::invalid("date", format!("`{text}` is not a full date (YYYY-MM-DD)"))
        })
    }

    /// Days since 1970-01-01 (negative before). Howard Hinnant's civil algorithm.
    pub fn to_days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    pub fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Self { year, month, day }
    }

    pub fn add_days(self, days: i64) -> Self {
        Self::from_days(self.to_days() + days)
    }

    /// Whole days from `self` to `later` (negative if `later` is earlier).
    pub fn days_until(self, later: Date) -> i64 {
        later.to_days() - self.to_days()
    }

    /// Completed years of age on `on` for someone born on `self`. A person born on
    /// 29 February reaches a new age on 1 March in common years.
    pub fn years_until(self, on: Date) -> i32 {
        let mut years = on.year - self.year;
        if (on.month, on.day) < (self.month, self.day) {
            years -= 1;
        }
        years
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl std::str::FromStr for Date {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = date_text(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Date {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Date".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "format": "date",
            "description": "A full date, YYYY-MM-DD."})
    }
}

/// TOML has a native date type; accept it as well as a quoted string.
fn date_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a date such as 2024-03-01, 2024-03 or 2024")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
            // toml's native datetime arrives as a one-entry map holding its text.
            let mut text = None;
            while let Some((_, v)) = map.next_entry::<String, String>()? {
                text = Some(v);
            }
            text.ok_or_else(|| serde::de::Error::custom("empty date"))
        }
    }
    d.deserialize_any(V)
}

/// A date that may be known only to the year or month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartialDate {
    year: i32,
    month: Option<u8>,
    day: Option<u8>,
}

impl PartialDate {
    pub fn from_date(date: Date) -> Self {
        Self {
            year: date.year,
            month: Some(date.month),
            day: Some(date.day),
        }
    }

    /// Parses `YYYY`, `YYYY-MM`, `YYYY-MM-DD` or an RFC 3339 date-time (its date part).
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let bad = |why: &str| DomainError::invalid("date", format!("`{text}`: {why}"));
        let date_part = text.trim().split(['T', ' ']).next().unwrap_or_default();
        let mut parts = date_part.split('-');
        let year_text = parts.next().unwrap_or_default();
        if year_text.len() != 4 || !year_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected YYYY, YYYY-MM or YYYY-MM-DD"));
        }
        let year: i32 = year_text.parse().map_err(|_| bad("bad year"))?;
        let mut field = |name: &str| -> Result<Option<u8>, DomainError> {
            match parts.next() {
                None => Ok(None),
                Some(p) if p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()) => {
                    p.parse().map(Some).map_err(|_| bad(name))
                }
                Some(_) => Err(bad(&format!("the {name} must be two digits"))),
            }
        };
        let month = field("month")?;
        let day = field("day")?;
        if parts.next().is_some() {
            return Err(bad("too many parts"));
        }
        // Validate by building the earliest full date it can mean.
        Date::new(year, month.unwrap_or(1), day.unwrap_or(1)).map_err(|e| bad(&e.to_string()))?;
        if day.is_some() && month.is_none() {
            return Err(bad("a day needs a month"));
        }
        Ok(Self { year, month, day })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// The full date, when the day is known.
    pub fn full(self) -> Option<Date> {
        Some(Date {
            year: self.year,
            month: self.month?,
            day: self.day?,
        })
    }

    pub fn is_full(self) -> bool {
        self.day.is_some()
    }

    /// The first day this date could mean.
    pub fn earliest(self) -> Date {
        Date {
            year: self.year,
            month: self.month.unwrap_or(1),
            day: self.day.unwrap_or(1),
        }
    }

    /// The last day this date could mean.
    pub fn latest(self) -> Date {
        let month = self.month.unwrap_or(12);
        Date {
            year: self.year,
            month,
            day: self.day.unwrap_or_else(|| days_in_month(self.year, month)),
        }
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

impl From<Date> for PartialDate {
    fn from(d: Date) -> Self {
        Self::from_date(d)
    }
}

impl Serialize for PartialDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PartialDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = date_text(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for PartialDate {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PartialDate".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string",
            "pattern": "^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$",
            "description": "A date known to the year (1961), month (1961-04) or day (1961-04-09)."})
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).expect("valid date")
    }

    #[test]
    fn day_count_round_trips() {
        for days in (-60_000..60_000).step_by(17) {
            assert_eq!(Date::from_days(days).to_days(), days);
        }
        assert_eq!(d("1970-01-01").to_days(), 0);
        assert_eq!(d("2000-03-01").to_days() - d("2000-02-28").to_days(), 2);
    }

    #[test]
    fn age_turns_on_the_birthday() {
        let born = d("2008-11-20");
        assert_eq!(born.years_until(d("2026-11-19")), 17);
        assert_eq!(born.years_until(d("2026-11-20")), 18);
        let leap = d("2008-02-29");
        assert_eq!(leap.years_until(d("2026-02-28")), 17);
        assert_eq!(leap.years_until(d("2026-03-01")), 18);
    }

    #[test]
    fn partial_dates_span_their_period() {
        let y = PartialDate::parse("1961").expect("year");
        assert_eq!(y.earliest(), d("1961-01-01"));
        assert_eq!(y.latest(), d("1961-12-31"));
        let m = PartialDate::parse("2024-02").expect("month");
        assert_eq!(m.latest(), d("2024-02-29"));
        let dt = PartialDate::parse("2024-02-03T10:00:00+08:00").expect("datetime");
        assert_eq!(dt.full(), Some(d("2024-02-03")));
        assert_eq!(m.to_string(), "2024-02");
    }

    #[test]
    fn impossible_dates_are_errors() {
        for bad in [
            "2023-02-29",
            "2024-13",
            "2024-00-10",
            "24-01-01",
            "2024-1-01",
            "",
            "x",
        ] {
            assert!(PartialDate::parse(bad).is_err(), "{bad} should fail");
        }
        assert!(Date::parse("2024-05").is_err());
    }
}
