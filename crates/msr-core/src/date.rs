//! `Date`: a calendar date as the configuration and every output document
//! write it, `YYYY-MM-DD` (valuation.as_of, a roll-forward's prior date).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::parse_date;

/// A calendar date (proleptic Gregorian), checked on construction. Written
/// and serialised as `YYYY-MM-DD`; ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u32,
    day: u32,
}

/// A text that is not a `YYYY-MM-DD` calendar date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a calendar date YYYY-MM-DD")]
pub struct DateError(pub String);

impl Date {
    /// The date of (year, month, day), or `None` when there is no such day.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        parse_date(&format!("{year}-{month}-{day}")).map(|_| Date { year, month, day })
    }

    /// Year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// Month, 1–12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// Day of the month, 1–31.
    pub fn day(self) -> u32 {
        self.day
    }
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(s: &str) -> Result<Date, DateError> {
        parse_date(s)
            .map(|(year, month, day)| Date { year, month, day })
            .ok_or_else(|| DateError(s.to_string()))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_as_text_and_checks_the_calendar() {
        let d: Date = "2026-11-30".parse().unwrap();
        assert_eq!(d.to_string(), "2026-11-30");
        assert_eq!((d.year(), d.month(), d.day()), (2026, 11, 30));
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"2026-11-30\"");
        assert_eq!(
            serde_json::from_str::<Date>("\"2024-02-29\"").unwrap(),
            Date::new(2024, 2, 29).unwrap()
        );
        assert!("2026-02-29".parse::<Date>().is_err());
        assert!(serde_json::from_str::<Date>("\"30/11/2026\"").is_err());
        assert!(Date::new(2026, 13, 1).is_none());
        assert!("2026-01-31".parse::<Date>().unwrap() < "2026-02-01".parse().unwrap());
    }
}
