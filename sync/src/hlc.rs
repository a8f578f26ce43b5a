//! Hybrid logical clocks as the sync protocol writes them:
//! `<wall-clock ms, 15 digits>-<counter, 5 digits>-<device id>`, so that clocks sort as
//! strings. Ties between equal (ms, counter) pairs are broken by device id.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

const MS_DIGITS: usize = 15;
const COUNTER_DIGITS: usize = 5;
const MAX_COUNTER: u32 = 99_999;

/// One timestamp of a hybrid logical clock.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hlc {
    pub millis: u64,
    pub counter: u32,
    pub node: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum HlcError {
    #[error("must look like 001795000000000-00003-<device id>")]
    Malformed,
    #[error("is {0} ms ahead of the server clock, more than the allowed skew")]
    TooFarAhead(u64),
    #[error("the logical counter overflowed")]
    CounterOverflow,
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.millis, self.counter, &self.node).cmp(&(other.millis, other.counter, &other.node))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:0ms$}-{:0c$}-{}",
            self.millis,
            self.counter,
            self.node,
            ms = MS_DIGITS,
            c = COUNTER_DIGITS
        )
    }
}

impl FromStr for Hlc {
    type Err = HlcError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, '-');
        let (Some(ms), Some(counter), Some(node)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(HlcError::Malformed);
        };
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms, MS_DIGITS) || !digits(counter, COUNTER_DIGITS) || node.is_empty() {
            return Err(HlcError::Malformed);
        }
        Ok(Hlc {
            millis: ms.parse().map_err(|_| HlcError::Malformed)?,
            counter: counter.parse().map_err(|_| HlcError::Malformed)?,
            node: node.to_string(),
        })
    }
}

/// The server's clock: monotonic whatever the wall clock does, and advanced past every
/// clock it accepts from a phone so that its own later stamps sort after them.
#[derive(Debug)]
pub struct Clock {
    last: Hlc,
    max_skew_ms: u64,
}

impl Clock {
    pub fn new(node: impl Into<String>, max_skew_ms: u64) -> Clock {
        Clock {
            last: Hlc {
                millis: 0,
                counter: 0,
                node: node.into(),
            },
            max_skew_ms,
        }
    }

    /// A new timestamp for a server-side event at wall time `now_ms`.
    pub fn tick(&mut self, now_ms: u64) -> Result<Hlc, HlcError> {
        if now_ms > self.last.millis {
            self.last.millis = now_ms;
            self.last.counter = 0;
        } else {
            self.bump()?;
        }
        Ok(self.last.clone())
    }

    /// Takes in a phone's clock. One further ahead than the allowed skew is refused; the
    /// caller decides whether to clamp it (see [`Clock::clamp`]) or reject the edit.
    pub fn observe(&mut self, remote: &Hlc, now_ms: u64) -> Result<(), HlcError> {
        let ahead = remote.millis.saturating_sub(now_ms);
        if ahead > self.max_skew_ms {
            return Err(HlcError::TooFarAhead(ahead));
        }
        let millis = now_ms.max(self.last.millis).max(remote.millis);
        let counter = match (millis == self.last.millis, millis == remote.millis) {
            (true, true) => self.last.counter.max(remote.counter) + 1,
            (true, false) => self.last.counter + 1,
            (false, true) => remote.counter + 1,
            (false, false) => 0,
        };
        if counter > MAX_COUNTER {
            return Err(HlcError::CounterOverflow);
        }
        self.last.millis = millis;
        self.last.counter = counter;
        Ok(())
    }

    /// A phone clock limited to the allowed skew ahead of `now_ms`; `None` when it was within
    /// bounds already.
    pub fn clamp(&self, remote: &Hlc, now_ms: u64) -> Option<Hlc> {
        let limit = now_ms.saturating_add(self.max_skew_ms);
        (remote.millis > limit).then(|| Hlc {
            millis: limit,
            counter: remote.counter,
            node: remote.node.clone(),
        })
    }

    fn bump(&mut self) -> Result<(), HlcError> {
        if self.last.counter >= MAX_COUNTER {
            // Borrow the next millisecond rather than overflow the counter.
            self.last.millis += 1;
            self.last.counter = 0;
        } else {
            self.last.counter += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_as_the_protocol_writes_it() {
        let h: Hlc = "001795000000000-00003-0193a5c2-7d1e-7000-8000-000000000001"
            .parse()
            .expect("valid");
        assert_eq!(h.millis, 1_795_000_000_000);
        assert_eq!(h.counter, 3);
        assert_eq!(h.node, "0193a5c2-7d1e-7000-8000-000000000001");
        assert_eq!(
            h.to_string(),
            "001795000000000-00003-0193a5c2-7d1e-7000-8000-000000000001"
        );
    }

    #[test]
    fn rejects_malformed_clocks() {
        for bad in [
            "",
            "1795000000000-00003-dev",
            "001795000000000-3-dev",
            "001795000000000-00003-",
            "00179500000000x-00003-dev",
            "001795000000000-00003",
        ] {
            assert_eq!(bad.parse::<Hlc>(), Err(HlcError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn string_order_is_clock_order() {
        let mut clocks = [
            "001795000000001-00000-a",
            "001795000000000-00002-a",
            "001795000000000-00001-b",
            "001795000000000-00001-a",
        ];
        let mut parsed: Vec<Hlc> = clocks.iter().map(|c| c.parse().expect("valid")).collect();
        clocks.sort();
        parsed.sort();
        let reprinted: Vec<String> = parsed.iter().map(ToString::to_string).collect();
        assert_eq!(reprinted, clocks);
    }

    #[test]
    fn server_clock_is_monotonic_when_the_wall_clock_goes_back() {
        let mut clock = Clock::new("server", 1_000);
        let a = clock.tick(5_000).expect("tick");
        let b = clock.tick(4_000).expect("tick");
        let c = clock.tick(5_000).expect("tick");
        assert!(a < b && b < c);
    }

    #[test]
    fn observing_a_phone_moves_the_clock_past_it() {
        let mut clock = Clock::new("server", 60_000);
        let phone: Hlc = "000000000010000-00007-phone".parse().expect("valid");
        clock.observe(&phone, 9_000).expect("within skew");
        let next = clock.tick(9_500).expect("tick");
        assert!(next.millis == 10_000 && next.counter > 7, "{next}");
    }

    #[test]
    fn a_clock_too_far_ahead_is_refused_and_can_be_clamped() {
        let mut clock = Clock::new("server", 1_000);
        let two_days = 2 * 24 * 3600 * 1000;
        let phone = Hlc {
            millis: 10_000 + two_days,
            counter: 0,
            node: "phone".into(),
        };
        assert_eq!(
            clock.observe(&phone, 10_000),
            Err(HlcError::TooFarAhead(two_days))
        );
        let clamped = clock.clamp(&phone, 10_000).expect("clamped");
        assert_eq!(clamped.millis, 11_000);
        assert!(clock.observe(&clamped, 10_000).is_ok());
        let ok = Hlc {
            millis: 10_500,
            counter: 0,
            node: "p".into(),
        };
        assert_eq!(clock.clamp(&ok, 10_000), None);
    }
}
