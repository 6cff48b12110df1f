//! Per-column `/statistics`, shaped like dataset-viewer's `statistics_utils.py`: push a split's
//! cells one by one into a [`ColumnStats`], then [`ColumnStats::finish`] gives
//! `{"column_name", "column_type", "column_statistics"}`.
//!
//! Supported (anything else gives `None` from [`ColumnStats::new`]):
//! * `Value` int8..uint64 → `int`, float16..float64 → `float`: `nan_count, nan_proportion, min,
//!   max, mean, median, std, histogram{hist, bin_edges}`; values rounded half-to-even to 5
//!   decimals as `np.round` does; `std` is the sample deviation (ddof 1); ints keep integer
//!   `min`/`max`/`bin_edges` (bin width `ceil((max-min+1)/10)`), floats get 10 bins of width
//!   `(max-min)/10` built like `np.arange` and rounded; a bin holds `[lo, hi)`, the last one also
//!   `max`. All-null columns give nulls everywhere and `nan_proportion` 1.0.
//! * `bool` → `bool`: `nan_count, nan_proportion, frequencies{"False","True"}` (values seen only).
//! * `ClassLabel` → `class_label`: `no_label_count/proportion` count -1, `n_unique` is the number
//!   of names, `frequencies` has every name (ids outside the names are not counted anywhere;
//!   HF fails the column instead).
//! * `string`/`large_string` → `string_label` when the distinct values (null counted as one, as
//!   polars does) are at most 10, or at most 1,000 and at most 20% of the rows; else
//!   `string_text` with the numeric statistics of the lengths in characters. HF first checks
//!   whether the strings look like datetimes (`datetime` type); kura does not.
//! * `List`, `LargeList`, `Sequence` (not of a struct, which is a struct of lists) → `list`:
//!   statistics of the lengths.
//! * `Image` → `image`: statistics of the `width` of the viewer's image cells (`{src, height,
//!   width}`); HF decodes the image instead. Audio/Video (durations need decoding) and datetimes
//!   are not supported.
//!
//! Budgets: at most [`MAX_ROWS`] cells are taken per column; later pushes are ignored and
//! [`ColumnStats::is_partial`] turns true (the whole statistics then describe the prefix, like
//! HF's `partial`). A string column stops collecting distinct values past 1,001 of them or
//! [`MAX_LABEL_BYTES`] of their text, and is then `string_text`. Values of uint64 above
//! `i64::MAX` are clamped to it.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

/// Cells taken per column.
pub const MAX_ROWS: u64 = 1_000_000;
/// Distinct strings at most for a label column.
pub const MAX_NUM_STRING_LABELS: usize = 1000;
/// Share of distinct strings at most for a label column (unless there are at most 10).
pub const MAX_PROPORTION_STRING_LABELS: f64 = 0.2;
/// Total bytes of distinct strings collected before a column is declared text.
pub const MAX_LABEL_BYTES: usize = 8 << 20;
/// Histogram bins.
pub const NUM_BINS: usize = 10;
const DECIMALS: i32 = 5;

/// Statistics being collected for one column.
#[derive(Debug, Clone)]
pub struct ColumnStats {
    name: String,
    n_samples: u64,
    partial: bool,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Int(Ints),
    Float { values: Vec<f64>, nulls: u64 },
    Bool { falses: u64, trues: u64, nulls: u64 },
    ClassLabel { names: Vec<String>, counts: Vec<u64>, no_label: u64, nulls: u64 },
    Str { labels: Option<HashMap<String, u64>>, label_bytes: usize, lengths: Ints },
    List(Ints),
    Image(Ints),
}

#[derive(Debug, Clone, Default)]
struct Ints {
    values: Vec<i64>,
    nulls: u64,
}

impl Ints {
    fn push(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.values.push(v),
            None => self.nulls += 1,
        }
    }
}

