//! Corpus and round-trip tests for the sdp codec.
