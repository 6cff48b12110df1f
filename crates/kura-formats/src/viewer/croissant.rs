//! Placeholder for the viewer's `croissant` logic; filled in by issue 17.
