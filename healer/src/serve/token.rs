//! The webhook's bearer token: where it comes from, and a comparison whose time does not depend
//! on how much of a guess is right.

use std::fmt;
use std::path::Path;

use subtle::ConstantTimeEq;

use super::ServeError;

/// A shared secret Alertmanager sends as `Authorization: Bearer <token>` (its receiver's
/// `http_config.authorization.credentials`). `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// A token from its text, surrounding whitespace removed; `None` when nothing is left.
    pub fn new(text: &str) -> Option<Token> {
        let text = text.trim();
        (!text.is_empty()).then(|| Token(text.to_owned()))
    }

    /// Reads the token from the first line of `path` (a trailing newline is fine).
    pub fn from_file(path: &Path) -> Result<Token, ServeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ServeError::TokenFile {
            path: path.to_owned(),
            why: source.to_string(),
        })?;
        Token::new(&text).ok_or_else(|| ServeError::TokenFile {
            path: path.to_owned(),
            why: "the file is empty".to_owned(),
        })
    }

    /// Reads the token from the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Token, ServeError> {
        let missing = |why: &str| ServeError::TokenEnv {
            var: var.to_owned(),
            why: why.to_owned(),
        };
        let text = std::env::var(var).map_err(|_| missing("it is not set (or not UTF-8)"))?;
        Token::new(&text).ok_or_else(|| missing("it is empty"))
    }

    /// Whether an `Authorization` header value carries this token as a bearer token. The token is
    /// compared in constant time ([`ConstantTimeEq`]): the time taken may reveal whether the
    /// lengths differ, never how long a matching prefix a guess has.
    pub(crate) fn authorizes(&self, header: Option<&[u8]>) -> bool {
        let Some(header) = header else {
            return false;
        };
        let Some((scheme, presented)) = split_scheme(header) else {
            return false;
        };
        scheme.eq_ignore_ascii_case(b"bearer") && bool::from(self.0.as_bytes().ct_eq(presented))
    }
}

fn split_scheme(header: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = header.iter().position(|b| *b == b' ')?;
    let (scheme, rest) = header.split_at(space);
    Some((scheme, rest.trim_ascii()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let token = Token::new(" s3cret\n").unwrap();
        assert!(token.authorizes(Some(b"Bearer s3cret")));
        assert!(token.authorizes(Some(b"bearer s3cret")));
        for wrong in [
            &b"Bearer s3cre"[..],
            b"Bearer s3cret2",
            b"Bearer S3cret",
            b"Basic s3cret",
            b"s3cret",
            b"Bearer ",
            b"",
        ] {
            assert!(!token.authorizes(Some(wrong)), "{wrong:?} was accepted");
        }
        assert!(!token.authorizes(None));
    }

    #[test]
    fn blank_tokens_are_refused_and_debug_hides_the_secret() {
        assert!(Token::new(" \n").is_none());
        let token = Token::new("s3cret").unwrap();
        assert!(!format!("{token:?}").contains("s3cret"));
    }
}
