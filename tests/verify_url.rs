//! (being written)

mod common;

tests![];
