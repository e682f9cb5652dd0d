//! Cron schedules in PingSource's dialect (robfig/cron with an optional leading seconds field,
//! as Knative's `mtping` adapter parses them), evaluated in an IANA time zone.
//!
//! Accepted: 5 fields (`minute hour day-of-month month day-of-week`), 6 fields with a leading
//! seconds field, `?` for "any" in the day fields, `0/5`-style steps, month and weekday names,
//! the descriptors `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight` and
//! `@hourly`, and a `CRON_TZ=<zone> ` or `TZ=<zone> ` prefix (Knative implements `timezone` by
//! prefixing `CRON_TZ=`). Rejected, as Knative's validation does: `@every <duration>`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

/// Why a schedule or time zone is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// `@every` is robfig/cron syntax that PingSource's validation refuses.
    #[error("invalid schedule `{0}`: `@every` is not accepted by PingSource")]
    Every(String),
    /// An `@descriptor` that is not one of robfig/cron's.
    #[error("invalid schedule `{0}`: unknown descriptor (use @yearly, @monthly, @weekly, @daily or @hourly)")]
    Descriptor(String),
    /// Not 5 or 6 fields.
    #[error("invalid schedule `{0}`: expected 5 cron fields, or 6 with a leading seconds field")]
    Fields(String),
    /// A field the cron parser refused.
    #[error("invalid schedule `{schedule}`: {reason}")]
    Syntax {
        /// The schedule as written.
        schedule: String,
        /// The parser's message.
        reason: String,
    },
    /// Not an IANA time zone name.
    #[error("unknown time zone `{0}` (expected an IANA name such as `Europe/Paris`)")]
    TimeZone(String),
}

/// A parsed cron schedule and the time zone it is evaluated in (UTC unless given).
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    tz: Tz,
    text: String,
}

impl Schedule {
    /// Parses `schedule` (see the module docs) evaluated in `timezone` (IANA name; a
    /// `CRON_TZ=`/`TZ=` prefix in the schedule wins when both are given; default UTC, the zone
    /// of Knative's adapter container).
    ///
    /// # Errors
    /// [`ScheduleError`] for `@every`, unknown descriptors, a wrong field count, a field the
    /// parser refuses, or an unknown time zone.
    pub fn parse(schedule: &str, timezone: Option<&str>) -> Result<Schedule, ScheduleError> {
        let text = schedule.trim();
        let (zone, body) = match text
            .strip_prefix("CRON_TZ=")
            .or_else(|| text.strip_prefix("TZ="))
        {
            Some(rest) => {
                let (z, b) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                (Some(z), b.trim())
            }
            None => (timezone.map(str::trim).filter(|z| !z.is_empty()), text),
        };
        let tz = match zone {
            Some(z) => z
                .parse::<Tz>()
                .map_err(|_| ScheduleError::TimeZone(z.to_string()))?,
            None => Tz::UTC,
        };
        let pattern = if let Some(desc) = body.strip_prefix('@') {
            let lower = desc.to_ascii_lowercase();
            match lower.as_str() {
                "yearly" | "annually" => "0 0 1 1 *",
                "monthly" => "0 0 1 * *",
                "weekly" => "0 0 * * 0",
                "daily" | "midnight" => "0 0 * * *",
                "hourly" => "0 * * * *",
                d if d.starts_with("every") => return Err(ScheduleError::Every(text.into())),
                _ => return Err(ScheduleError::Descriptor(text.into())),
            }
        } else {
            body
        };
        let fields = pattern.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(ScheduleError::Fields(text.into()));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .sloppy_ranges(true)
            .build();
        let cron = parser.parse(pattern).map_err(|e| ScheduleError::Syntax {
            schedule: text.into(),
            reason: e.to_string(),
        })?;
        Ok(Schedule {
            cron,
            tz,
            text: text.into(),
        })
    }

