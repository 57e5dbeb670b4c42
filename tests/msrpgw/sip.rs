//! Corpus and round-trip tests for the sip codec.
