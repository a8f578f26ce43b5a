//! Mainland mobile phone numbers: 11 digits in a range the operators use for mobiles.
//! Personal information: `Debug` prints the masked form; the full value is read through
//! `as_str()`.

use std::fmt;

/// Why a string is not a mainland mobile number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("not a mainland mobile number")]
    NotMainlandMobile,
}

/// The mobile ranges of mainland China: the first three digits, and the five-digit
/// prefixes of the one range only partly open (174 is satellite and emergency numbers but
/// for 17400–17405).
///
/// Source: libphonenumber's `PhoneNumberMetadata.xml`, territory `CN`, `mobile`, release
/// 9.0.33 (as carried by the `phonenumber` crate 0.3.10+9.0.33), read on 2026-12-05:
/// `1740[0-5]\d{6}|1(?:[38]\d|4[57]|[59][0-35-9]|6[25-7]|7[0-35-8])\d{8}`. When operators
/// open a range, update this table from a newer release and name it here.
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", //
    "145", "147", //
    "150", "151", "152", "153", "155", "156", "157", "158", "159", //
    "162", "165", "166", "167", //
    "170", "171", "172", "173", "175", "176", "177", "178", //
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", //
    "190", "191", "192", "193", "195", "196", "197", "198", "199", //
    "17400", "17401", "17402", "17403", "17404", "17405",
];

fn in_mobile_range(national: &str) -> bool {
    MOBILE_PREFIXES.iter().any(|p| national.starts_with(p))
}

/// A mainland mobile number, stored as its 11 digits without country code.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MobilePhone(String);

impl MobilePhone {
    /// Accepts what people type: full-width digits, spaces and dashes anywhere, and an
    /// optional `+86`, `0086` or `86` country code in front.
    pub fn parse(input: &str) -> Result<MobilePhone, PhoneError> {
        let compact: String = super::text::half_width(input)
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let national = ["+86", "0086", "86"]
            .iter()
            .find_map(|prefix| compact.strip_prefix(prefix).filter(|rest| rest.len() == 11))
            .unwrap_or(&compact);
        let bytes = national.as_bytes();
        let valid =
            bytes.len() == 11 && bytes.iter().all(u8::is_ascii_digit) && in_mobile_range(national);
        if valid {
            Ok(MobilePhone(national.to_string()))
        } else {
            Err(PhoneError::NotMainlandMobile)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// First 3 and last 4 digits: `138****1234`.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Debug for MobilePhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MobilePhone").field(&self.masked()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_spellings() {
        let cases = [
            "13812341234",
            " 13812341234 ",
            "138-1234-1234",
            "138 1234 1234",
            "+86 138 1234 1234",
            "+8613812341234",
            "8613812341234",
            "0086-138-1234-1234",
        ];
        for input in cases {
            let phone = MobilePhone::parse(input).expect(input);
            assert_eq!(phone.as_str(), "13812341234", "{input:?}");
        }
    }

    #[test]
    fn rejects_other_numbers() {
        let cases = [
            "",
            "1381234123",
            "138123412345",
            "12812341234",
            "10812341234",
            "23812341234",
            "1381234123a",
            "138x2341234",
            // Ranges that `1[3-9]` let through and no operator uses for mobiles.
            "14012341234",
            "14412341234",
            "14612341234",
            "14812341234",
            "14912341234",
            "15412341234",
            "16012341234",
            "16112341234",
            "16312341234",
            "16412341234",
            "16812341234",
            "16912341234",
            "17412341234",
            "17406123412",
            "17912341234",
            "19412341234",
            "+8523812341234",
            "025-12345678",
            "+86 25 1234 5678",
            "+86",
        ];
        for input in cases {
            assert_eq!(
                MobilePhone::parse(input),
                Err(PhoneError::NotMainlandMobile),
                "{input:?}"
            );
        }
        assert_eq!(
            PhoneError::NotMainlandMobile.to_string(),
            "not a mainland mobile number"
        );
    }

    #[test]
    fn full_width_digits_are_read() {
        let phone = MobilePhone::parse("＋８６ １３８－１２３４－１２３４").expect("full width");
        assert_eq!(phone.as_str(), "13812341234");
    }

    #[test]
    fn every_open_range_is_accepted() {
        for prefix in MOBILE_PREFIXES {
            let input = format!("{prefix}{}", &"12345678"[..11 - prefix.len()]);
            assert!(MobilePhone::parse(&input).is_ok(), "{input}");
        }
    }

    #[test]
    fn shows_only_the_masked_form() {
        let phone = MobilePhone::parse("13812341234").expect("valid");
        assert_eq!(phone.masked(), "138****1234");
        assert_eq!(format!("{phone:?}"), "MobilePhone(\"138****1234\")");
    }
}
