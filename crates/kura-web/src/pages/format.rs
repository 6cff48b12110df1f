//! Small presentation helpers shared by the pages.

/// A byte count as people read it: `812 Bytes`, `4.2 kB`, `1.3 GB` (decimal units, as the Hub).
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} Bytes");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if value >= 100.0 { format!("{value:.0} {}", UNITS[unit]) } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// The date part of an ISO timestamp (`2026-12-03T17:00:00.000Z` -> `2026-12-03`).
pub(crate) fn day(iso: &str) -> String {
    iso.get(..10).unwrap_or(iso).to_owned()
}

/// A date from epoch milliseconds.
pub(crate) fn day_of_millis(millis: i64) -> String {
    day(&kura_model::format_timestamp(millis))
}

/// Percent-encodes one path segment (a revision with `/` stays one segment, as `%2F`).
pub(crate) fn segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

/// Percent-encodes a repo path, keeping its slashes.
pub(crate) fn path(text: &str) -> String {
    text.split('/').map(segment).collect::<Vec<_>>().join("/")
}

const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_the_hub() {
        assert_eq!(super::size(812), "812 Bytes");
        assert_eq!(super::size(4_200), "4.2 kB");
        assert_eq!(super::size(1_300_000_000), "1.3 GB");
        assert_eq!(super::size(512_000_000), "512 MB");
    }

    #[test]
    fn paths_keep_slashes_and_revisions_do_not() {
        assert_eq!(super::segment("release/v1"), "release%2Fv1");
        assert_eq!(super::path("a b/c#d.txt"), "a%20b/c%23d.txt");
    }
}
