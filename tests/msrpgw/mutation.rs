//! Deterministic mutation test: every corpus file, bit-flipped, truncated
//! and spliced thousands of times, goes through every parser and framer.
//! What is asserted: nothing panics, every call returns, and whatever parses
//! also survives encode → parse. The fuzz targets in `fuzz/` explore further;
//! this is the part that runs on every `cargo test`.

use std::path::Path;

use msrpgw::proto::properties;

use crate::corpus;

/// xorshift64*: small, deterministic, good enough to pick mutation sites.
/// The one random source of the test suite.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Every corpus file (vectors only, not the INDEX/NOTES files).
fn corpus_files() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    collect(&corpus::dir(""), &mut out);
    out.sort();
    assert!(out.len() > 150, "corpus incomplete: {} files", out.len());
    out
}

fn collect(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let entries = std::fs::read_dir(dir).expect("corpus dir readable");
    for e in entries {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            collect(&p, out);
            continue;
        }
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".tsv") || name.ends_with(".md") || name == "SHA256SUMS" {
            continue;
        }
        let bytes = std::fs::read(&p).expect("corpus file readable");
        out.push((p.display().to_string(), bytes));
    }
}

/// The mutants of one input: bit flips, byte replacements with protocol
/// delimiters, truncations, duplicated and deleted ranges, and splices
/// with another corpus file.
fn mutants(input: &[u8], other: &[u8], rng: &mut Rng, count: usize) -> Vec<Vec<u8>> {
    const INTERESTING: &[u8] = b"\r\n :;,<>\"\\%-$+#=/@[]0\x00\xff\t*";
    let mut out = Vec::with_capacity(count + input.len() / 16 + 2);
    // Truncations at a spread of points (every point for short inputs).
    let step = (input.len() / 256).max(1);
    for cut in (0..input.len()).step_by(step) {
        out.push(input[..cut].to_vec());
    }
    while out.len() < count {
        let mut m = input.to_vec();
        let ops = 1 + rng.below(4);
        for _ in 0..ops {
            match rng.below(6) {
                0 if !m.is_empty() => {
                    let i = rng.below(m.len());
                    m[i] ^= 1 << rng.below(8);
                }
                1 if !m.is_empty() => {
                    let i = rng.below(m.len());
                    m[i] = INTERESTING[rng.below(INTERESTING.len())];
                }
                2 if !m.is_empty() => {
                    let a = rng.below(m.len());
                    let b = (a + rng.below(64)).min(m.len());
                    m.drain(a..b);
                }
                3 if !m.is_empty() => {
                    let a = rng.below(m.len());
                    let b = (a + rng.below(64)).min(m.len());
                    let dup = m[a..b].to_vec();
                    let at = rng.below(m.len());
                    m.splice(at..at, dup);
                }
                4 => {
                    let a = rng.below(m.len() + 1);
                    let b = rng.below(other.len() + 1);
                    m.truncate(a);
                    m.extend_from_slice(&other[b..]);
                }
                _ => {
                    let at = rng.below(m.len() + 1);
                    let digits = b"99999999999999999999";
                    m.splice(
                        at..at,
                        digits[..1 + rng.below(digits.len())].iter().copied(),
                    );
                }
            }
        }
        out.push(m);
    }
    out
}

/// Runs `target` on every mutant of every corpus file.
pub fn run(target: &dyn Fn(&[u8]), per_file: usize) -> usize {
    let files = corpus_files();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut total = 0;
    for (i, (_, bytes)) in files.iter().enumerate() {
        let other = &files[(i * 7 + 3) % files.len()].1;
        target(bytes);
        for m in mutants(bytes, other, &mut rng, per_file) {
            target(&m);
            total += 1;
        }
    }
    total
}

#[test]
fn mutants_are_deterministic_and_varied() {
    let mut a = Rng(1);
    let mut b = Rng(1);
    let ma = mutants(b"SEND abc\r\n", b"other", &mut a, 100);
    let mb = mutants(b"SEND abc\r\n", b"other", &mut b, 100);
    assert_eq!(ma, mb);
    let distinct: std::collections::HashSet<_> = ma.iter().collect();
    assert!(
        distinct.len() > 50,
        "only {} distinct mutants",
        distinct.len()
    );
}

