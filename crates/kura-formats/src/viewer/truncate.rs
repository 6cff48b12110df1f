//! The `/first-rows` truncation rules, as dataset-viewer's `create_truncated_row_items`
//! (`libs/libcommon/src/libcommon/viewer_utils/truncate_rows.py`) applies them. Sizes are the
//! byte lengths of compact JSON, as `orjson.dumps` measures them.
//!
//! 1. The first `min_rows` (10) rows are always kept; the running size starts at 2 (the list's
//!    brackets) and adds each row item's size plus 1 (a comma).
//! 2. If that size is already `>= max_bytes`, the size of the kept list is measured again and the
//!    rows are walked from the last one backwards while the size stays `>= max_bytes`: in each
//!    row, every cell whose serialisation is longer than `min_cell_bytes` (100) becomes a JSON
//!    string holding that serialisation cut to `min_cell_bytes` bytes (backed up to a UTF-8
//!    character boundary), and its column is listed in `truncated_cells`; columns in
//!    `keep_untruncated` are left alone. No further rows are added.
//! 3. Otherwise the following rows are appended one by one while the running size stays below
//!    `max_bytes` (the first row that reaches it is dropped, with all after it).
//!
//! The returned flag is HF's: true when fewer rows come back than were given. Cutting cells in
//! the first rows alone does *not* set it (HF's `len(row_items) < len(rows)`); the caller ORs in
//! "the split has more rows than were read". Rows past `max_rows` are dropped (HF never reads
//! more than 100). `max_bytes` is the budget for the rows part: HF passes
//! `FIRST_ROWS_MAX_BYTES` minus the size of the response without rows, see
//! [`TruncateLimits::for_response`]. Cells are cut in the order of the row map's keys (kura's
//! rows keep keys sorted), so `truncated_cells` lists columns in name order, not feature order.

use serde::Serialize;
use serde_json::{Map, Value};

/// Target size of a `/first-rows` response.
pub const FIRST_ROWS_MAX_BYTES: usize = 1_000_000;
/// Rows always kept.
pub const FIRST_ROWS_MIN_NUMBER: usize = 10;
/// Most rows returned.
pub const FIRST_ROWS_MAX_NUMBER: usize = 100;
/// Cells whose serialisation is at most this long are never cut; longer ones are cut to it.
pub const FIRST_ROWS_MIN_CELL_BYTES: usize = 100;
/// More columns than this make `/first-rows` fail.
pub const FIRST_ROWS_COLUMNS_MAX_NUMBER: usize = 1000;

/// Why a `/first-rows` response cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TruncateError {
    #[error(
        "The number of columns ({0}) exceeds the maximum supported number of columns ({FIRST_ROWS_COLUMNS_MAX_NUMBER})."
    )]
    TooManyColumns(usize),
    #[error(
        "The size of the content of the first rows ({surrounding} B) exceeds the maximum supported size ({max} B)."
    )]
    TooBigContent { surrounding: usize, max: usize },
}

/// The budgets of [`truncate_rows`]; `Default` is HF's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TruncateLimits {
    pub max_bytes: usize,
    pub min_rows: usize,
    pub max_rows: usize,
    pub min_cell_bytes: usize,
}

impl Default for TruncateLimits {
    fn default() -> Self {
        TruncateLimits {
            max_bytes: FIRST_ROWS_MAX_BYTES,
            min_rows: FIRST_ROWS_MIN_NUMBER,
            max_rows: FIRST_ROWS_MAX_NUMBER,
            min_cell_bytes: FIRST_ROWS_MIN_CELL_BYTES,
        }
    }
}

impl TruncateLimits {
    /// HF's limits for a response with `columns` columns whose JSON without rows (`rows: []`)
    /// is `surrounding_bytes` long: the rows get what is left of `FIRST_ROWS_MAX_BYTES`.
    pub fn for_response(columns: usize, surrounding_bytes: usize) -> Result<Self, TruncateError> {
        if columns > FIRST_ROWS_COLUMNS_MAX_NUMBER {
            return Err(TruncateError::TooManyColumns(columns));
        }
        if surrounding_bytes > FIRST_ROWS_MAX_BYTES {
            return Err(TruncateError::TooBigContent {
                surrounding: surrounding_bytes,
                max: FIRST_ROWS_MAX_BYTES,
            });
        }
        let max_bytes = FIRST_ROWS_MAX_BYTES - surrounding_bytes;
        Ok(TruncateLimits { max_bytes, ..TruncateLimits::default() })
    }
}

