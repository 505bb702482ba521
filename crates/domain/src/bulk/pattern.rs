//! Code patterns: `#` a digit, `?` a letter, `*` a digit or a letter, anything else literal.
//! The random characters leave out the ones people misread (0/O, 1/I/L), so a code read off
//! a flyer is typed right.

use rand::Rng;

/// Digits a pattern's `#` draws from: 0 and 1 are left out (O, I, L).
pub const DIGITS: &str = "23456789";
/// Letters a pattern's `?` draws from: I, L and O are left out (1, 0).
pub const LETTERS: &str = "ABCDEFGHJKMNPQRSTUVWXYZ";
/// What `*` (and `prefix` + `length`) draws from: DIGITS then LETTERS.
pub const ALPHANUMERIC: &str = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// A job must be able to make at least this many times `count` distinct codes, so collisions
/// stay rare and the job ends.
pub const SPACE_FACTOR: u128 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Literal(u8),
    Digit,
    Letter,
    Alphanumeric,
}

impl Slot {
    fn choices(self) -> &'static [u8] {
        match self {
            Slot::Literal(_) => &[],
            Slot::Digit => DIGITS.as_bytes(),
            Slot::Letter => LETTERS.as_bytes(),
            Slot::Alphanumeric => ALPHANUMERIC.as_bytes(),
        }
    }
}

/// A parsed pattern: every code it makes is a valid code (3-64 letters, digits, `-`, `_`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    slots: Vec<Slot>,
}

impl Pattern {
    /// Parses a pattern; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut slots = Vec::with_capacity(text.len());
        for c in text.chars() {
            slots.push(match c {
                '#' => Slot::Digit,
                '?' => Slot::Letter,
                '*' => Slot::Alphanumeric,
                c if c.is_ascii_alphanumeric() || c == '-' || c == '_' => Slot::Literal(c as u8),
                c => {
                    return Err(format!(
                        "{c:?} cannot be in a code: use letters, digits, '-', '_', and '#' (digit), '?' (letter), '*' (either)"
                    ));
                }
            });
        }
        if !(3..=64).contains(&slots.len()) {
            return Err(format!(
                "makes codes of {} characters; codes have 3 to 64",
                slots.len()
            ));
        }
        if slots.iter().all(|s| matches!(s, Slot::Literal(_))) {
            return Err(
                "has no random part: put '#' (digit), '?' (letter) or '*' (either) in it".into(),
            );
        }
        Ok(Self {
            text: text.to_string(),
            slots,
        })
    }

    /// `prefix` followed by `length` random digits or letters.
    pub fn prefixed(prefix: &str, length: usize) -> Result<Self, String> {
        if let Some(c) = prefix
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!(
                "{c:?} cannot be in a code: a prefix is letters, digits, '-' and '_'"
            ));
        }
        if length == 0 || prefix.len() + length > 64 {
            return Err(format!(
                "prefix and length make codes of {} characters; codes have 3 to 64, with at least one random character",
                prefix.len() + length
            ));
        }
        Self::parse(&format!("{prefix}{}", "*".repeat(length)))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// How many distinct codes the pattern can make, ignoring case (saturating).
    pub fn space(&self) -> u128 {
        self.slots
            .iter()
            .filter(|s| !matches!(s, Slot::Literal(_)))
            .fold(1u128, |n, s| n.saturating_mul(s.choices().len() as u128))
    }

    /// One random code. `rng` should be a CSPRNG (`rand::rng()` is): codes are unguessable.
    pub fn generate(&self, rng: &mut impl Rng) -> String {
        self.slots
            .iter()
            .map(|slot| match slot {
                Slot::Literal(c) => char::from(*c),
                slot => {
                    let choices = slot.choices();
                    char::from(choices[rng.random_range(0..choices.len())])
                }
            })
            .collect()
    }

    /// Whether `code` is one this pattern can make (tests, and a check of stored codes).
    pub fn matches(&self, code: &str) -> bool {
        code.len() == self.slots.len()
            && code.bytes().zip(&self.slots).all(|(b, slot)| match slot {
                Slot::Literal(c) => b == *c,
                slot => slot.choices().contains(&b),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_make_codes_of_their_shape_from_unambiguous_characters() {
        let pattern = Pattern::parse("SPRING-####-????").expect("valid");
        assert_eq!(pattern.space(), 8u128.pow(4) * 23u128.pow(4));
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let code = pattern.generate(&mut rng);
            assert!(pattern.matches(&code), "{code}");
            assert!(crate::rules::valid_code(&code), "{code}");
            assert!(!code[7..].contains(['0', '1', 'O', 'I', 'L']), "{code}");
        }
        assert!(!pattern.matches("SPRING-0000-AAAA"));
        assert!(!pattern.matches("SPRING-2345-ABC"));
    }

    #[test]
    fn prefix_and_length_is_a_pattern_of_stars() {
        let pattern = Pattern::prefixed("VIP_", 6).expect("valid");
        assert_eq!(pattern.as_str(), "VIP_******");
        assert_eq!(pattern.space(), 31u128.pow(6));
        assert!(Pattern::prefixed("VIP!", 6).is_err());
        assert!(Pattern::prefixed("VIP", 0).is_err());
        assert!(Pattern::prefixed("X", 64).is_err());
    }

    #[test]
    fn patterns_that_cannot_make_valid_codes_are_refused() {
        for bad in [
            "#",
            "AB",
            "SPRING",
            "SPR NG-###",
            "café-###",
            &"#".repeat(65),
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
        assert!(Pattern::parse("A-#").is_ok());
    }

    #[test]
    fn a_huge_space_saturates() {
        assert_eq!(
            Pattern::parse(&"*".repeat(64)).expect("valid").space(),
            u128::MAX
        );
    }
}
