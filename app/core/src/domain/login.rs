use super::{ParseError, ParseFailure};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

const LOGIN_MIN: usize = 3;
const LOGIN_MAX: usize = 64;
const PASSWORD_MIN: usize = 10;
const PASSWORD_MAX: usize = 256;

/// A login name: NFKC-normalised then lower-cased (so `Alice`, `alice` and full-width `ａｌｉｃｅ`
/// are one login), 3–64 characters of ASCII letters `a-z`, digits `0-9` and `. _ - @`. ASCII
/// only, so no login can look like another one written with Cyrillic or Greek letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LoginName(String);

impl LoginName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let fail = |reason| ParseError { field: "login", reason };
        let name = raw.trim().nfkc().collect::<String>().to_lowercase();
        let len = name.chars().count();
        if len == 0 {
            return Err(fail(ParseFailure::Empty));
        }
        if len < LOGIN_MIN {
            return Err(fail(ParseFailure::TooShort { min: LOGIN_MIN }));
        }
        if len > LOGIN_MAX {
            return Err(fail(ParseFailure::TooLong { max: LOGIN_MAX }));
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@');
        if !name.chars().all(allowed) {
            return Err(fail(ParseFailure::BadCharacters));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LoginName {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<LoginName> for String {
    fn from(value: LoginName) -> Self {
        value.0
    }
}

impl std::fmt::Display for LoginName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password. Never printed: `Debug` hides it and there is no `Display` nor `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let fail = |reason| ParseError { field: "password", reason };
        let len = raw.chars().count();
        if len < PASSWORD_MIN {
            return Err(fail(ParseFailure::TooShort { min: PASSWORD_MIN }));
        }
        if len > PASSWORD_MAX {
            return Err(fail(ParseFailure::TooLong { max: PASSWORD_MAX }));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names_are_case_folded_and_checked() {
        assert_eq!(LoginName::parse(" Alice.M ").map(|l| l.0), Ok("alice.m".into()));
        assert_eq!(
            LoginName::parse("ab").map_err(|e| e.reason),
            Err(ParseFailure::TooShort { min: 3 })
        );
        assert!(LoginName::parse("a b c").is_err());
        assert!(LoginName::parse("").is_err());
    }

    #[test]
    fn login_names_are_ascii_after_normalisation() {
        let parsed = |raw: &str| LoginName::parse(raw).map_err(|e| e.reason);
        assert_eq!(parsed("\u{430}dmin"), Err(ParseFailure::BadCharacters), "Cyrillic а looks like a");
        assert_eq!(parsed("jos\u{e9}"), Err(ParseFailure::BadCharacters));
        assert_eq!(parsed("ａｄｍｉｎ２").map(|l| l.0), Ok("admin2".into()), "full-width forms fold to ASCII");
        assert_eq!(parsed("Ana_B-1@x.fr").map(|l| l.0), Ok("ana_b-1@x.fr".into()));
    }

    #[test]
    fn passwords_have_a_minimum_and_never_print() {
        assert!(Password::parse("short").is_err());
        let p = Password::parse("long enough secret").expect("valid password");
        assert!(!format!("{p:?}").contains("secret"));
    }
}
