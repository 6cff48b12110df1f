//! kura library