fn kind_for(feature: &Value) -> Option<Kind> {
    if feature.is_array() {
        return Some(Kind::List(Ints::default()));
    }
    let obj = feature.as_object()?;
    let kind = match obj.get("_type").and_then(Value::as_str)? {
        "Value" => match obj.get("dtype").and_then(Value::as_str)? {
            "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "uint64" => {
                Kind::Int(Ints::default())
            }
            "float16" | "float32" | "float64" => Kind::Float { values: Vec::new(), nulls: 0 },
            "bool" => Kind::Bool { falses: 0, trues: 0, nulls: 0 },
            "string" | "large_string" => {
                Kind::Str { labels: Some(HashMap::new()), label_bytes: 0, lengths: Ints::default() }
            }
            _ => return None,
        },
        "ClassLabel" => {
            let names: Vec<String> = obj
                .get("names")?
                .as_array()?
                .iter()
                .map(|n| n.as_str().map(str::to_owned))
                .collect::<Option<_>>()?;
            let counts = vec![0; names.len()];
            Kind::ClassLabel { names, counts, no_label: 0, nulls: 0 }
        }
        "List" | "LargeList" => Kind::List(Ints::default()),
        "Sequence" if !obj.get("feature").is_some_and(is_struct) => Kind::List(Ints::default()),
        "Image" => Kind::Image(Ints::default()),
        _ => return None,
    };
    Some(kind)
}

fn is_struct(feature: &Value) -> bool {
    feature.as_object().is_some_and(|o| !o.contains_key("_type"))
}

fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_u64().map(|_| i64::MAX))
}

impl ColumnStats {
    /// Starts statistics for a column of the given `datasets` feature; `None` when the type is
    /// not supported.
    pub fn new(name: &str, feature: &Value) -> Option<Self> {
        let kind = kind_for(feature)?;
        Some(ColumnStats { name: name.to_owned(), n_samples: 0, partial: false, kind })
    }

    /// True when more than [`MAX_ROWS`] cells were pushed and the rest were ignored.
    pub fn is_partial(&self) -> bool {
        self.partial
    }

    /// Takes one cell (JSON as the viewer renders it). A cell of the wrong kind counts as null.
    pub fn push(&mut self, cell: &Value) {
        if self.n_samples >= MAX_ROWS {
            self.partial = true;
            return;
        }
        self.n_samples += 1;
        match &mut self.kind {
            Kind::Int(ints) => ints.push(as_i64(cell)),
            Kind::Float { values, nulls } => match cell.as_f64() {
                Some(f) if f.is_finite() => values.push(f),
                _ => *nulls += 1,
            },
            Kind::Bool { falses, trues, nulls } => match cell.as_bool() {
                Some(true) => *trues += 1,
                Some(false) => *falses += 1,
                None => *nulls += 1,
            },
            Kind::ClassLabel { counts, no_label, nulls, .. } => match cell.as_i64() {
                Some(-1) => *no_label += 1,
                Some(id) => {
                    if let Some(c) = usize::try_from(id).ok().and_then(|i| counts.get_mut(i)) {
                        *c += 1;
                    }
                }
                None => *nulls += 1,
            },
            Kind::Str { labels, label_bytes, lengths } => {
                let Some(s) = cell.as_str() else {
                    return lengths.push(None);
                };
                lengths.push(Some(i64::try_from(s.chars().count()).unwrap_or(i64::MAX)));
                count_label(labels, label_bytes, s);
            }
            Kind::List(ints) => ints.push(cell.as_array().map(|a| a.len() as i64)),
            Kind::Image(ints) => ints.push(cell.get("width").and_then(as_i64)),
        }
    }

