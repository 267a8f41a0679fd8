//! Failures of the byte encodings: a block whose bytes are not the layout
//! they claim (a damaged file), and values too large for a block.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes are not a valid block of the encoding.
    #[error("{0}")]
    Malformed(String),

    /// More than a block of the encoding can hold.
    #[error("{0}")]
    TooLarge(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