/// One row of a rows response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowItem {
    pub row_idx: u64,
    pub row: Map<String, Value>,
    pub truncated_cells: Vec<String>,
}

struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Length in bytes of the compact JSON serialisation, without building it.
pub fn json_size<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = Counter(0);
    // Serialising a serde_json value or RowItem into a counter cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// The cell's compact JSON cut to `max_bytes` (backed up to a character boundary), or `None` when
/// the serialisation is not longer than `max_bytes`.
pub fn serialize_and_truncate(cell: &Value, max_bytes: usize) -> Option<String> {
    if json_size(cell) <= max_bytes {
        return None;
    }
    let text = serde_json::to_string(cell).ok()?;
    let mut cut = max_bytes;
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(text[..cut].to_owned())
}

fn truncate_row_item(item: &mut RowItem, min_cell_bytes: usize, keep: &[&str]) {
    for (column, cell) in item.row.iter_mut() {
        if keep.contains(&column.as_str()) {
            continue;
        }
        if let Some(cut) = serialize_and_truncate(cell, min_cell_bytes) {
            *cell = Value::String(cut);
            if !item.truncated_cells.contains(column) {
                item.truncated_cells.push(column.clone());
            }
        }
    }
}

fn truncate_cells(items: &mut [RowItem], limits: &TruncateLimits, keep: &[&str]) {
    let mut size = json_size(items);
    for item in items.iter_mut().rev() {
        if size < limits.max_bytes {
            break;
        }
        let before = json_size(item);
        truncate_row_item(item, limits.min_cell_bytes, keep);
        size = (size + json_size(item)).saturating_sub(before);
    }
}