    /// The column's entry of the `/statistics` response.
    pub fn finish(self) -> Value {
        let n = self.n_samples;
        let (column_type, stats) = match self.kind {
            Kind::Int(ints) => ("int", int_stats(ints, n)),
            Kind::Float { values, nulls } => ("float", float_stats(values, nulls, n)),
            Kind::Bool { falses, trues, nulls } => ("bool", bool_stats(falses, trues, nulls, n)),
            Kind::ClassLabel { names, counts, no_label, nulls } => {
                ("class_label", class_label_stats(names, counts, no_label, nulls, n))
            }
            Kind::Str { labels, lengths, .. } => string_stats(labels, lengths, n),
            Kind::List(ints) => ("list", int_stats(ints, n)),
            Kind::Image(ints) => ("image", int_stats(ints, n)),
        };
        json!({"column_name": self.name, "column_type": column_type, "column_statistics": stats})
    }
}

fn count_label(labels: &mut Option<HashMap<String, u64>>, bytes: &mut usize, s: &str) {
    let Some(map) = labels else { return };
    if let Some(c) = map.get_mut(s) {
        *c += 1;
        return;
    }
    *bytes += s.len();
    if map.len() > MAX_NUM_STRING_LABELS || *bytes > MAX_LABEL_BYTES {
        *labels = None;
        return;
    }
    map.insert(s.to_owned(), 1);
}

/// `np.round(x, 5)`: scale, round half to even, unscale (a value too large to scale has no
/// fractional digits and is returned as is, where numpy would give infinity).
fn round5(x: f64) -> f64 {
    let scale = 10f64.powi(DECIMALS);
    let scaled = x * scale;
    if !scaled.is_finite() {
        return x;
    }
    scaled.round_ties_even() / scale
}

fn proportion(count: u64, n: u64) -> f64 {
    if count == 0 { 0.0 } else { round5(count as f64 / n as f64) }
}

fn all_null(n: u64) -> Value {
    json!({
        "nan_count": n, "nan_proportion": 1.0, "min": null, "max": null, "mean": null,
        "median": null, "std": null, "histogram": null,
    })
}

/// Mean, median and sample standard deviation (`None` for one value, as polars gives null).
fn moments(sorted: &[f64]) -> (f64, f64, Option<f64>) {
    let n = sorted.len();
    let mean = sorted.iter().sum::<f64>() / n as f64;
    let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
    let std = (n > 1).then(|| {
        let ss: f64 = sorted.iter().map(|v| (v - mean) * (v - mean)).sum();
        (ss / (n - 1) as f64).sqrt()
    });
    (mean, median, std)
}

/// Counts per bin: `[e_j, e_{j+1})`, the first bin open below and the last one closed above.
fn histogram_counts(sorted: &[f64], edges: &[f64]) -> Vec<u64> {
    let bins = edges.len() - 1;
    let mut hist = vec![0u64; bins];
    for &v in sorted {
        let inner = &edges[1..bins];
        let j = inner.partition_point(|&e| e <= v);
        hist[j] += 1;
    }
    hist
}

/// `np.arange(start, stop, step)` for floats: length `ceil((stop-start)/step)`, element `i` is
/// `start + i*delta` with `delta = (start+step) - start` (numpy's fill), element 1 `start+step`.
fn arange(start: f64, stop: f64, step: f64) -> Vec<f64> {
    let len = ((stop - start) / step).ceil().max(0.0) as usize;
    let delta = (start + step) - start;
    (0..len.min(NUM_BINS + 2))
        .map(|i| match i {
            0 => start,
            1 => start + step,
            _ => start + i as f64 * delta,
        })
        .collect()
}

fn int_stats(ints: Ints, n: u64) -> Value {
    let Ints { mut values, nulls } = ints;
    if nulls == n {
        return all_null(n);
    }
    values.sort_unstable();
    let (min, max) = (values[0], values[values.len() - 1]);
    let sorted: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    let (mean, median, std) = moments(&sorted);
    let mut edges: Vec<f64> = if min == max {
        vec![min as f64, max as f64]
    } else {
        let step = ((max as f64 - min as f64 + 1.0) / NUM_BINS as f64).ceil();
        arange(min as f64, max as f64, step).into_iter().map(f64::trunc).collect()
    };
    if edges.last() != Some(&(max as f64)) {
        edges.push(max as f64);
    }
    let hist = histogram_counts(&sorted, &edges);
    let bin_edges: Vec<i64> = edges.iter().map(|&e| e as i64).collect();
    json!({
        "nan_count": nulls, "nan_proportion": proportion(nulls, n), "min": min, "max": max,
        "mean": round5(mean), "median": round5(median), "std": std.map(round5),
        "histogram": {"hist": hist, "bin_edges": bin_edges},
    })
}

