//! A compiled text pattern (`LIKE`, `REGEXP_LIKE`, `RLIKE`): its regular
//! expression, and when the expression is only literal pieces between
//! "anything" wildcards (what `LIKE 'a%b%c'` becomes), those pieces, found
//! by substring search (memchr's `memmem`) instead of a regex engine:
//! a prefix, then each middle piece after the last, then a suffix.
//!
//! The pieces are read back from the expression's source, so a pattern
//! decoded from a plan on another node matches the same way.

use std::borrow::Cow;
use std::ops::Deref;
use std::sync::Arc;

use memchr::memmem::Finder;
use regex::Regex;
use regex_automata::meta;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind};

/// Most memory a pattern's compiled regular expression may take (the regex
/// crate's default is 10 MiB): patterns come from the caller.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Most memory the lazy DFA of one regular expression may cache.
pub const REGEX_DFA_SIZE_LIMIT: usize = 2 << 20;

/// The regular expression of SQL `LIKE` pattern `pattern`: anchored at
/// both ends, `%` any run of characters (newlines included), `_` any one.
pub fn like_source(pattern: &str) -> String {
    let mut out = String::from("(?s)^");
    for c in pattern.chars() {
        match c {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    out.push('$');
    out
}

/// A compiled pattern; derefs to its regular expression.
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: Regex,
    pieces: Option<Arc<Pieces>>,
    /// The same expression, compiled as `regex` compiles it, for scans
    /// that keep their own search cache (`Matcher`) rather than share
    /// the regex's pool between threads.
    searcher: Option<Arc<meta::Regex>>,
}

impl Pattern {
    pub fn new(regex: Regex) -> Pattern {
        let pieces = Pieces::of(regex.as_str()).map(Arc::new);
        let searcher = match pieces {
            Some(_) => None,
            None => meta::Builder::new()
                .configure(
                    meta::Config::new()
                        .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                        .hybrid_cache_capacity(REGEX_DFA_SIZE_LIMIT)
                        .match_kind(MatchKind::LeftmostFirst)
                        .utf8_empty(true),
                )
                .syntax(syntax::Config::new().utf8(true))
                .build(regex.as_str())
                .ok()
                .map(Arc::new),
        };
        Pattern {
            regex,
            pieces,
            searcher,
        }
    }

    /// A matcher for one scan: its own search cache, no lock per value.
    pub fn matcher(&self) -> Matcher<'_> {
        Matcher {
            pattern: self,
            cache: self
                .searcher
                .as_ref()
                .map(|searcher| searcher.create_cache()),
        }
    }

    /// Whether `text` matches.
    #[inline]
    pub fn is_match(&self, text: &str) -> bool {
        match &self.pieces {
            Some(pieces) => pieces.is_match(text.as_bytes()),
            None => self.regex.is_match(text),
        }
    }

    /// Whether matching goes by substring search rather than the regex.
    pub fn is_literal(&self) -> bool {
        self.pieces.is_some()
    }
}

/// [`Pattern::matcher`]: one scan's matching of stored text.
pub struct Matcher<'p> {
    pattern: &'p Pattern,
    cache: Option<meta::Cache>,
}

impl Matcher<'_> {
    /// Whether stored text matches: by its bytes where the pattern is
    /// literal pieces, else as UTF-8 (replacing what is not, as reading
    /// the value would).
    #[inline]
    pub fn is_match_bytes(&mut self, bytes: &[u8]) -> bool {
        if let Some(pieces) = &self.pattern.pieces {
            return pieces.is_match(bytes);
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        };
        match (&self.pattern.searcher, &mut self.cache) {
            (Some(searcher), Some(cache)) => searcher
                .search_half_with(cache, &Input::new(text.as_bytes()).earliest(true))
                .is_some(),
            _ => self.pattern.regex.is_match(&text),
        }
    }
}

impl Deref for Pattern {
    type Target = Regex;

    fn deref(&self) -> &Regex {
        &self.regex
    }
}

/// The characters `regex::escape` escapes.
const ESCAPED: &str = "\\.+*?()|[]{}^$#&-~";

/// `^prefix.*middle_1.*...middle_n.*suffix$`, each part possibly empty.
#[derive(Debug)]
struct Pieces {
    prefix: Vec<u8>,
    middle: Vec<Finder<'static>>,
    /// `None` when the pattern ends with a wildcard.
    suffix: Option<Vec<u8>>,
    /// No wildcard at all: the text is the prefix, exactly.
    exact: bool,
}

