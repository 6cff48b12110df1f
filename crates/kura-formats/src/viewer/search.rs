//! Placeholder for the viewer's `search` logic; filled in by issue 17.