fn float_stats(mut values: Vec<f64>, nulls: u64, n: u64) -> Value {
    if nulls == n {
        return all_null(n);
    }
    values.sort_unstable_by(f64::total_cmp);
    let (mean, median, std) = moments(&values);
    let min = round5(values[0]);
    let max = round5(values[values.len() - 1]);
    let mut edges = if min == max { vec![min, max] } else { arange(min, max, (max - min) / NUM_BINS as f64) };
    if edges.last() != Some(&max) {
        edges.push(max);
    }
    if edges.len() < 2 {
        // max - min overflowed to infinity: numpy would fail; one bin holds everything
        edges = vec![min, max];
    }
    let hist = histogram_counts(&values, &edges);
    let bin_edges: Vec<f64> = edges.into_iter().map(round5).collect();
    json!({
        "nan_count": nulls, "nan_proportion": proportion(nulls, n), "min": min, "max": max,
        "mean": round5(mean), "median": round5(median), "std": std.map(round5),
        "histogram": {"hist": hist, "bin_edges": bin_edges},
    })
}

fn bool_stats(falses: u64, trues: u64, nulls: u64, n: u64) -> Value {
    let mut frequencies = Map::new();
    if falses > 0 {
        frequencies.insert("False".into(), falses.into());
    }
    if trues > 0 {
        frequencies.insert("True".into(), trues.into());
    }
    json!({"nan_count": nulls, "nan_proportion": proportion(nulls, n), "frequencies": frequencies})
}

fn class_label_stats(names: Vec<String>, counts: Vec<u64>, no_label: u64, nulls: u64, n: u64) -> Value {
    let n_unique = names.len();
    let frequencies: Map<String, Value> = names.into_iter().zip(counts).map(|(k, c)| (k, c.into())).collect();
    json!({
        "nan_count": nulls, "nan_proportion": proportion(nulls, n),
        "no_label_count": no_label, "no_label_proportion": proportion(no_label, n),
        "n_unique": n_unique, "frequencies": frequencies,
    })
}

fn is_label(n_unique: usize, n_samples: u64) -> bool {
    let share = n_unique as f64 / n_samples as f64;
    (share <= MAX_PROPORTION_STRING_LABELS && n_unique <= MAX_NUM_STRING_LABELS) || n_unique <= NUM_BINS
}