    /// The schedule as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The time zone the schedule is evaluated in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first fire time strictly after `after`, or `None` when the schedule never fires
    /// again (e.g. February 30th).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.tz);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The first fire time at or after `at`.
    pub fn next_from(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&self.tz);
        self.cron
            .find_next_occurrence(&local, true)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The fire times in `[from, until)`, in order.
    pub fn fires_between(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let mut next = self.next_from(from);
        std::iter::from_fn(move || {
            let t = next.filter(|t| *t < until)?;
            next = self.next_after(t);
            Some(t)
        })
        .fuse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn fires(schedule: &str, tz: Option<&str>, from: &str, until: &str) -> Vec<String> {
        let s = Schedule::parse(schedule, tz).unwrap();
        s.fires_between(at(from), at(until))
            .map(|t| t.to_rfc3339())
            .collect()
    }

    #[test]
    fn five_fields() {
        let f = fires(
            "*/2 * * * *",
            None,
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:07:00Z",
        );
        assert_eq!(
            f,
            [
                "2024-01-01T00:00:00+00:00",
                "2024-01-01T00:02:00+00:00",
                "2024-01-01T00:04:00+00:00",
                "2024-01-01T00:06:00+00:00"
            ]
        );
    }

    #[test]
    fn six_fields_with_seconds_and_question_mark() {
        // Knative's conformance schedule: second 10 of every minute.
        let f = fires(
            "10 0/1 * * * ?",
            None,
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:02:30Z",
        );
        assert_eq!(
            f,
            [
                "2024-01-01T00:00:10+00:00",
                "2024-01-01T00:01:10+00:00",
                "2024-01-01T00:02:10+00:00"
            ]
        );
        let every = fires(
            "* * * * * *",
            None,
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:03Z",
        );
        assert_eq!(every.len(), 3);
        let dom = fires(
            "0 0 ? * MON",
            None,
            "2024-01-01T00:00:00Z",
            "2024-01-16T00:00:00Z",
        );
        assert_eq!(dom.len(), 3, "{dom:?}");
    }

    #[test]
    fn descriptors() {
        let h = fires(
            "@hourly",
            None,
            "2024-01-01T00:30:00Z",
            "2024-01-01T03:00:00Z",
        );
        assert_eq!(
            h,
            ["2024-01-01T01:00:00+00:00", "2024-01-01T02:00:00+00:00"]
        );
        let d = fires(
            "@daily",
            None,
            "2024-01-01T00:00:00Z",
            "2024-01-03T00:00:00Z",
        );
        assert_eq!(d.len(), 2);
        assert_eq!(
            fires(
                "@midnight",
                None,
                "2024-01-01T00:00:01Z",
                "2024-01-03T00:00:00Z"
            ),
            ["2024-01-02T00:00:00+00:00"]
        );
        let w = fires(
            "@weekly",
            None,
            "2024-01-01T00:00:00Z",
            "2024-01-31T00:00:00Z",
        );
        assert_eq!(w.len(), 4, "{w:?}"); // Sundays 7, 14, 21, 28
        assert_eq!(
            fires(
                "@yearly",
                None,
                "2024-01-01T00:00:00Z",
                "2026-01-01T00:00:00Z"
            )
            .len(),
            2
        );
        assert_eq!(
            fires(
                "@monthly",
                None,
                "2024-01-01T00:00:00Z",
                "2024-04-01T00:00:00Z"
            )
            .len(),
            3
        );
    }

    #[test]
    fn rejected() {
        assert!(matches!(
            Schedule::parse("@every 1m", None),
            Err(ScheduleError::Every(_))
        ));
        assert!(matches!(
            Schedule::parse("@fortnightly", None),
            Err(ScheduleError::Descriptor(_))
        ));
        assert!(matches!(
            Schedule::parse("* * * *", None),
            Err(ScheduleError::Fields(_))
        ));
        assert!(matches!(
            Schedule::parse("* * * * * * *", None),
            Err(ScheduleError::Fields(_))
        ));
        assert!(matches!(
            Schedule::parse("61 * * * *", None),
            Err(ScheduleError::Syntax { .. })
        ));
        assert!(matches!(
            Schedule::parse("* * * * *", Some("Mars/Olympus")),
            Err(ScheduleError::TimeZone(_))
        ));
    }

    #[test]
    fn timezone() {
        // 09:00 in Paris is 08:00 UTC in winter and 07:00 UTC in summer.
        let winter = fires(
            "0 9 * * *",
            Some("Europe/Paris"),
            "2024-01-01T00:00:00Z",
            "2024-01-02T00:00:00Z",
        );
        assert_eq!(winter, ["2024-01-01T08:00:00+00:00"]);
        let summer = fires(
            "0 9 * * *",
            Some("Europe/Paris"),
            "2024-07-01T00:00:00Z",
            "2024-07-02T00:00:00Z",
        );
        assert_eq!(summer, ["2024-07-01T07:00:00+00:00"]);
        // The CRON_TZ= prefix (how Knative passes `timezone` to robfig/cron) works the same.
        let prefixed = fires(
            "CRON_TZ=Asia/Tokyo 0 9 * * *",
            None,
            "2024-01-01T00:00:00Z",
            "2024-01-02T00:00:00Z",
        );
        assert_eq!(prefixed, ["2024-01-01T00:00:00+00:00"]);
        let s = Schedule::parse("@hourly", Some("America/New_York")).unwrap();
        assert_eq!(s.timezone(), chrono_tz::America::New_York);
    }
}
