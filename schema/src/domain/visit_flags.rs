//! Visits that look unreal (flagged for a supervisor to open, not judged): recorded far from
//! where the household is usually found, too short to have happened, or made on one device
//! at several households at once. The rules are plain functions of the visits, so a flag
//! can always be explained by the numbers beside it.

use std::collections::HashMap;

use serde::Serialize;

/// Two positions this close are "the same position" (a phone's fix indoors wanders about
/// this much).
pub const SAME_PLACE_M: f64 = 30.0;
/// A household's usual location is the median of at least this many earlier fixes: one
/// earlier fix is a single reading, not a habit.
pub const USUAL_AFTER_FIXES: usize = 2;

/// Latitude and longitude, in degrees.
pub type Position = (f64, f64);

/// Each household's GPS fixes: (time, position).
pub type Fixes = HashMap<String, Vec<(i64, Position)>>;

/// The thresholds a deployment sets.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Farther than this (metres) from the household's usual location.
    pub far_m: f64,
    /// Shorter than this (minutes), and the least time two visits at one place take.
    pub min_minutes: i64,
}

crate::text_enum! {
    /// Why a visit looks unreal.
    pub enum Flag {
        /// GPS far from the household's usual location.
        Far = "far",
        /// Ended sooner than a visit can take.
        Short = "short",
        /// The same device at another household at the same time (overlapping, or at the
        /// same position within minutes).
        Simultaneous = "simultaneous",
    }
}

/// A visit as the flags read it. Times are UTC microseconds.
#[derive(Debug, Clone)]
pub struct VisitFix {
    pub id: String,
    pub household_id: String,
    pub device_id: Option<String>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub position: Option<(f64, f64)>,
}

/// One visit's flags, with what explains them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Flagged {
    pub flags: Vec<Flag>,
    /// Metres from the household's usual location (when `far`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    /// The visit's length in minutes (when `short`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes: Option<f64>,
    /// The other visits made at once on the same device (when `simultaneous`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<String>,
}

/// Great-circle distance in metres (haversine on a sphere of the Earth's mean radius).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    const R: f64 = 6_371_008.8;
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.1 - a.1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().min(1.0).asin()
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// A household's usual location before `before`: the median latitude and longitude of its
/// earlier fixes, when there are enough of them.
pub fn usual_location(history: &[(i64, (f64, f64))], before: i64) -> Option<(f64, f64)> {
    let (mut lats, mut lons): (Vec<f64>, Vec<f64>) = history
        .iter()
        .filter(|(at, _)| *at < before)
        .map(|(_, p)| *p)
        .unzip();
    if lats.len() < USUAL_AFTER_FIXES {
        return None;
    }
    Some((median(&mut lats)?, median(&mut lons)?))
}

const MINUTE: i64 = 60_000_000;