fn string_stats(labels: Option<HashMap<String, u64>>, lengths: Ints, n: u64) -> (&'static str, Value) {
    let nulls = lengths.nulls;
    if let Some(labels) = labels {
        // polars' n_unique counts null as one more value
        let n_unique = labels.len() + usize::from(nulls > 0);
        if is_label(n_unique, n) {
            let distinct = labels.len();
            let frequencies: Map<String, Value> = labels.into_iter().map(|(k, c)| (k, c.into())).collect();
            let stats = json!({
                "nan_count": nulls, "nan_proportion": proportion(nulls, n),
                "no_label_count": 0, "no_label_proportion": 0.0,
                "n_unique": distinct, "frequencies": frequencies,
            });
            return ("string_label", stats);
        }
    }
    ("string_text", int_stats(lengths, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Equal up to float noise; objects compare as maps (frequency order is not meaningful).
    fn close(a: &Value, b: &Value, path: &str) {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
                let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
                assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{path}: {x} != {y}");
                assert_eq!(a.is_f64(), b.is_f64(), "{path}: int/float kind differs: {a} {b}");
            }
            (Value::Array(x), Value::Array(y)) => {
                assert_eq!(x.len(), y.len(), "{path}: {a} vs {b}");
                for (i, (u, v)) in x.iter().zip(y).enumerate() {
                    close(u, v, &format!("{path}[{i}]"));
                }
            }
            (Value::Object(x), Value::Object(y)) => {
                let mut kx: Vec<_> = x.keys().collect();
                let mut ky: Vec<_> = y.keys().collect();
                kx.sort();
                ky.sort();
                assert_eq!(kx, ky, "{path}");
                for (k, u) in x {
                    close(u, &y[k], &format!("{path}.{k}"));
                }
            }
            _ => assert_eq!(a, b, "{path}"),
        }
    }

    fn run(name: &str, feature: &Value, cells: &[Value]) -> Value {
        let mut stats = ColumnStats::new(name, feature).unwrap_or_else(|| panic!("{name} unsupported"));
        for c in cells {
            stats.push(c);
        }
        stats.finish()
    }

    #[test]
    fn matches_numpy_and_polars_oracle() {
        // Generated by scripts/viewer_stats_oracle.py.
        let cases: Vec<Value> =
            serde_json::from_str(include_str!("../../tests/data/viewer/stats_cases.json")).unwrap();
        assert!(cases.len() >= 18);
        for case in &cases {
            let name = case["name"].as_str().unwrap();
            let cells = case["cells"].as_array().unwrap();
            close(&run(name, &case["feature"], cells), &case["expected"], name);
        }
    }

    #[test]
    fn bool_frequencies_by_hand() {
        let cells = [json!(true), json!(false), json!(true), Value::Null];
        let out = run("b", &json!({"_type": "Value", "dtype": "bool"}), &cells);
        assert_eq!(
            out,
            json!({"column_name": "b", "column_type": "bool", "column_statistics": {
                "nan_count": 1, "nan_proportion": 0.25, "frequencies": {"False": 1, "True": 2}}})
        );
        let only_true = run("b", &json!({"_type": "Value", "dtype": "bool"}), &[json!(true)]);
        assert_eq!(only_true["column_statistics"]["frequencies"], json!({"True": 1}));
    }

    #[test]
    fn class_label_by_hand() {
        let feature = json!({"_type": "ClassLabel", "names": ["neg", "pos", "neutral"]});
        let cells = [json!(0), json!(1), json!(1), json!(-1), Value::Null, json!(1), json!(7)];
        let out = run("label", &feature, &cells);
        assert_eq!(out["column_type"], "class_label");
        assert_eq!(
            out["column_statistics"],
            json!({"nan_count": 1, "nan_proportion": 0.14286, "no_label_count": 1,
                   "no_label_proportion": 0.14286, "n_unique": 3,
                   "frequencies": {"neg": 1, "pos": 3, "neutral": 0}})
        );
    }

    #[test]
    fn image_widths_and_single_values() {
        let cells =
            [json!({"src": "u", "height": 5, "width": 640}), json!({"src": "u", "width": 480}), Value::Null];
        let out = run("img", &json!({"_type": "Image"}), &cells);
        assert_eq!(out["column_type"], "image");
        let s = &out["column_statistics"];
        assert_eq!(
            (s["min"].clone(), s["max"].clone(), s["mean"].clone()),
            (json!(480), json!(640), json!(560.0))
        );
        assert_eq!(
            s["histogram"]["bin_edges"],
            json!([480, 497, 514, 531, 548, 565, 582, 599, 616, 633, 640])
        );
        assert_eq!(s["histogram"]["hist"], json!([1, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
        // One value: polars' sample std is null (HF then fails the column; kura reports null).
        let one = run("x", &json!({"_type": "Value", "dtype": "int32"}), &[json!(3)]);
        assert_eq!(one["column_statistics"]["std"], Value::Null);
        assert_eq!(one["column_statistics"]["histogram"], json!({"hist": [1], "bin_edges": [3, 3]}));
    }

    #[test]
    fn supported_types() {
        let none = [
            json!({"_type": "Audio"}),
            json!({"_type": "Value", "dtype": "timestamp[s]"}),
            json!({"_type": "Value", "dtype": "binary"}),
            json!({"a": {"_type": "Value", "dtype": "int8"}}),
            json!({"_type": "Sequence", "feature": {"a": {"_type": "Value", "dtype": "int8"}}}),
            json!({"_type": "ClassLabel", "names": [1]}),
            json!("string"),
        ];
        for f in none {
            assert!(ColumnStats::new("c", &f).is_none(), "{f}");
        }
        let int8 = json!({"_type": "Value", "dtype": "int8"});
        for f in [
            json!({"_type": "Sequence", "feature": int8}),
            json!([int8]),
            json!({"_type": "LargeList", "feature": int8}),
        ] {
            let out = run("l", &f, &[json!([1, 2]), json!([])]);
            assert_eq!(out["column_type"], "list", "{f}");
        }
    }

    #[test]
    fn label_counter_is_bounded() {
        let feature = json!({"_type": "Value", "dtype": "string"});
        let mut stats = ColumnStats::new("s", &feature).unwrap();
        // 1,002 distinct values repeated: a 10% share, but more than 1,000 distinct -> text
        for _ in 0..10 {
            for i in 0..1002 {
                stats.push(&json!(format!("v{i}")));
            }
            assert!(matches!(&stats.kind, Kind::Str { labels: None, .. }), "counter dropped");
        }
        assert_eq!(stats.finish()["column_type"], "string_text");
        // exactly 1,000 distinct at a 10% share stays a label
        let cells: Vec<Value> = (0..10_000).map(|i| json!(format!("v{}", i % 1000))).collect();
        let out = run("s", &feature, &cells);
        assert_eq!(out["column_type"], "string_label");
        assert_eq!(out["column_statistics"]["n_unique"], 1000);
    }

    #[test]
    fn rows_past_the_cap_are_ignored() {
        let mut stats = ColumnStats::new("x", &json!({"_type": "Value", "dtype": "int64"})).unwrap();
        for i in 0..MAX_ROWS {
            stats.push(&json!(i % 7));
        }
        assert!(!stats.is_partial());
        stats.push(&json!(1_000));
        assert!(stats.is_partial());
        let out = stats.finish();
        assert_eq!(out["column_statistics"]["max"], 6);
        let hist = out["column_statistics"]["histogram"]["hist"].as_array().unwrap();
        assert_eq!(hist.iter().filter_map(Value::as_u64).sum::<u64>(), MAX_ROWS);
    }

    #[test]
    fn extreme_floats_do_not_panic() {
        let f = json!({"_type": "Value", "dtype": "float64"});
        let out = run("f", &f, &[json!(-1e308), json!(1e308), json!(0.0)]);
        let s = &out["column_statistics"];
        assert_eq!(s["histogram"]["hist"], json!([3]));
        assert_eq!((s["min"].clone(), s["max"].clone()), (json!(-1e308), json!(1e308)));
        let i = json!({"_type": "Value", "dtype": "uint64"});
        let out = run("i", &i, &[json!(i64::MIN), json!(u64::MAX), json!(0)]);
        let s = &out["column_statistics"];
        assert_eq!((s["min"].clone(), s["max"].clone()), (json!(i64::MIN), json!(i64::MAX)));
        let hist = s["histogram"]["hist"].as_array().unwrap();
        assert_eq!(hist.iter().filter_map(Value::as_u64).sum::<u64>(), 3);
    }

    #[test]
    fn rounding_is_half_to_even_like_numpy() {
        assert_eq!(round5(0.125), 0.125);
        assert_eq!(round5(1.000005), 1.0); // 100000.49999999999 after scaling, as in numpy
        assert_eq!(round5(2.5e-6), 0.0);
        assert_eq!(round5(7.5e-6), 1e-5);
        assert_eq!(round5(-0.333333333), -0.33333);
    }
}
