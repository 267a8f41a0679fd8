//! Failures of ingestion: files that cannot be read as their format,
//! ingestion expressions that cannot be compiled or evaluated, stream
//! settings the decoder cannot use, the Kafka client's refusals, and
//! brokers that cannot be reached.

use datafusion::sql::sqlparser::parser::ParserError;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::kafka::describe;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown input format `{0}`; expected parquet, csv or json")]
    UnknownFormat(String),

    #[error("cannot open the file: {0}")]
    Open(#[source] std::io::Error),

    #[error("cannot read the file: {0}")]
    Read(#[source] std::io::Error),

    #[error("cannot open the file: {0}")]
    CsvOpen(#[source] csv::Error),

    #[error("cannot read the CSV header: {0}")]
    CsvHeader(#[source] csv::Error),

    #[error("not a readable Parquet file: {0}")]
    NotParquet(#[source] parquet::errors::ParquetError),

    /// The Parquet or Arrow decoder panicked on the file (see
    /// `files/parquet.rs`).
    #[error("not a readable Parquet file: the Parquet decoder failed on it ({0})")]
    ParquetPanic(String),

    #[error("cannot read the file: {0}")]
    ParquetRead(#[source] parquet::errors::ParquetError),

    #[error("cannot read the file at row {row}: {source}")]
    Batch {
        row: u64,
        #[source]
        source: arrow_schema::ArrowError,
    },

    /// The file's columns (a CSV header, Parquet fields) do not fit the
    /// table's.
    #[error("{0}")]
    Columns(String),

    /// The sink stopped the reading at a bad row (strict mode).
    #[error("stopped at a bad row")]
    Stopped,

    /// The sink failed to take rows: its own error, kept whole.
    #[error(transparent)]
    Sink(Box<dyn std::error::Error + Send + Sync>),

    #[error("cannot parse `{text}`: {source}")]
    Parse {
        text: String,
        #[source]
        source: ParserError,
    },

    /// An ingestion expression that parses but uses what ingestion does
    /// not support (an operator, a function, an argument count).
    #[error("{0}")]
    Unsupported(String),

    /// An ingestion expression failed on a record.
    #[error("`{expr}`: {reason}")]
    Eval {
        expr: String,
        #[source]
        reason: crate::expr::Error,
    },

    /// A setting of the table (`field` names it) the decoder cannot use.
    #[error("{field}: {source}")]
    Setting {
        field: String,
        #[source]
        source: Box<Error>,
    },

    #[error("{field}: column `{column}` is not in the schema")]
    UnknownColumn { field: String, column: String },

    #[error("Debezium change events need upsertConfig.deleteRecordColumn")]
    NoDeleteColumn,

    /// The Kafka client refused to do something; `action` says what
    /// ("cannot assign t/0"), unless the refusal says it itself.
    #[error("{}", kafka_message(.action.as_deref(), .source))]
    Kafka {
        action: Option<String>,
        #[source]
        source: KafkaError,
    },

    #[error("topic `{0}` does not exist")]
    NoTopic(String),

    #[error("topic `{topic}`: {code}")]
    Topic {
        topic: String,
        code: RDKafkaErrorCode,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The Kafka client's refusal to do `action`.
    pub(crate) fn kafka(action: impl Into<String>) -> impl FnOnce(KafkaError) -> Error {
        let action = action.into();
        move |source| Error::Kafka {
            action: Some(action),
            source,
        }
    }

    /// A failure of the setting `field`.
    pub(crate) fn setting(field: impl Into<String>) -> impl FnOnce(Error) -> Error {
        let field = field.into();
        move |source| Error::Setting {
            field,
            source: Box::new(source),
        }
    }
}

fn kafka_message(action: Option<&str>, source: &KafkaError) -> String {
    match action {
        Some(action) => format!("{action}: {}", describe(source)),
        None => describe(source),
    }
}
