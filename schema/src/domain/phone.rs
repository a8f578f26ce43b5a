//! Mainland mobile phone numbers (11 digits, `1[3-9]…`). Personal information: `Debug`
//! prints the masked form; the full value is read through `as_str()`.

use std::fmt;

/// Why a string is not a mainland mobile number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("not a mainland mobile number")]
    NotMainlandMobile,
}

/// A mainland mobile number, stored as its 11 digits without country code.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MobilePhone(String);

impl MobilePhone {
    /// Accepts what people type: spaces and dashes anywhere, and an optional `+86`, `0086`
    /// or `86` country code in front.
    pub fn parse(input: &str) -> Result<MobilePhone, PhoneError> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let national = ["+86", "0086", "86"]
            .iter()
            .find_map(|prefix| compact.strip_prefix(prefix).filter(|rest| rest.len() == 11))
            .unwrap_or(&compact);
        let bytes = national.as_bytes();
        let valid = bytes.len() == 11
            && bytes.iter().all(u8::is_ascii_digit)
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1]);
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
        for second in '3'..='9' {
            let input = format!("1{second}012345678");
            assert!(MobilePhone::parse(&input).is_ok(), "{input}");
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
            "138１2341234",
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
    fn shows_only_the_masked_form() {
        let phone = MobilePhone::parse("13812341234").expect("valid");
        assert_eq!(phone.masked(), "138****1234");
        assert_eq!(format!("{phone:?}"), "MobilePhone(\"138****1234\")");
    }
}