impl Pieces {
    /// The pieces of a regular expression's source, when it has the shape
    /// `(?s)^` literals and `.*` `$` (escaped as `regex::escape` does);
    /// `None` for anything else.
    fn of(source: &str) -> Option<Pieces> {
        let body = source.strip_prefix("(?s)^")?.strip_suffix('$')?;
        let mut parts: Vec<Vec<u8>> = vec![Vec::new()];
        let mut chars = body.chars().peekable();
        let mut buf = [0u8; 4];
        while let Some(c) = chars.next() {
            match c {
                '.' => {
                    if chars.next() != Some('*') {
                        return None;
                    }
                    parts.push(Vec::new());
                }
                '\\' => {
                    // Only what `regex::escape` escapes stands for itself:
                    // `\d`, `\<`, `\n` and the like are classes, assertions
                    // or other escapes.
                    let escaped = chars.next()?;
                    if !ESCAPED.contains(escaped) {
                        return None;
                    }
                    let last = parts.last_mut()?;
                    last.extend_from_slice(escaped.encode_utf8(&mut buf).as_bytes());
                }
                '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '#'
                | '&' | '-' | '~' => return None,
                // Whitespace and `#` mean something under `(?x)` only, which
                // this shape does not have; other characters are themselves.
                other => {
                    let last = parts.last_mut()?;
                    last.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        // Stored text that is not UTF-8 reads with U+FFFD in place of what
        // is not: a piece holding it is left to the regex, on that text.
        if parts
            .iter()
            .any(|part| String::from_utf8_lossy(part).contains('\u{FFFD}'))
        {
            return None;
        }
        let exact = parts.len() == 1;
        let prefix = parts.remove(0);
        if exact {
            return Some(Pieces {
                prefix,
                middle: Vec::new(),
                suffix: Some(Vec::new()),
                exact,
            });
        }
        let suffix = parts.pop().filter(|last| !last.is_empty());
        let middle = parts
            .into_iter()
            .filter(|piece| !piece.is_empty())
            .map(|piece| Finder::new(&piece).into_owned())
            .collect();
        Some(Pieces {
            prefix,
            middle,
            suffix,
            exact,
        })
    }

    fn is_match(&self, text: &[u8]) -> bool {
        if self.exact {
            return text == self.prefix.as_slice();
        }
        let Some(rest) = text.strip_prefix(self.prefix.as_slice()) else {
            return false;
        };
        let mut rest = match &self.suffix {
            Some(suffix) => match rest.strip_suffix(suffix.as_slice()) {
                Some(before) => before,
                None => return false,
            },
            None => rest,
        };
        for finder in &self.middle {
            match finder.find(rest) {
                Some(at) => rest = &rest[at + finder.needle().len()..],
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(pattern: &str) -> Pattern {
        Pattern::new(Regex::new(&like_source(pattern)).unwrap())
    }

    #[test]
    fn literal_pieces_match_as_the_regex_does() {
        let patterns = [
            "%special%requests%",
            "special%",
            "%requests",
            "a%b",
            "ab",
            "",
            "%",
            "%%",
            "a.b%",
            "%(x)%",
            "%ä%",
            "%a%a%",
            "aa%aa",
            "a_b",
            "%[%",
            "%\\%",
            "%-%",
        ];
        let texts = [
            "",
            "a",
            "aa",
            "aaa",
            "ab",
            "a.b",
            "axb",
            "aab",
            "special requests",
            "quickly special deposits; requests",
            "requests special",
            "(x)",
            "ä",
            "x\ny",
            "[",
            "\\",
            "-",
            "aaaa",
        ];
        for pattern in patterns {
            let compiled = like(pattern);
            for text in texts {
                assert_eq!(
                    compiled.is_match(text),
                    compiled.regex.is_match(text),
                    "`{pattern}` on `{text}`"
                );
            }
        }
        assert!(like("%special%requests%").is_literal());
        assert!(like("a.b%").is_literal());
        assert!(!like("a_b").is_literal());
    }

    #[test]
    fn a_scans_matcher_agrees_with_the_regex() {
        let texts: [&[u8]; 8] = [
            b"",
            b"special requests",
            b"requests special",
            b"a\nspecial\nrequests",
            b"ab",
            b"\xffspecial requests",
            b"x\xc3",
            b"\xc3\xa4b",
        ];
        for source in [
            "special.*requests",
            "(?s)^a.b$",
            "^(ab|\u{e4}b)$",
            "\\bspecial\\b",
            "(?s)^.*special.*$",
            "\u{FFFD}",
        ] {
            let pattern = Pattern::new(Regex::new(source).unwrap());
            let mut matcher = pattern.matcher();
            for text in texts {
                let read = String::from_utf8_lossy(text);
                assert_eq!(
                    matcher.is_match_bytes(text),
                    pattern.regex.is_match(&read),
                    "`{source}` on {text:?}"
                );
            }
        }
    }

    #[test]
    fn other_regular_expressions_keep_the_regex() {
        for source in [
            "abc",
            "(?s)^a+$",
            "(?s)^\\d.*$",
            "(?s)^a|b$",
            "^.*a.*$",
            "(?s)^.*\\<foo.*$",
            "(?s)^.*\u{FFFD}.*$",
        ] {
            let pattern = Pattern::new(Regex::new(source).unwrap());
            assert!(!pattern.is_literal(), "{source}");
        }
    }
}