/// Flags `visits` (the period's). `history` holds each household's fixes (time, position)
/// from all its visits with GPS up to the period's end, the period's among them. Only
/// flagged visits are returned.
pub fn flag(visits: &[VisitFix], history: &Fixes, t: Thresholds) -> HashMap<String, Flagged> {
    let mut out: HashMap<String, Flagged> = HashMap::new();
    for v in visits {
        if let (Some(at), Some(usual)) = (
            v.position,
            history
                .get(&v.household_id)
                .and_then(|h| usual_location(h, v.started_at)),
        ) {
            let d = distance_m(at, usual);
            if d > t.far_m {
                let f = out.entry(v.id.clone()).or_default();
                f.flags.push(Flag::Far);
                f.distance_m = Some(d.round());
            }
        }
        if let Some(end) = v.ended_at {
            let minutes = (end - v.started_at) as f64 / MINUTE as f64;
            if minutes < t.min_minutes as f64 {
                let f = out.entry(v.id.clone()).or_default();
                f.flags.push(Flag::Short);
                f.minutes = Some((minutes * 10.0).round() / 10.0);
            }
        }
    }
    // At once on one device: each device's visits in time order, each compared with those
    // that start before it could have ended.
    let mut by_device: HashMap<&str, Vec<&VisitFix>> = HashMap::new();
    for v in visits {
        if let Some(d) = v.device_id.as_deref() {
            by_device.entry(d).or_default().push(v);
        }
    }
    let window = t.min_minutes.max(0) * MINUTE;
    for list in by_device.values_mut() {
        list.sort_by_key(|v| (v.started_at, v.id.clone()));
        for (i, a) in list.iter().enumerate() {
            let a_end = a.ended_at.unwrap_or(a.started_at).max(a.started_at);
            for b in &list[i + 1..] {
                if b.started_at >= a_end.max(a.started_at + window) {
                    break;
                }
                if a.household_id == b.household_id {
                    continue;
                }
                let overlap = b.started_at < a_end;
                let same_place = match (a.position, b.position) {
                    (Some(p), Some(q)) => {
                        b.started_at - a.started_at < window && distance_m(p, q) <= SAME_PLACE_M
                    }
                    _ => false,
                };
                if overlap || same_place {
                    for (x, y) in [(a, b), (b, a)] {
                        let f = out.entry(x.id.clone()).or_default();
                        if !f.flags.contains(&Flag::Simultaneous) {
                            f.flags.push(Flag::Simultaneous);
                        }
                        f.with.push(y.id.clone());
                    }
                }
            }
        }
    }
    for f in out.values_mut() {
        f.flags.sort();
        f.with.sort();
        f.with.dedup();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Thresholds = Thresholds {
        far_m: 500.0,
        min_minutes: 5,
    };
    const HOME: (f64, f64) = (23.1291, 113.2644);

    fn visit(id: &str, household: &str, device: &str, start_min: i64, len_min: i64) -> VisitFix {
        VisitFix {
            id: id.into(),
            household_id: household.into(),
            device_id: Some(device.into()),
            started_at: start_min * MINUTE,
            ended_at: Some((start_min + len_min) * MINUTE),
            position: None,
        }
    }

    #[test]
    fn distances_are_metres_on_the_earth() {
        // One thousandth of a degree of latitude is about 111 m.
        let d = distance_m(HOME, (HOME.0 + 0.001, HOME.1));
        assert!((d - 111.2).abs() < 0.5, "{d}");
        assert_eq!(distance_m(HOME, HOME), 0.0);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn the_usual_location_needs_two_earlier_fixes() {
        let history = vec![(1, HOME), (2, (HOME.0 + 0.01, HOME.1)), (3, HOME)];
        assert_eq!(usual_location(&history, 2), None);
        assert!(usual_location(&history, 3).is_some());
        assert_eq!(usual_location(&history, 4), Some(HOME));
    }

    /// Each case: the visits, and the flags each visit should carry (unlisted: none).
    #[test]
    fn flags_table() {
        let far = (HOME.0 + 0.01, HOME.1); // about 1.1 km north
        let near = (HOME.0 + 0.002, HOME.1); // about 220 m
        let history: Fixes = [(
            "h1".to_string(),
            vec![
                (0, HOME),
                (MINUTE, HOME),
                (1000 * MINUTE, far),
                (1001 * MINUTE, near),
            ],
        )]
        .into();
        let at = |mut v: VisitFix, p| {
            v.position = Some(p);
            v
        };
        type Case = (&'static str, Vec<VisitFix>, Vec<(&'static str, Vec<Flag>)>);
        let cases: Vec<Case> = vec![
            (
                "a long visit at home is not flagged",
                vec![at(visit("a", "h1", "d1", 1001, 20), near)],
                vec![],
            ),
            (
                "a visit 1.1 km from home is far",
                vec![at(visit("a", "h1", "d1", 1000, 20), far)],
                vec![("a", vec![Flag::Far])],
            ),
            (
                "a three-minute visit is short",
                vec![visit("a", "h1", "d1", 0, 3)],
                vec![("a", vec![Flag::Short])],
            ),
            (
                "exactly the minimum is not short",
                vec![visit("a", "h1", "d1", 0, 5)],
                vec![],
            ),
            (
                "overlapping visits to two households on one device",
                vec![
                    visit("a", "h1", "d1", 0, 20),
                    visit("b", "h2", "d1", 10, 20),
                ],
                vec![
                    ("a", vec![Flag::Simultaneous]),
                    ("b", vec![Flag::Simultaneous]),
                ],
            ),
            (
                "the same overlap on two devices is two coordinators",
                vec![
                    visit("a", "h1", "d1", 0, 20),
                    visit("b", "h2", "d2", 10, 20),
                ],
                vec![],
            ),
            (
                "two visits to one household are not two places at once",
                vec![
                    visit("a", "h1", "d1", 0, 20),
                    visit("b", "h1", "d1", 10, 20),
                ],
                vec![],
            ),
            (
                "one after the other is door-to-door work",
                vec![
                    visit("a", "h1", "d1", 0, 20),
                    visit("b", "h2", "d1", 20, 20),
                ],
                vec![],
            ),
            (
                "the same position, two households, starting two minutes apart",
                vec![
                    at(
                        VisitFix {
                            ended_at: None,
                            ..visit("a", "h2", "d1", 0, 0)
                        },
                        far,
                    ),
                    at(
                        VisitFix {
                            ended_at: None,
                            ..visit("b", "h3", "d1", 2, 0)
                        },
                        far,
                    ),
                ],
                vec![
                    ("a", vec![Flag::Simultaneous]),
                    ("b", vec![Flag::Simultaneous]),
                ],
            ),
            (
                "neighbours visited ten minutes apart at one position",
                vec![
                    at(
                        VisitFix {
                            ended_at: None,
                            ..visit("a", "h2", "d1", 0, 0)
                        },
                        far,
                    ),
                    at(
                        VisitFix {
                            ended_at: None,
                            ..visit("b", "h3", "d1", 10, 0)
                        },
                        far,
                    ),
                ],
                vec![],
            ),
        ];
        for (name, visits, expected) in cases {
            let got = flag(&visits, &history, T);
            let mut got: Vec<(&str, Vec<Flag>)> = got
                .iter()
                .map(|(id, f)| {
                    (
                        visits
                            .iter()
                            .find(|v| &v.id == id)
                            .map_or("?", |v| v.id.as_str()),
                        f.flags.clone(),
                    )
                })
                .collect();
            got.sort_by(|a, b| a.0.cmp(b.0));
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn a_simultaneous_flag_names_the_other_visit() {
        let visits = [
            visit("a", "h1", "d1", 0, 20),
            visit("b", "h2", "d1", 10, 20),
        ];
        let got = flag(&visits, &HashMap::new(), T);
        assert_eq!(got["a"].with, vec!["b".to_string()]);
        assert_eq!(got["b"].with, vec!["a".to_string()]);
    }
}
