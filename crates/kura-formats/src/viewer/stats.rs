//! Placeholder for the viewer's `stats` logic; filled in by issue 17.