/// Applies the `/first-rows` rules (see the module documentation); returns the kept rows and
/// whether rows were dropped.
pub fn truncate_rows(
    rows: Vec<RowItem>,
    limits: &TruncateLimits,
    keep_untruncated: &[&str],
) -> (Vec<RowItem>, bool) {
    let given = rows.len();
    let mut rest = rows.into_iter().take(limits.max_rows);
    let mut kept: Vec<RowItem> = Vec::new();
    let mut size = 2;
    for item in rest.by_ref().take(limits.min_rows) {
        size += json_size(&item) + 1;
        kept.push(item);
    }
    if size >= limits.max_bytes {
        truncate_cells(&mut kept, limits, keep_untruncated);
        let dropped = kept.len() < given;
        return (kept, dropped);
    }
    for item in rest {
        size += json_size(&item) + 1;
        if size >= limits.max_bytes {
            break;
        }
        kept.push(item);
    }
    let dropped = kept.len() < given;
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items(n: usize, make: impl Fn(usize) -> Value) -> Vec<RowItem> {
        (0..n)
            .map(|i| match make(i) {
                Value::Object(row) => RowItem { row_idx: i as u64, row, truncated_cells: vec![] },
                _ => panic!("rows are objects"),
            })
            .collect()
    }

    /// Size of `{"row_idx":I,"row":{"t":"<len ASCII chars>"},"truncated_cells":[]}`, by hand.
    fn text_item_size(idx: usize, len: usize) -> usize {
        r#"{"row_idx":,"row":{"t":""},"truncated_cells":[]}"#.len() + idx.to_string().len() + len
    }

    #[test]
    fn sizes_are_compact_json() {
        let item = &items(1, |_| json!({"t": "abc"}))[0];
        assert_eq!(json_size(item), text_item_size(0, 3));
        assert_eq!(json_size(&json!({"a": [1, "é"]})), r#"{"a":[1,"é"]}"#.len());
    }

    #[test]
    fn small_rows_are_kept_up_to_the_row_limit() {
        let (kept, dropped) = truncate_rows(items(40, |i| json!({"t": i})), &TruncateLimits::default(), &[]);
        assert_eq!((kept.len(), dropped), (40, false));
        let (kept, dropped) = truncate_rows(items(150, |i| json!({"t": i})), &TruncateLimits::default(), &[]);
        assert_eq!((kept.len(), dropped), (100, true));
        assert_eq!(kept[99].row_idx, 99);
        assert!(kept.iter().all(|r| r.truncated_cells.is_empty()));
    }

    #[test]
    fn big_rows_are_dropped_after_the_minimum() {
        let len = 60_000;
        let rows = items(30, |_| json!({"t": "x".repeat(len)}));
        // Running size 2 + sum(size + 1) must stay below 1,000,000; by hand, not via the code.
        let mut size = 2;
        let mut expected = 0;
        for i in 0..30 {
            size += text_item_size(i, len) + 1;
            if size >= FIRST_ROWS_MAX_BYTES {
                break;
            }
            expected += 1;
        }
        assert_eq!(expected, 16);
        let (kept, dropped) = truncate_rows(rows, &TruncateLimits::default(), &[]);
        assert_eq!((kept.len(), dropped), (expected, true));
        assert!(kept.iter().all(|r| r.truncated_cells.is_empty()));
    }

    #[test]
    fn huge_cells_in_the_first_rows_are_cut_from_the_last_row_backwards() {
        let big = "a".repeat(200_000);
        let make = |_| json!({"big": big, "id": 7, "img": {"src": "x".repeat(150)}});
        let limits = TruncateLimits::default();
        let (kept, dropped) = truncate_rows(items(12, make), &limits, &["img"]);
        assert_eq!(kept.len(), 10);
        assert!(dropped);
        // Ten rows of ~200 kB: cutting rows 9..=4 brings the total under 1 MB; rows 0..=3 stay.
        for (i, item) in kept.iter().enumerate() {
            if i >= 4 {
                assert_eq!(item.truncated_cells, vec!["big".to_string()], "row {i}");
                let expected = format!("\"{}", "a".repeat(99));
                assert_eq!(item.row["big"], Value::String(expected));
            } else {
                assert!(item.truncated_cells.is_empty(), "row {i}");
                assert_eq!(item.row["big"].as_str().map(str::len), Some(200_000));
            }
            assert_eq!(item.row["id"], json!(7));
            assert_eq!(item.row["img"]["src"].as_str().map(str::len), Some(150));
        }
        assert!(json_size(&kept) < FIRST_ROWS_MAX_BYTES);
        // Exactly ten rows: cells are cut but no row is dropped, so HF's flag stays false.
        let (kept, dropped) = truncate_rows(items(10, make), &limits, &["img"]);
        assert_eq!((kept.len(), dropped), (10, false));
        assert_eq!(kept[9].truncated_cells, vec!["big".to_string()]);
    }

    #[test]
    fn pre_truncated_columns_are_not_listed_twice() {
        let mut rows = items(10, |_| json!({"t": "b".repeat(150_000)}));
        for r in &mut rows {
            r.truncated_cells.push("t".into());
        }
        let (kept, _) = truncate_rows(rows, &TruncateLimits::default(), &[]);
        assert_eq!(kept[9].truncated_cells, vec!["t".to_string()]);
    }

    #[test]
    fn cuts_land_on_character_boundaries() {
        // `"` then 2-byte chars: byte 100 is the second byte of a char, so the cut backs up to 99.
        let two = serialize_and_truncate(&json!("é".repeat(100)), 100);
        assert_eq!(two, Some(format!("\"{}", "é".repeat(49))));
        // `"` then 3-byte chars: byte 100 starts a char, so the cut is exactly 100 bytes.
        let three = serialize_and_truncate(&json!("€".repeat(100)), 100);
        assert_eq!(three, Some(format!("\"{}", "€".repeat(33))));
        // 4-byte chars: byte 100 is inside the 25th char (bytes 97..=100), so back up to 97.
        let four = serialize_and_truncate(&json!("😀".repeat(100)), 100);
        assert_eq!(four.as_deref().map(str::len), Some(97));
        assert_eq!(serialize_and_truncate(&json!("x".repeat(98)), 100), None);
        assert_eq!(
            serialize_and_truncate(&json!("x".repeat(99)), 100),
            Some(format!("\"{}", "x".repeat(99)))
        );
        assert_eq!(serialize_and_truncate(&json!([1, 2]), 0), Some(String::new()));
    }

    #[test]
    fn nested_cells_are_cut_as_their_serialisation() {
        let rows = items(10, |_| json!({"l": vec!["é"; 60_000]}));
        let (kept, _) = truncate_rows(rows, &TruncateLimits::default(), &[]);
        let cut = kept[9].row["l"].as_str().map(str::to_owned).unwrap_or_default();
        assert!(cut.starts_with("[\"é\",\"é\""));
        assert!(cut.len() <= 100 && cut.len() >= 97);
    }

    #[test]
    fn limits_for_a_response() {
        let l = TruncateLimits::for_response(3, 1_000).unwrap();
        assert_eq!(l.max_bytes, 999_000);
        assert_eq!(TruncateLimits::for_response(1001, 10), Err(TruncateError::TooManyColumns(1001)));
        assert!(matches!(
            TruncateLimits::for_response(1, 1_000_001),
            Err(TruncateError::TooBigContent { .. })
        ));
    }
}
