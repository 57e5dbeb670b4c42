//! Corpus and round-trip tests for the cpim codec.
