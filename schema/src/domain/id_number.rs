//! The resident ID number (居民身份证号码, GB 11643-1999). An `IdNumber` that exists is
//! valid: right shape, a real birth date, and a matching check character. It is sensitive
//! personal information, so `Debug` prints only the masked form and there is deliberately
//! no `Display` or `Serialize`: the full value leaves only through `expose()`, for encryption.

use std::fmt;

use chrono::{Datelike, NaiveDate};

crate::text_enum! {
    /// Sex as encoded by the 17th character (odd = male, even = female).
    pub enum Sex {
        Male = "male",
        Female = "female",
    }
}

/// ISO 7064 MOD 11-2 weights for the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character, indexed by the weighted sum mod 11.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
/// Nobody alive was born earlier; older dates are typing errors.
const EARLIEST_BIRTH_YEAR: i32 = 1900;

/// Why a string is not a valid ID number. Messages never repeat the number itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("ID number should have 18 characters (or 15 digits for an old number), not {0}")]
    WrongLength(usize),
    #[error("ID number should be digits, with only the 18th character allowed to be X")]
    NotDigits,
    #[error("the ID number's first two digits are not a province code (GB/T 2260)")]
    BadRegion,
    #[error("birth date in the ID number is not a real date on or after 1900-01-01")]
    InvalidBirthDate,
    #[error("birth date in the ID number is in the future")]
    BirthDateInFuture,
    #[error("check character should be {expected}")]
    WrongCheckChar { expected: char },
}

/// A valid 18-character ID number (old 15-digit numbers are converted on parse).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber {
    /// 17 ASCII digits then a digit or `X`.
    value: String,
    /// Decoded once on parse, so reading it later cannot fail.
    birth_date: NaiveDate,
}

/// The province-level codes of GB/T 2260 (administrative divisions of the PRC), the first
/// two digits of every resident ID number: 11–15 (north), 21–23 (north-east), 31–37
/// (east), 41–46 (south central), 50–54 (south-west), 61–65 (north-west), 71 (Taiwan),
/// 81–82 (Hong Kong, Macao).
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

impl IdNumber {
    /// Parses user input: turns full-width digits and `Ｘ` into ASCII, trims whitespace,
    /// upper-cases `x`, converts an old 15-digit number
    /// (inserts `19` before its 2-digit year and appends the check character), then checks
    /// the province, the birth date (real, 1900 or later, not after `today`) and the check
    /// character.
    pub fn parse(input: &str, today: NaiveDate) -> Result<IdNumber, IdNumberError> {
        let value = super::text::half_width(input).trim().replace('x', "X");
        let len = value.chars().count();
        if len != 18 && len != 15 {
            return Err(IdNumberError::WrongLength(len));
        }
        // ASCII first, so that splitting by byte index below cannot cut a character.
        if !value.is_ascii() {
            return Err(IdNumberError::NotDigits);
        }
        let value = if len == 18 {
            let (first17, last) = value.split_at(17);
            if !all_digits(first17) || !(last == "X" || all_digits(last)) {
                return Err(IdNumberError::NotDigits);
            }
            value
        } else if all_digits(&value) {
            let (region, rest) = value.split_at(6);
            format!("{region}19{rest}")
        } else {
            return Err(IdNumberError::NotDigits);
        };
        // From here `value` is ASCII: 17 digits, then (for 18-char input) a digit or X.
        if !PROVINCES.contains(&&value[..2]) {
            return Err(IdNumberError::BadRegion);
        }
        let birth_date = parse_birth_date(&value[6..14])?;
        if birth_date > today {
            return Err(IdNumberError::BirthDateInFuture);
        }
        let expected = IdNumber::check_char(&value[..17]).ok_or(IdNumberError::NotDigits)?;
        let value = if value.len() == 17 {
            format!("{value}{expected}")
        } else if value.ends_with(expected) {
            value
        } else {
            return Err(IdNumberError::WrongCheckChar { expected });
        };
        Ok(IdNumber { value, birth_date })
    }

