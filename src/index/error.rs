//! Failures of index blocks: bytes that are not the index their footer
//! entry names (a damaged file), indexes too large for their block format,
//! and build inputs that do not fit together.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes of a block are not a valid index.
    #[error("{0}")]
    Malformed(String),

    /// The block's encoding refused it: malformed bytes, or more than a
    /// block holds.
    #[error(transparent)]
    Codec(#[from] crate::codec::Error),

    /// A packed doc-id set of a block is malformed.
    #[error("bitmap {index}: {reason}")]
    Bitmap { index: usize, reason: String },

    /// A roaring bitmap of a block does not deserialize.
    #[error("bitmap {index}: {source}")]
    Roaring {
        index: usize,
        #[source]
        source: std::io::Error,
    },

    /// An index larger than its block format can hold.
    #[error("{0}")]
    TooLarge(String),

    /// A builder was handed inputs that do not fit together, or met data it
    /// wrote itself that does not decode: a bug, not bad input.
    #[error("{0}")]
    Inconsistent(&'static str),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
