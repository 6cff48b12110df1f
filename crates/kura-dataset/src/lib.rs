//! Tables for the dataset viewer: kura's Arrow and Parquet code. `convert` turns csv, tsv,
//! json, jsonl, txt and Arrow IPC files into Parquet the way `datasets` writes it (feature
//! metadata, page index, content-defined chunking); `read` serves rows of a Parquet file by
//! byte ranges, decoding only the row groups and pages a page of rows touches; `features` maps
//! Arrow types to the `datasets` feature JSON; `cells` turns Arrow rows into the viewer's JSON
//! cells. Files are reached through the `RangeSource` trait (the core implements it over a
//! repo's files, behind its authorization proof); conversion works on `std::io` readers and
//! writers so the caller decides where bytes come from and go. Every input has a budget.

pub mod batches;
pub mod cells;
pub mod convert;
mod error;
pub mod features;
mod json_split;
pub mod read;
pub mod shards;
pub mod thrift_guard;

pub use arrow_array::RecordBatch;
pub use error::{DatasetError, Result};
pub use read::{RangeSource, TableMeta};
