//! Placeholder for the viewer's `filter` logic; filled in by issue 17.
