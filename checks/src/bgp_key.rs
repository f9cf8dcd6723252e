//! BGP TCP MD5 keys (RFC 2385) that a customer gives onramp. The key is
//! written into NETCONF XML and into router CLI configuration, so beyond
//! what routers accept (1-80 printable characters) it may not hold the
//! characters that XML or a CLI would read as markup or quoting. The
//! errors never repeat the key: it is a secret.

use crate::Coded;

/// The longest key routers (and AWS) take.
pub const MAX_LEN: usize = 80;

/// Printable characters that end or open markup in XML and quote in CLIs.
const MARKUP: &[char] = &['<', '>', '&', '"', '\''];

/// Why a key was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the BGP key must be 1-{MAX_LEN} characters long (got {0})")]
    Length(usize),
    #[error(
        "character {position} of the BGP key is {what}; use printable ASCII without spaces or < > & \" '"
    )]
    Character { position: usize, what: &'static str },
}

impl Coded for KeyError {
    fn code(&self) -> &'static str {
        match self {
            KeyError::Length(_) => "invalid_length",
            KeyError::Character { .. } => "invalid_character",
        }
    }
}

/// What is wrong with `c` in a key, if anything.
fn fault(c: char) -> Option<&'static str> {
    if c.is_ascii_control() || c.is_control() {
        Some("a control character")
    } else if c.is_whitespace() {
        Some("white space")
    } else if !c.is_ascii() {
        Some("not ASCII")
    } else if MARKUP.contains(&c) {
        Some("a markup or quote character")
    } else {
        None
    }
}

/// `key` if it is 1-80 characters of printable ASCII (0x21-0x7E) other
/// than `<`, `>`, `&`, `"` and `'`.
pub fn md5(key: &str) -> Result<&str, KeyError> {
    if let Some((i, what)) = key
        .chars()
        .enumerate()
        .find_map(|(i, c)| Some((i, fault(c)?)))
    {
        return Err(KeyError::Character {
            position: i + 1,
            what,
        });
    }
    if !(1..=MAX_LEN).contains(&key.len()) {
        return Err(KeyError::Length(key.len()));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_ascii_keys_of_1_to_80_are_accepted() {
        for ok in [
            "k",
            "hosted-conn-key-01",
            "A1b2!#$%()*+,-./:;=?@[\\]^_`{|}~",
            &"x".repeat(80),
        ] {
            assert_eq!(md5(ok), Ok(ok), "{ok}");
        }
    }

    #[test]
    fn empty_and_long_keys_are_refused_by_length() {
        assert_eq!(md5("").unwrap_err().code(), "invalid_length");
        assert_eq!(md5(&"x".repeat(81)), Err(KeyError::Length(81)));
    }

    #[test]
    fn control_non_ascii_space_and_markup_are_refused_by_position() {
        for (bad, position) in [
            ("ab\0cd", 3),
            ("\u{7f}abc", 1),
            ("abc\n", 4),
            ("key\u{1F600}", 4),
            ("clé", 3),
            ("a b", 2),
            ("a\u{a0}b", 2),
            ("<b>", 1),
            ("a>b", 2),
            ("a&b", 2),
            ("a\"b", 2),
            ("a'b", 2),
        ] {
            match md5(bad) {
                Err(e @ KeyError::Character { position: p, .. }) => {
                    assert_eq!(p, position, "{bad:?}");
                    assert_eq!(e.code(), "invalid_character");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_detail_never_repeats_the_key() {
        let e = md5("s3cret<x>").unwrap_err().to_string();
        assert!(!e.contains("s3cret"), "{e}");
    }
}
