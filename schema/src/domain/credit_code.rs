//! The unified social credit code of an employer (统一社会信用代码, GB 32100-2015): 18
//! characters — the registration authority, the organisation type, the six-digit
//! administrative division, the nine-character organisation code, and a check character.
//! Not personal information: an employer's code is public (营业执照).

use std::fmt;

/// The 31 characters a code is written in, in the order of their values 0–30 (I, O, S, V
/// and Z are left out so that no two look alike).
const CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Why a string is not a unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("must be 18 characters")]
    Length,
    #[error("may hold only digits and the capital letters of GB 32100 (no I, O, S, V or Z)")]
    Character,
    #[error("characters 3 to 8 must be the six digits of an administrative division")]
    Division,
    #[error("the check character does not match (a character was mistyped)")]
    Check,
}

/// A valid unified social credit code, upper case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

/// The check character's value for the first 17 values: the weights are 3^i mod 31, and
/// the check makes the weighted sum a multiple of 31.
fn check_value(values: &[usize]) -> usize {
    let mut weight = 1;
    let mut sum = 0;
    for v in values {
        sum += v * weight;
        weight = weight * 3 % 31;
    }
    (31 - sum % 31) % 31
}

impl CreditCode {
    /// Accepts what people type: lower case, full-width characters, spaces around.
    pub fn parse(input: &str) -> Result<CreditCode, CreditCodeError> {
        let code: String = super::text::half_width(input).trim().to_ascii_uppercase();
        if code.chars().count() != 18 {
            return Err(CreditCodeError::Length);
        }
        let values: Vec<usize> = code
            .bytes()
            .map(|b| CHARS.iter().position(|c| *c == b))
            .collect::<Option<_>>()
            .ok_or(CreditCodeError::Character)?;
        if !code.as_bytes()[2..8].iter().all(u8::is_ascii_digit) {
            return Err(CreditCodeError::Division);
        }
        if check_value(&values[..17]) != values[17] {
            return Err(CreditCodeError::Check);
        }
        Ok(CreditCode(code))
    }

    /// The code that `first17` begins, with its check character added; `None` if those
    /// 17 are not a code's (demo and test data make codes this way).
    pub fn complete(first17: &str) -> Option<CreditCode> {
        let values: Vec<usize> = first17
            .bytes()
            .map(|b| CHARS.iter().position(|c| *c == b))
            .collect::<Option<_>>()?;
        let check = char::from(*CHARS.get(check_value(&values))?);
        CreditCode::parse(&format!("{first17}{check}")).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The administrative division the code was issued in (characters 3 to 8).
    pub fn division(&self) -> &str {
        &self.0[2..8]
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CreditCode({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completed_code_is_valid_and_its_check_is_the_published_one() {
        assert_eq!(
            CreditCode::complete("91440300708461136").map(|c| c.to_string()),
            Some("91440300708461136T".into())
        );
        assert_eq!(
            CreditCode::complete("9144030070846113"),
            None,
            "16 characters"
        );
        assert_eq!(
            CreditCode::complete("9144030070846113I"),
            None,
            "no I in a code"
        );
    }

    #[test]
    fn published_codes_are_valid() {
        // Codes printed on business licences that are public record.
        for code in [
            "91440300708461136T",
            "91110000600037341L",
            "9144030071526726XG",
        ] {
            assert_eq!(
                CreditCode::parse(code).map(|c| c.to_string()),
                Ok(code.into())
            );
        }
        let c = CreditCode::parse(" 91440300708461136t ").expect("typed in lower case");
        assert_eq!(c.as_str(), "91440300708461136T");
        assert_eq!(c.division(), "440300");
        // Full-width, as a Chinese input method may give it.
        assert!(CreditCode::parse("９１４４０３００７０８４６１１３６Ｔ").is_ok());
    }

    #[test]
    fn each_kind_of_mistake_is_named() {
        let cases = [
            ("", CreditCodeError::Length),
            ("91440300708461136", CreditCodeError::Length),
            ("91440300708461136TT", CreditCodeError::Length),
            ("91440300708461136I", CreditCodeError::Character),
            ("91440300708461136-", CreditCodeError::Character),
            ("914403Z0708461136T", CreditCodeError::Character),
            ("9144A300708461136T", CreditCodeError::Division),
            ("91440300708461136U", CreditCodeError::Check),
            // Two neighbouring characters swapped.
            ("91440300708461163T", CreditCodeError::Check),
        ];
        for (input, want) in cases {
            assert_eq!(CreditCode::parse(input), Err(want), "{input:?}");
        }
    }

    #[test]
    fn every_single_character_change_is_caught() {
        let good = b"91440300708461136T";
        for at in 0..18 {
            for c in CHARS {
                if *c == good[at] {
                    continue;
                }
                let mut typo = good.to_vec();
                typo[at] = *c;
                let typo = String::from_utf8(typo).expect("ascii");
                assert!(CreditCode::parse(&typo).is_err(), "{typo}");
            }
        }
    }
}
