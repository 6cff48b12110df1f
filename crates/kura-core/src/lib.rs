//! kura-core
