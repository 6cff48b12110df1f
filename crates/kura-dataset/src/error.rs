//! The crate's one error type. `Invalid` is the data's fault (a malformed row, a broken footer,
//! a budget exceeded) and is shown to the user; `Io` is the store's or the machine's.

/// What went wrong reading or writing a table.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The data cannot be read or converted; the message says why and where.
    #[error("{0}")]
    Invalid(String),
    /// A budget was exceeded (rows too large, too many columns, footer too big).
    #[error("{0}")]
    TooBig(String),
    /// Reading the source or writing the output failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, DatasetError>;

impl From<arrow_schema::ArrowError> for DatasetError {
    fn from(error: arrow_schema::ArrowError) -> Self {
        match error {
            arrow_schema::ArrowError::IoError(_, io) => DatasetError::Io(io),
            other => DatasetError::Invalid(clean(other.to_string())),
        }
    }
}

impl From<parquet::errors::ParquetError> for DatasetError {
    fn from(error: parquet::errors::ParquetError) -> Self {
        match error {
            parquet::errors::ParquetError::External(inner) => match inner.downcast::<std::io::Error>() {
                Ok(io) => DatasetError::Io(*io),
                Err(other) => DatasetError::Invalid(clean(other.to_string())),
            },
            other => DatasetError::Invalid(clean(other.to_string())),
        }
    }
}

/// Error texts of the Arrow crates, bounded (they may quote a whole row).
fn clean(text: String) -> String {
    const MAX: usize = 500;
    if text.len() <= MAX {
        return text;
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
