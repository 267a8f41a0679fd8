//! [`WireError`]: why bytes from the other side of the broker↔server
//! boundary could not be decoded, or do not fit the plan they answer. Each
//! variant names what was wrong and the byte it was found at.

/// A message that cannot be decoded: damaged, cut short, from another
/// version of the format, or an answer that does not fit its plan.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    /// The first byte is not a version this build reads.
    #[error("wire format version {found} is not supported; this build reads version {expected}")]
    Version { found: u8, expected: u8 },

    /// A request where an answer was expected, or the other way round.
    #[error("expected {expected} (message kind {expected_kind}), got message kind {found}")]
    Kind {
        expected: &'static str,
        expected_kind: u8,
        found: u8,
    },

    /// The message ends inside something.
    #[error("the message is truncated: {what} at byte {at} runs past its end at byte {len}")]
    Truncated {
        what: &'static str,
        at: usize,
        len: usize,
    },

    /// A tag byte that names no variant.
    #[error("unknown {what} tag {tag} at byte {at}")]
    UnknownTag {
        what: &'static str,
        tag: u8,
        at: usize,
    },

    /// A length (or count) past [`MAX_LEN`](super::buf::MAX_LEN).
    #[error("a length of {len} at byte {at} exceeds the 64 MiB bound")]
    TooLong { len: u64, at: usize },

    /// A varint of more than ten bytes, or too large for its field.
    #[error("the {what} varint at byte {at} does not fit its field")]
    Varint { what: &'static str, at: usize },

    /// Text that is not UTF-8.
    #[error("the {what} at byte {at} is not valid UTF-8")]
    Utf8 { what: &'static str, at: usize },

    /// Expressions, filters or arrays nested past the decoder's bound.
    #[error("nesting deeper than {limit} levels at byte {at}")]
    TooDeep { limit: usize, at: usize },

    /// Well-formed bytes holding a value the engine never builds: a regular
    /// expression that does not compile, a function with the wrong number
    /// of arguments, states of different lengths.
    #[error("invalid {what} at byte {at}: {reason}")]
    Invalid {
        what: &'static str,
        at: usize,
        reason: String,
    },

    /// Bytes left after the message.
    #[error("{extra} unexpected bytes after the message ends at byte {at}")]
    Trailing { extra: usize, at: usize },

    /// A decoded answer whose partial result does not fit the plan it
    /// answers (see [`check_response`](super::check_response)).
    #[error("the server's answer does not fit the plan: {reason}")]
    Mismatch { reason: String },
}
