//! Time zones as the library understands them: UTC under its region names and fixed offsets
//! (`+05:00`, `UTC-3`, `Etc/GMT+5`), in the forms `java.time.ZoneId.of` accepts.
//!
//! Region zones with daylight-saving rules (`America/New_York`) would need the tz database, which
//! a sans-IO runtime cannot read; they are reported as unknown, so the calls that take a zone give
//! their empty result instead of a wrong offset.

use std::sync::Arc;

/// A resolved zone: its offset from UTC and, for region ids, the id printed in `[…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub offset_seconds: i32,
    pub region: Option<Arc<str>>,
}

/// The offset of a zone id, when the library knows it.
#[cfg(test)]
pub(crate) fn offset_of(id: &str) -> Option<i32> {
    resolve(id).map(|zone| zone.offset_seconds)
}

/// Resolves a zone id.
pub fn resolve(id: &str) -> Option<Zone> {
    let region = |offset_seconds| {
        Some(Zone {
            offset_seconds,
            region: Some(Arc::from(id)),
        })
    };
    match id {
        "UTC" | "GMT" | "UT" | "UCT" | "Universal" | "Zulu" | "Greenwich" | "Etc/UTC"
        | "Etc/GMT" | "Etc/UCT" | "Etc/Universal" | "Etc/Zulu" | "Etc/Greenwich" | "Etc/GMT0"
        | "Etc/GMT+0" | "Etc/GMT-0" | "GMT0" => return region(0),
        _ => {}
    }
    if id.starts_with('+') || id.starts_with('-') || id == "Z" {
        return parse_offset(id).map(|offset_seconds| Zone {
            offset_seconds,
            region: None,
        });
    }
    // `Etc/GMT+5` is five hours *behind* UTC: the POSIX sign convention.
    if let Some(rest) = id.strip_prefix("Etc/GMT") {
        let hours: i32 = rest.parse().ok()?;
        if !rest.starts_with(['+', '-']) || !(-14..=12).contains(&hours) {
            return None;
        }
        return region(-hours * 3600);
    }
    for prefix in ["UTC", "GMT", "UT"] {
        if let Some(rest) = id.strip_prefix(prefix)
            && (rest.starts_with('+') || rest.starts_with('-'))
        {
            return parse_offset(rest).and_then(region);
        }
    }
    None
}

/// `Z`, `+h`, `+hh`, `+hh:mm`, `+hhmm`, `+hh:mm:ss`, `+hhmmss` within ±18:00.
fn parse_offset(text: &str) -> Option<i32> {
    if text == "Z" {
        return Some(0);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = text.get(1..)?;
    if !body
        .bytes()
        .all(|byte| byte.is_ascii_digit() || byte == b':')
    {
        return None;
    }
    let field = |range: std::ops::Range<usize>| body.get(range)?.parse::<i32>().ok();
    let (hours, minutes, seconds) = match body.len() {
        1 | 2 => (field(0..body.len())?, 0, 0),
        4 if !body.contains(':') => (field(0..2)?, field(2..4)?, 0),
        5 if body.as_bytes().get(2) == Some(&b':') => (field(0..2)?, field(3..5)?, 0),
        6 if !body.contains(':') => (field(0..2)?, field(2..4)?, field(4..6)?),
        8 if body.as_bytes().get(2) == Some(&b':') && body.as_bytes().get(5) == Some(&b':') => {
            (field(0..2)?, field(3..5)?, field(6..8)?)
        }
        _ => return None,
    };
    if hours > 18 || minutes > 59 || seconds > 59 {
        return None;
    }
    let total = hours * 3600 + minutes * 60 + seconds;
    (total <= 18 * 3600).then_some(sign * total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_names_and_fixed_offsets_resolve() {
        assert_eq!(offset_of("UTC"), Some(0));
        assert_eq!(
            resolve("UTC").and_then(|zone| zone.region).as_deref(),
            Some("UTC")
        );
        assert_eq!(resolve("Z").and_then(|zone| zone.region), None);
        assert_eq!(offset_of("+05:00"), Some(5 * 3600));
        assert_eq!(offset_of("-0830"), Some(-(8 * 3600 + 30 * 60)));
        assert_eq!(offset_of("+5"), Some(5 * 3600));
        assert_eq!(offset_of("UTC-03:00"), Some(-3 * 3600));
        assert_eq!(offset_of("Etc/GMT+5"), Some(-5 * 3600));
    }

    #[test]
    fn unknown_zones_and_bad_offsets_are_rejected() {
        assert_eq!(offset_of("America/New_York"), None);
        assert_eq!(offset_of("+19:00"), None);
        assert_eq!(offset_of("+05:7"), None);
        assert_eq!(offset_of("+"), None);
        assert_eq!(offset_of("+é"), None);
        assert_eq!(offset_of(""), None);
    }
}
