//! Placeholder for the viewer's `splits` logic; filled in by issue 17.
