//! A bank account for a subsidy to be paid into (the social-security card's financial
//! account or the applicant's own bank account, 拨付至申请者本人社会保障卡或银行个人账户).
//! Personal information like an ID number: encrypted at rest, masked in answers.
//! Digits only, 12 to 25 of them: bank cards have 16 to 19, passbook and card-account
//! numbers vary by bank, and not every bank's numbers carry a Luhn check digit, so none
//! is asked for.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("must be a bank account number: 12 to 25 digits")]
    NotAnAccount,
}

/// A bank account number, its digits only.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccountNumber(String);

impl AccountNumber {
    /// Accepts what people type: full-width digits and spaces or dashes between groups.
    pub fn parse(input: &str) -> Result<AccountNumber, AccountError> {
        let digits: String = super::text::half_width(input)
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let valid = (12..=25).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        if valid {
            Ok(AccountNumber(digits))
        } else {
            Err(AccountError::NotAnAccount)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits only, as payees are told which account was paid.
    pub fn masked(&self) -> String {
        format!("****{}", &self.0[self.0.len() - 4..])
    }
}

impl fmt::Debug for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AccountNumber")
            .field(&self.masked())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_digits_and_show_their_last_four() {
        let card = AccountNumber::parse("6222 0212 3456 7890 123").expect("a card");
        assert_eq!(card.as_str(), "6222021234567890123");
        assert_eq!(card.masked(), "****0123");
        assert_eq!(format!("{card:?}"), "AccountNumber(\"****0123\")");
        let full_width =
            AccountNumber::parse("６２２２-０２１２-３４５６-７８９０").expect("a card");
        assert_eq!(full_width.as_str(), "6222021234567890");
        for bad in [
            "12345678901",
            "62220212345678901234567890",
            "6222a21234567890",
            "",
        ] {
            assert_eq!(
                AccountNumber::parse(bad),
                Err(AccountError::NotAnAccount),
                "{bad}"
            );
        }
    }
}
