//! kura-http
