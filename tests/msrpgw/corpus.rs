//! Where the RFC test vectors live: a copy of the project's shared corpus
//! under tests/fixtures/corpus (byte-exact, CRLF, some binary).

use std::path::PathBuf;

pub fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/corpus")
        .join(sub)
}

pub fn read(sub: &str, file: &str) -> Vec<u8> {
    let p = dir(sub).join(file);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// Rows of an INDEX.tsv as (file, columns...) with the header line skipped.
pub fn index(sub: &str) -> Vec<Vec<String>> {
    let text = String::from_utf8(read(sub, "INDEX.tsv")).expect("INDEX.tsv is UTF-8");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// The INDEX.tsv row of `file` in `sub` (its first column is the file).
pub fn row(sub: &str, file: &str) -> Vec<String> {
    index(sub)
        .into_iter()
        .find(|r| r[0] == file)
        .unwrap_or_else(|| panic!("{file} not in {sub}/INDEX.tsv"))
}

/// Asserts that the files `sub`/INDEX.tsv lists (those `keep` selects) are
/// exactly `tested`, the list a test file walks with one test per file:
/// no corpus file without a test, no test of a file the INDEX lacks.
pub fn assert_index_lists(sub: &str, keep: impl Fn(&str) -> bool, tested: &[&str]) {
    let mut indexed: Vec<String> = index(sub)
        .into_iter()
        .map(|r| r[0].clone())
        .filter(|f| keep(f))
        .collect();
    indexed.sort();
    let mut listed = tested.to_vec();
    listed.sort();
    assert_eq!(
        indexed, listed,
        "{sub}/INDEX.tsv and the tested files differ"
    );
}

#[test]
fn corpus_is_present() {
    assert_eq!(index("sip/torture").len(), 50);
    assert_eq!(index("sip/message").len(), 30);
    assert_eq!(index("sdp").len(), 35);
    assert_eq!(index("msrp").len(), 42);
}