/// The values inside the corpus, as seeds for the parsers of single
/// values (URIs, name-addrs): each header value (after `Name:`), each
/// SDP attribute value, each `<...>` and each space-separated word.
fn corpus_fields() -> Vec<Vec<u8>> {
    let mut set = std::collections::BTreeSet::new();
    for (_, bytes) in corpus_files() {
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines() {
            let value = line.split_once(':').map_or(line, |(_, v)| v).trim();
            set.insert(value.to_owned());
            if let Some((_, v)) = line.split_once('=') {
                set.insert(v.trim().to_owned());
            }
            for word in line.split_whitespace() {
                set.insert(word.to_owned());
            }
            for piece in line.split('<').skip(1) {
                if let Some((inner, _)) = piece.split_once('>') {
                    set.insert(inner.to_owned());
                }
            }
        }
    }
    set.extend(EXTRA_FIELDS.iter().map(|s| (*s).to_owned()));
    set.into_iter().map(String::into_bytes).collect()
}

/// Hand-picked values that stress the address grammars beyond the corpus.
const EXTRA_FIELDS: &[&str] = &[
    "\"J Rosenberg \\\\\\\"\"  <sip:jdrosen@example.com>;tag=98asjd8",
    "Alice <sips:alice:pw@[2001:db8::1]:5061;transport=tls;lr?subject=a%20b&x=>;tag=1;q=0.5",
    "sip:+1-212-555-1212@gw.example.com;user=phone;expires=60",
    "<tel:+1-201-555-0123;ext=1>, <im:a@b>;x=\"y,z\", caller<sip:c@d>",
    "msrps://u@[::1]:2855/x/y;tcp;k=v",
    "msrps://relay.example;tcp",
];

/// Runs `target` on every corpus field and `per_seed` mutants of each.
pub fn run_fields(target: &dyn Fn(&[u8]), per_seed: usize) -> usize {
    let seeds = corpus_fields();
    assert!(seeds.len() > 1000, "only {} corpus fields", seeds.len());
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut total = 0;
    for (i, seed) in seeds.iter().enumerate() {
        let other = &seeds[(i * 7 + 3) % seeds.len()];
        target(seed);
        for m in mutants(seed, other, &mut rng, per_seed) {
            target(&m);
            total += 1;
        }
    }
    total
}

/// Mutants per corpus file. Every file goes to every parser, so each test
/// below runs about 170 × this many inputs.
const PER_FILE: usize = 2000;

macro_rules! mutation_tests {
    ($($name:ident => $property:path,)*) => {$(
        #[test]
        fn $name() {
            let n = run(&$property, PER_FILE);
            assert!(n >= 150 * PER_FILE, "only {n} mutants");
        }
    )*};
}

/// Mutants per corpus field (there are a few thousand fields).
const PER_FIELD: usize = 40;

macro_rules! field_mutation_tests {
    ($($name:ident => $property:path,)*) => {$(
        #[test]
        fn $name() {
            let n = run_fields(&$property, PER_FIELD);
            assert!(n >= 1000 * PER_FIELD, "only {n} mutants");
        }
    )*};
}

field_mutation_tests! {
    mutation_fields_sip_uri => properties::sip_uri,
    mutation_fields_sip_name_addr => properties::sip_name_addr,
    mutation_fields_msrp_uri => properties::msrp_uri,
    mutation_fields_imdn_disposition => properties::imdn,
}

mutation_tests! {
    mutation_sip_datagram => properties::sip_datagram,
    mutation_sip_stream => properties::sip_stream,
    mutation_sip_uri => properties::sip_uri,
    mutation_sip_name_addr => properties::sip_name_addr,
    mutation_sdp => properties::sdp,
    mutation_cpim => properties::cpim,
    mutation_imdn => properties::imdn,
    mutation_msrp_framer => properties::msrp_framer,
    mutation_msrp_message => properties::msrp_message,
    mutation_msrp_uri => properties::msrp_uri,
    mutation_msrp_reassembly => properties::msrp_reassembly,
}
