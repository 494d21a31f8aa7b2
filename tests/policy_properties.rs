mod common;

tests![];
