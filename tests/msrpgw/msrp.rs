//! Corpus and round-trip tests for the msrp codec.