    /// The full number. Prefer [`IdNumber::expose`] where the call site should stand out.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The full number, for encryption and keyed hashing only: never log or return it.
    pub fn expose(&self) -> &str {
        &self.value
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    pub fn sex(&self) -> Sex {
        let odd = self
            .value
            .as_bytes()
            .get(16)
            .is_some_and(|b| (b - b'0') % 2 == 1);
        if odd {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// First 4 and last 4 characters, the rest starred: `3203**********123X`.
    pub fn masked(&self) -> String {
        format!(
            "{}{}{}",
            &self.value[..4],
            "*".repeat(10),
            &self.value[14..]
        )
    }

    /// The ISO 7064 MOD 11-2 check character for the first 17 digits; `None` unless `first17`
    /// is exactly 17 ASCII digits.
    pub fn check_char(first17: &str) -> Option<char> {
        if first17.len() != 17 || !all_digits(first17) {
            return None;
        }
        let sum: u32 = first17
            .bytes()
            .zip(WEIGHTS)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        CHECK_CHARS.get((sum % 11) as usize).copied()
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdNumber").field(&self.masked()).finish()
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `YYYYMMDD` (already known to be ASCII digits) to a real date in 1900 or later.
fn parse_birth_date(yyyymmdd: &str) -> Result<NaiveDate, IdNumberError> {
    let number =
        |range: std::ops::Range<usize>| -> Option<u32> { yyyymmdd.get(range)?.parse().ok() };
    let date = match (number(0..4), number(4..6), number(6..8)) {
        (Some(y), Some(m), Some(d)) => i32::try_from(y)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, m, d)),
        _ => None,
    };
    match date {
        Some(date) if date.year() >= EARLIEST_BIRTH_YEAR => Ok(date),
        _ => Err(IdNumberError::InvalidBirthDate),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn today() -> NaiveDate {
        d(2026, 6, 15)
    }

    /// A valid 18-character number from its first 17 digits.
    fn with_check(first17: &str) -> String {
        let c = IdNumber::check_char(first17).expect("17 digits");
        format!("{first17}{c}")
    }

    #[test]
    fn check_char_of_known_numbers() {
        let cases = [
            ("11010519491231002", Some('X')),
            ("1101051949123100", None),
            ("110105194912310023", None),
            ("1101051949123100a", None),
        ];
        for (first17, want) in cases {
            assert_eq!(IdNumber::check_char(first17), want, "{first17}");
        }
        // Changing one digit changes the check character.
        assert_ne!(
            IdNumber::check_char("11010519491231002"),
            IdNumber::check_char("11010519491231003")
        );
    }

    #[test]
    fn accepts_valid_numbers() {
        let valid = [
            ("11010519491231002X", d(1949, 12, 31), Sex::Female),
            ("11010519491231002x", d(1949, 12, 31), Sex::Female),
            ("  11010519491231002X\n", d(1949, 12, 31), Sex::Female),
        ];
        for (input, birth, sex) in valid {
            let id = IdNumber::parse(input, today()).expect(input);
            assert_eq!(id.as_str(), "11010519491231002X");
            assert_eq!(id.birth_date(), birth);
            assert_eq!(id.sex(), sex);
        }
        let male = with_check("32030219800101123");
        let id = IdNumber::parse(&male, today()).expect("male number");
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(id.expose(), male);
    }

    #[test]
    fn rejects_bad_shapes() {
        let cases = [
            ("", IdNumberError::WrongLength(0)),
            ("1101051949123100", IdNumberError::WrongLength(16)),
            ("11010519491231002X1", IdNumberError::WrongLength(19)),
            ("1101051949123100XX", IdNumberError::NotDigits),
            ("X10105194912310021", IdNumberError::NotDigits),
            ("11010519491231002Y", IdNumberError::NotDigits),
            ("11010519491231002Ｙ", IdNumberError::NotDigits),
            ("11010549123100X", IdNumberError::NotDigits),
            ("01010519491231002X", IdNumberError::BadRegion),
            ("16010519491231002X", IdNumberError::BadRegion),
            ("99010519491231002X", IdNumberError::BadRegion),
            ("72010519491231002X", IdNumberError::BadRegion),
        ];
        for (input, want) in cases {
            assert_eq!(IdNumber::parse(input, today()), Err(want), "{input:?}");
        }
    }

    #[test]
    fn every_province_is_accepted_and_nothing_between() {
        for first2 in 10..100 {
            let first17 = format!("{first2}010519491231002");
            let got = IdNumber::parse(&with_check(&first17), today());
            let province = PROVINCES.contains(&first2.to_string().as_str());
            assert_eq!(got.is_ok(), province, "{first2}: {got:?}");
        }
    }

    #[test]
    fn full_width_digits_and_x_from_chinese_input_methods_are_read() {
        let id =
            IdNumber::parse("１１０１０５１９４９１２３１００２Ｘ", today()).expect("full width");
        assert_eq!(id.as_str(), "11010519491231002X");
        let id = IdNumber::parse("\u{3000}11010519491231002ｘ", today()).expect("mixed");
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn wrong_check_char_names_the_expected_one() {
        let err = IdNumber::parse("110105194912310021", today()).expect_err("wrong check");
        assert_eq!(err, IdNumberError::WrongCheckChar { expected: 'X' });
        assert_eq!(err.to_string(), "check character should be X");
    }

    #[test]
    fn birth_date_must_be_real_and_in_range() {
        let cases = [
            ("32030220000229123", Ok(d(2000, 2, 29))),
            ("32030219000101123", Ok(d(1900, 1, 1))),
            ("32030220260615123", Ok(today())),
            ("32030219000229123", Err(IdNumberError::InvalidBirthDate)),
            ("32030220010229123", Err(IdNumberError::InvalidBirthDate)),
            ("32030219801301123", Err(IdNumberError::InvalidBirthDate)),
            ("32030219800100123", Err(IdNumberError::InvalidBirthDate)),
            ("32030218991231123", Err(IdNumberError::InvalidBirthDate)),
            ("32030220260616123", Err(IdNumberError::BirthDateInFuture)),
        ];
        for (first17, want) in cases {
            let got = IdNumber::parse(&with_check(first17), today()).map(|id| id.birth_date());
            assert_eq!(got, want, "{first17}");
        }
    }

    #[test]
    fn converts_old_fifteen_digit_numbers() {
        let id = IdNumber::parse("320302800101123", today()).expect("old number");
        assert_eq!(id.as_str(), with_check("32030219800101123"));
        assert_eq!(id.birth_date(), d(1980, 1, 1));
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(
            IdNumber::parse("320302800230123", today()),
            Err(IdNumberError::InvalidBirthDate)
        );
        assert_eq!(
            IdNumber::parse("020302800101123", today()),
            Err(IdNumberError::BadRegion)
        );
    }

    #[test]
    fn shows_only_the_masked_form() {
        let id = IdNumber::parse("11010519491231002X", today()).expect("valid");
        assert_eq!(id.masked(), "1101**********002X");
        assert_eq!(format!("{id:?}"), "IdNumber(\"1101**********002X\")");
        assert!(!format!("{id:#?}").contains("19491231"));
    }

    #[test]
    fn sex_follows_the_seventeenth_digit() {
        for digit in 0..10u32 {
            let id = IdNumber::parse(&with_check(&format!("3203021980010112{digit}")), today())
                .expect("valid");
            let want = if digit % 2 == 1 {
                Sex::Male
            } else {
                Sex::Female
            };
            assert_eq!(id.sex(), want, "17th digit {digit}");
        }
    }
}
