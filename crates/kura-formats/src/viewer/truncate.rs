//! Placeholder for the viewer's `truncate` logic; filled in by issue 17.
