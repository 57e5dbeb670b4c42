//! Lexical pieces shared by the SIP, SDP, MSRP and CPIM grammars.
//!
//! Owns: character classes (RFC 3261 §25.1 `token`), word-at-a-time byte,
//! line and substring search, WSP/LWS skipping, trimming, field splitting
//! and unfolding, quoted strings (RFC 3261 §25.1 `quoted-string`, also used
//! by RFC 4975, RFC 4976 and RFC 3862: split, check, unescape, write),
//! display-name token sequences, `;name=value` parameter lists (strict, and
//! skipping RFC 3428's empty ones) and `%HH` escapes. Every codec uses these instead of a
//! private twin, so a fix to quoting or escaping lands everywhere at once.
//!
//! Must not: know any protocol's header names or message structure.

use std::borrow::Cow;
use std::fmt;

use super::ParseError;

/// What went wrong in a lexical element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexErrorKind {
    /// A `"` opened a quoted string that never closes.
    UnterminatedQuote,
    /// A `\` at the very end of a quoted string, with nothing to escape.
    DanglingEscape,
    /// A `%` not followed by two hex digits.
    BadPercentEscape,
    /// A parameter with an empty or non-token name (`;=x`, `;;`).
    BadParamName,
    /// A parameter value that is neither a token, a host nor a quoted string.
    BadParamValue,
    /// A `<` without its `>`.
    UnterminatedAngle,
}

impl LexErrorKind {
    pub const fn description(self) -> &'static str {
        match self {
            LexErrorKind::UnterminatedQuote => "unterminated quoted string",
            LexErrorKind::DanglingEscape => "backslash at end of quoted string",
            LexErrorKind::BadPercentEscape => "'%' not followed by two hex digits",
            LexErrorKind::BadParamName => "empty or invalid parameter name",
            LexErrorKind::BadParamValue => "invalid parameter value",
            LexErrorKind::UnterminatedAngle => "'<' without matching '>'",
        }
    }
}

impl fmt::Display for LexErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

pub type LexError = ParseError<LexErrorKind>;

/// RFC 3261 §25.1 `token` characters:
/// `alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"`.
/// RFC 4975 §9 and RFC 3862 use the same set.
#[inline]
pub const fn is_token(b: u8) -> bool {
    TOKEN_TABLE[b as usize]
}

const TOKEN_TABLE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    t
};

/// True when `s` is a non-empty RFC 3261 token.
#[inline]
pub fn is_token_str(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token)
}

/// SP or HTAB (RFC 5234 `WSP`).
#[inline]
pub const fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

// Word-at-a-time (SWAR) byte search. Header lines are tens of bytes and
// bodies may be kilobytes with the searched byte rare: a portable
// eight-bytes-per-step search beats a byte loop there, without unsafe code
// or a SIMD crate. Masks work on little-endian words, so the lowest set
// bit is the first byte in input order.

const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HI: u64 = 0x8080_8080_8080_8080;
const LO: u64 = 0x0101_0101_0101_0101;

/// The high bit set in exactly the bytes of `x` equal to `byte` (exact: no
/// carries between bytes, so every set bit is a true match).
#[inline(always)]
pub(crate) const fn match_mask(x: u64, byte: u8) -> u64 {
    let v = x ^ (LO * byte as u64);
    !(((v & LO7) + LO7) | v) & HI
}

/// High bits at the bytes of `x` below `n` (n <= 128). Only the lowest set
/// bit is exact (a borrow can mark bytes above it), which is all a
/// find-first search needs.
#[inline(always)]
pub(crate) const fn below_mask(x: u64, n: u8) -> u64 {
    x.wrapping_sub(LO * n as u64) & !x & HI
}

/// Like [`match_mask`], exact in its lowest set bit only, one op cheaper:
/// the classic "has zero byte" trick on `x ^ byte`.
#[inline(always)]
pub(crate) const fn first_match_mask(x: u64, byte: u8) -> u64 {
    below_mask(x ^ (LO * byte as u64), 1)
}

/// The little-endian word of an 8-byte slice (callers pass exact chunks).
#[inline(always)]
pub(crate) fn load_word(c: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(c);
    u64::from_le_bytes(w)
}

/// Index of the first byte at or after `from` for which `hit` holds, where
/// `mask` marks (at least the first of) the matching bytes of a word.
/// `None` when there is none, or when `from` is past the end.
#[inline(always)]
pub(crate) fn find_by(
    b: &[u8],
    from: usize,
    mask: impl Fn(u64) -> u64,
    hit: impl Fn(u8) -> bool,
) -> Option<usize> {
    let tail = b.get(from..)?;
    let mut i = from;
    let mut chunks = tail.chunks_exact(8);
    for c in &mut chunks {
        let m = mask(load_word(c));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| hit(c))
        .map(|p| i + p)
}

/// Index of the first `needle` byte in `hay`, eight bytes per step.
#[inline]
pub fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    find_by(hay, 0, |x| first_match_mask(x, needle), |c| c == needle)
}

/// Index of the first CR or LF in `b` at or after `from`. Searches for any
/// byte below 0x0E (CR is 0x0D, LF 0x0A) with one mask, and steps over the
/// rare other control characters (HTAB, or NUL in a quoted-pair).
#[inline]
pub(crate) fn find_eol(b: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let p = find_by(b, from, |x| below_mask(x, 0x0e), |c| c < 0x0e)?;
        if b[p] == b'\r' || b[p] == b'\n' {
            return Some(p);
        }
        from = p + 1;
    }
}

/// Every LF in `b`, in order, eight bytes per step.
pub(crate) struct LfIter<'b> {
    b: &'b [u8],
    /// Start of the next word to load.
    next: usize,
    /// Start of the word whose remaining matches are in `mask`.
    base: usize,
    mask: u64,
}

impl<'b> LfIter<'b> {
    pub(crate) fn new(b: &'b [u8]) -> Self {
        LfIter {
            b,
            next: 0,
            base: 0,
            mask: 0,
        }
    }
}

impl Iterator for LfIter<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        loop {
            if self.mask != 0 {
                let at = self.base + (self.mask.trailing_zeros() / 8) as usize;
                self.mask &= self.mask - 1;
                return Some(at);
            }
            let rest = self.b.get(self.next..)?;
            if rest.is_empty() {
                return None;
            }
            self.base = self.next;
            self.next += 8;
            self.mask = match rest.get(..8) {
                Some(c) => match_mask(load_word(c), b'\n'),
                // A tail shorter than a word: set the bits by hand.
                None => rest
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c == b'\n')
                    .fold(0, |m, (k, _)| m | 0x80 << (8 * k)),
            };
        }
    }
}

/// Index of the first CRLF in `hay` (the index of the CR).
#[inline]
pub fn find_crlf(hay: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = find_byte(&hay[from..], b'\n') {
        let at = from + i;
        if at > 0 && hay[at - 1] == b'\r' {
            return Some(at - 1);
        }
        from = at + 1;
    }
    None
}

/// Index of the first occurrence of `needle` in `hay` (`needle` non-empty).
pub fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while from + needle.len() <= hay.len() {
        let i = find_byte(&hay[from..=hay.len() - needle.len()], first)?;
        let at = from + i;
        if &hay[at + 1..at + needle.len()] == rest {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Trims SP, HTAB, CR and LF from both ends (what RFC 3261 calls LWS once
/// folding is undone).
#[inline]
pub fn trim_lws(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// Index of the first byte at or after `i` that is not SP or HTAB.
#[inline]
pub fn skip_wsp(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_wsp(b[i]) {
        i += 1;
    }
    i
}

/// `s` without leading and trailing SP and HTAB, with the number of bytes
/// cut from the front (so the caller can report offsets into `s`).
#[inline]
pub fn trim_wsp(s: &str) -> (usize, &str) {
    let (start, end) = wsp_trimmed(s.as_bytes(), 0, s.len());
    // Both ends are next to ASCII whitespace or at the ends of `s`.
    (start, &s[start..end])
}

/// [`trim_wsp`] on `b[start..end]` as indices into `b`, for hot paths
/// that slice once themselves.
#[inline]
pub fn wsp_trimmed(b: &[u8], start: usize, end: usize) -> (usize, usize) {
    let mut end = end.min(b.len());
    let start = skip_wsp(b, start).min(end);
    while end > start && is_wsp(b[end - 1]) {
        end -= 1;
    }
    (start, end)
}

/// SP/HTAB-separated fields of `s` with their offsets in `s`; runs of
/// whitespace separate like one (RFC 4566 and RFC 3862 print exactly one
/// SP, receivers accept more).
pub fn fields(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        i = skip_wsp(b, i);
        if i >= b.len() {
            return None;
        }
        let start = i;
        while i < b.len() && !is_wsp(b[i]) {
            i += 1;
        }
        Some((start, &s[start..i]))
    })
}

/// RFC 3261 §25.1 `LWS = [*WSP CRLF] 1*WSP` starting at `i`: its length,
/// or 0 when there is none. A CRLF not followed by WSP is not part of it.
pub fn lws_len(b: &[u8], i: usize) -> usize {
    let j = skip_wsp(b, i);
    if b.get(j) == Some(&b'\r') && b.get(j + 1) == Some(&b'\n') {
        let k = j + 2;
        let m = skip_wsp(b, k);
        if m > k {
            return m - i;
        }
    }
    j - i
}

/// Undoes header line folding (RFC 3261 §7.3.1): every CRLF followed by
/// whitespace, together with that whitespace, becomes a single SP.
/// Borrows when there is nothing to unfold (the common case).
pub fn unfold(s: &str) -> Cow<'_, str> {
    if !s.contains('\n') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(['\r', '\n']) {
        out.push_str(rest[..i].trim_end_matches([' ', '\t']));
        let after = rest[i..].trim_start_matches(['\r', '\n']);
        let body = after.trim_start_matches([' ', '\t']);
        out.push(' ');
        rest = body;
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Splits a quoted string off the front of `s`, which must start with `"`.
/// Returns the raw inner text (escapes still in place) and the rest after the
/// closing quote. RFC 3261 §25.1: `quoted-pair = "\" (%x00-09 / %x0B-0C /
/// %x0E-7F)`; we accept any byte after `\` (tolerant of UTF-8), but never let
/// an escaped `"` close the string.
pub fn split_quoted(s: &str) -> Result<(&str, &str), LexError> {
    let b = s.as_bytes();
    if b.first() != Some(&b'"') {
        return Err(LexError::new(LexErrorKind::UnterminatedQuote, 0));
    }
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                if i + 1 >= b.len() {
                    return Err(LexError::new(LexErrorKind::DanglingEscape, i));
                }
                // Skip the escaped character, which may be a multi-byte
                // UTF-8 sequence: step to the next char boundary.
                i += 1;
                i += utf8_len(b[i]);
            }
            b'"' => return Ok((&s[1..i], &s[i + 1..])),
            _ => i += 1,
        }
    }
    Err(LexError::new(LexErrorKind::UnterminatedQuote, 0))
}

#[inline]
fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

/// Removes the `\` of each quoted-pair in the inner text of a quoted string.
pub fn unescape_quoted(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Checks that the whole of `raw` (quotes included) is an RFC 3261 §25.1
/// `quoted-string`: `qdtext = LWS / %x21 / %x23-5B / %x5D-7E /
/// UTF8-NONASCII`, `quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)` (and,
/// like [`split_quoted`], any non-ASCII character after `\`). Stricter than
/// [`split_quoted`], which only finds the closing quote: a value that passes
/// can be written back unchanged. On error, the offset of the offending
/// byte.
pub fn check_quoted(raw: &str) -> Result<(), usize> {
    let b = raw.as_bytes();
    if b.len() < 2 || b[0] != b'"' || b[b.len() - 1] != b'"' {
        return Err(0);
    }
    let end = b.len() - 1;
    let mut i = 1;
    while i < end {
        match b[i] {
            b'\\' => match b.get(i + 1) {
                Some(b'\r' | b'\n') => return Err(i + 1),
                // `\` right before the closing quote escapes it.
                _ if i + 1 >= end => return Err(i),
                _ => i += 2,
            },
            b'"' => return Err(i),
            b' ' | b'\t' | b'\r' => {
                let n = lws_len(b, i);
                if n == 0 || i + n > end {
                    return Err(i);
                }
                i += n;
            }
            c if c < 0x20 || c == 0x7F => return Err(i),
            _ => i += 1,
        }
    }
    Ok(())
}

/// Checks that `raw` is `token *(LWS token)` (RFC 3261 §25.1 unquoted
/// `display-name`). On error, the offset of the offending byte.
pub fn check_token_seq(raw: &str) -> Result<(), usize> {
    let b = raw.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && is_token(b[i]) {
            i += 1;
        }
        if i == start {
            return Err(i);
        }
        if i == b.len() {
            return Ok(());
        }
        let n = lws_len(b, i);
        if n == 0 {
            return Err(i);
        }
        i += n;
    }
}

/// Writes `s` as a quoted-string (RFC 3261 §25.1; RFC 4976 and RFC 3862
/// use the same rule): `"`, `\` and control characters become quoted-pairs;
/// CR and LF, which no quoted-pair may carry, become SP. The result always
/// passes [`check_quoted`], so no text can break out of the header line.
pub fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if (c < ' ' && c != '\t') || c == '\u{7f}' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Splits `s` at every `sep` that is outside quoted strings and outside
/// `<...>`, yielding `(offset, piece)` with the piece untrimmed. Used for
/// comma-separated header values (RFC 3261 §7.3.1) and `;` parameter lists.
/// An unterminated quote or angle bracket makes the rest one piece; the
/// piece's own parser then reports it.
pub fn split_unquoted(s: &str, sep: u8) -> SplitUnquoted<'_> {
    SplitUnquoted {
        s,
        pos: 0,
        sep,
        done: false,
    }
}

pub struct SplitUnquoted<'a> {
    s: &'a str,
    pos: usize,
    sep: u8,
    done: bool,
}

impl<'a> Iterator for SplitUnquoted<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<(usize, &'a str)> {
        if self.done {
            return None;
        }
        let b = self.s.as_bytes();
        let start = self.pos;
        let mut i = start;
        let mut in_quote = false;
        let mut in_angle = false;
        while i < b.len() {
            let c = b[i];
            if in_quote {
                if c == b'\\' {
                    i += 1;
                } else if c == b'"' {
                    in_quote = false;
                }
            } else if c == b'"' {
                in_quote = true;
            } else if c == b'<' {
                in_angle = true;
            } else if c == b'>' {
                in_angle = false;
            } else if c == self.sep && !in_angle {
                self.pos = i + 1;
                return Some((start, &self.s[start..i]));
            }
            i += 1;
        }
        self.done = true;
        Some((start, &self.s[start..]))
    }
}

/// One `;name[=value]` parameter (RFC 3261 `generic-param`, `uri-parameter`;
/// RFC 4975 `URI-parameter`). Text is kept as written: a quoted value keeps
/// its quotes, an escaped one its `%HH`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param<'a> {
    pub name: Cow<'a, str>,
    pub value: Option<Cow<'a, str>>,
}

impl<'a> Param<'a> {
    pub fn new(name: impl Into<Cow<'a, str>>, value: Option<Cow<'a, str>>) -> Self {
        Param {
            name: name.into(),
            value,
        }
    }

    pub fn into_owned(self) -> Param<'static> {
        Param {
            name: Cow::Owned(self.name.into_owned()),
            value: self.value.map(|v| Cow::Owned(v.into_owned())),
        }
    }

    /// The value with surrounding quotes removed and quoted-pairs undone.
    pub fn unquoted_value(&self) -> Option<Cow<'_, str>> {
        let v = self.value.as_deref()?;
        match split_quoted(v) {
            Ok((inner, "")) => Some(unescape_quoted(inner)),
            _ => Some(Cow::Borrowed(v)),
        }
    }
}

impl fmt::Display for Param<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(v) = &self.value {
            write!(f, "={v}")?;
        }
        Ok(())
    }
}

/// Finds a parameter by case-insensitive name (RFC 3261 §7.3.1: parameter
/// names are case-insensitive). `Some(None)` means present without a value.
pub fn find_param<'p>(params: &'p [Param<'_>], name: &str) -> Option<Option<&'p str>> {
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.value.as_deref())
}

/// Parses `;name[=value]` parameters. `s` is what follows the element the
/// parameters belong to, and must be empty or start with `;` (after optional
/// LWS). Name is a token; value is a token-ish run of characters from
/// `value_ok`, a quoted string, or an IPv6 reference in brackets. LWS around
/// `;` and `=` is allowed (RFC 3261 SEMI, EQUAL).
/// `base` is the offset of `s` in the caller's input, for error positions.
pub fn parse_params<'a>(
    s: &'a str,
    base: usize,
    value_ok: fn(u8) -> bool,
) -> Result<Vec<Param<'a>>, LexError> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = skip_lws(b, 0);
    while i < b.len() {
        if b[i] != b';' {
            return Err(LexError::new(LexErrorKind::BadParamName, base + i));
        }
        i = skip_lws(b, i + 1);
        let name_start = i;
        while i < b.len() && is_token(b[i]) {
            i += 1;
        }
        if i == name_start {
            return Err(LexError::new(LexErrorKind::BadParamName, base + i));
        }
        let name = &s[name_start..i];
        i = skip_lws(b, i);
        let mut value = None;
        if i < b.len() && b[i] == b'=' {
            i = skip_lws(b, i + 1);
            let vstart = i;
            if i < b.len() && b[i] == b'"' {
                let (inner, _) = split_quoted(&s[i..]).map_err(|e| e.shifted(base + i))?;
                i += inner.len() + 2;
            } else if i < b.len() && b[i] == b'[' {
                match find_byte(&b[i..], b']') {
                    Some(j) => i += j + 1,
                    None => return Err(LexError::new(LexErrorKind::BadParamValue, base + i)),
                }
            } else {
                while i < b.len() && value_ok(b[i]) {
                    i += 1;
                }
            }
            if i == vstart {
                return Err(LexError::new(LexErrorKind::BadParamValue, base + i));
            }
            value = Some(Cow::Borrowed(&s[vstart..i]));
            i = skip_lws(b, i);
        }
        out.push(Param {
            name: Cow::Borrowed(name),
            value,
        });
    }
    Ok(out)
}

/// `*( SEMI generic-param )` read as RFC 3428 §10 prints it (`;;branch=`,
/// `;;tag=`): empty parameters (`;;`, a trailing `;`) are skipped, which is
/// unambiguous. `generic-param = token [ EQUAL gen-value ]`, `gen-value =
/// token / host / quoted-string`, with `value_ok` saying which bytes make an
/// unquoted value. LWS is allowed around `;` and `=`. Unlike
/// [`parse_params`], the error is just the offset in `s` of the parameter
/// that is wrong (just after its `;`), for callers that report one error
/// kind per header.
pub fn parse_params_skip_empty(s: &str, value_ok: fn(u8) -> bool) -> Result<Vec<Param<'_>>, usize> {
    let t = trim_lws(s);
    if t.is_empty() {
        return Ok(Vec::new());
    }
    let base = s.len() - s.trim_start_matches([' ', '\t', '\r', '\n']).len();
    if !t.starts_with(';') {
        return Err(base);
    }
    let mut out = Vec::new();
    for (off, piece) in split_unquoted(t, b';').skip(1) {
        let at = base + off;
        let p = trim_lws(piece);
        if p.is_empty() {
            continue;
        }
        let (name, value) = match p.find('=') {
            Some(eq) => (trim_lws(&p[..eq]), Some(trim_lws(&p[eq + 1..]))),
            None => (p, None),
        };
        if !is_token_str(name) {
            return Err(at);
        }
        if let Some(v) = value {
            let ok = if v.starts_with('"') {
                matches!(split_quoted(v), Ok((_, "")))
            } else if v.starts_with('[') {
                v.ends_with(']') && v.len() > 2
            } else {
                !v.is_empty() && v.bytes().all(value_ok)
            };
            if !ok {
                return Err(at);
            }
        }
        out.push(Param {
            name: Cow::Borrowed(name),
            value: value.map(Cow::Borrowed),
        });
    }
    Ok(out)
}

/// True when `s` has an empty parameter: a `;` followed (after LWS) by
/// another `;` or the end, outside quotes and `<>` (what
/// [`parse_params_skip_empty`] skips and [`drop_empty_params`] removes).
pub fn has_empty_param(s: &str) -> bool {
    split_unquoted(s, b';')
        .skip(1)
        .any(|(_, p)| trim_lws(p).is_empty())
}

/// `s` with its empty parameters (see [`has_empty_param`]) removed, for a
/// strict parser to read what [`parse_params_skip_empty`] would.
pub fn drop_empty_params(s: &str) -> String {
    let mut cleaned = String::with_capacity(s.len());
    for (i, (_, p)) in split_unquoted(s, b';').enumerate() {
        if i > 0 {
            if trim_lws(p).is_empty() {
                continue;
            }
            cleaned.push(';');
        }
        cleaned.push_str(p);
    }
    cleaned
}

/// Index of the first byte at or after `i` that is not SP, HTAB, CR or LF.
#[inline]
pub fn skip_lws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// Decodes `%HH` escapes. Borrows when there are none. The result is bytes
/// because an escape may produce any octet, NUL included (RFC 4475 §3.1.1.4).
pub fn percent_decode(s: &str) -> Result<Cow<'_, [u8]>, LexError> {
    let b = s.as_bytes();
    let Some(first) = find_byte(b, b'%') else {
        return Ok(Cow::Borrowed(b));
    };
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..first]);
    let mut i = first;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = b.get(i + 1).and_then(|&c| hex_val(c));
            let lo = b.get(i + 2).and_then(|&c| hex_val(c));
            match (hi, lo) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => return Err(LexError::new(LexErrorKind::BadPercentEscape, i)),
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(Cow::Owned(out))
}

#[inline]
pub const fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parses a decimal number of at most `max` with no sign; leading zeros are
/// allowed (RFC 4475 §3.1.1.1 `Max-Forwards: 0068`). `None` on empty input,
/// a non-digit, or overflow past `max`.
pub fn parse_decimal(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s.as_bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        if v > max {
            return None;
        }
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_chars() {
        assert!(is_token_str("!interesting-Method0123456789_*+`.%indeed'~"));
        assert!(!is_token_str("a b"));
        assert!(!is_token_str(""));
        assert!(!is_token(b'"'));
        assert!(!is_token(b'@'));
    }

    #[test]
    fn crlf_and_bytes() {
        assert_eq!(find_crlf(b"abc\r\ndef"), Some(3));
        assert_eq!(find_crlf(b"a\nb\r\n"), Some(3));
        assert_eq!(find_crlf(b"\nabc"), None);
        assert_eq!(find_bytes(b"xx-------abc$", b"-------abc"), Some(2));
        assert_eq!(find_bytes(b"ab", b"abc"), None);
        assert_eq!(find_bytes(b"aab", b"ab"), Some(1));
        assert_eq!(find_bytes(b"", b"a"), None);
    }

    #[test]
    fn find_byte_every_position() {
        let mut v = vec![b'a'; 100];
        assert_eq!(find_byte(&v, b'\n'), None);
        for at in 0..100 {
            v.fill(b'a');
            v[at] = b'\n';
            assert_eq!(find_byte(&v, b'\n'), Some(at), "at {at}");
            // A second hit later, and bytes that differ by one bit.
            v[99] = b'\n';
            if at > 0 {
                v[at - 1] = b'\x0b';
            }
            assert_eq!(find_byte(&v, b'\n'), Some(at), "at {at}");
        }
        for n in 0..=255u8 {
            let hay: Vec<u8> = (0..=255u8).collect();
            assert_eq!(find_byte(&hay, n), Some(usize::from(n)));
            assert_eq!(find_byte(&hay[..usize::from(n)], n), None);
        }
        assert_eq!(find_byte(b"", b'x'), None);
    }

    #[test]
    fn eol_search_every_position() {
        for len in 0..40 {
            for at in 0..len {
                for c in [b'\r', b'\n'] {
                    let mut v = vec![b'a'; len];
                    v[at] = c;
                    for from in 0..=len + 1 {
                        let want = (from <= at).then_some(at);
                        assert_eq!(find_eol(&v, from), want, "len {len} at {at} from {from}");
                    }
                }
                let mut v = vec![b'\r'; len];
                v[at] = b'\n';
                assert_eq!(LfIter::new(&v).collect::<Vec<_>>(), [at]);
            }
            assert_eq!(find_eol(&vec![b'x'; len], 0), None);
            assert_eq!(LfIter::new(&vec![b'\r'; len]).next(), None);
            let all = vec![b'\n'; len];
            assert_eq!(
                LfIter::new(&all).collect::<Vec<_>>(),
                (0..len).collect::<Vec<_>>()
            );
        }
        // High bytes and near misses must not look like matches.
        let v = [0x8d, 0x8a, 0xff, 0x0e, 0x0b, 0x0c, 0x09, 0x00, 0x8d, b'\n'];
        assert_eq!(find_eol(&v, 0), Some(9));
    }

    #[test]
    fn unfolding() {
        assert_eq!(unfold("a b"), "a b");
        assert_eq!(unfold("a\r\n  b"), "a b");
        assert_eq!(unfold("a  \r\n\tb\r\n c"), "a b c");
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(split_quoted("\"abc\" rest").unwrap(), ("abc", " rest"));
        assert_eq!(split_quoted(r#""a\"b" x"#).unwrap(), (r#"a\"b"#, " x"));
        assert_eq!(unescape_quoted(r#"a\"b\\c"#), "a\"b\\c");
        assert_eq!(
            split_quoted("\"abc").unwrap_err().kind,
            LexErrorKind::UnterminatedQuote
        );
        assert_eq!(
            split_quoted("\"abc\\").unwrap_err().kind,
            LexErrorKind::DanglingEscape
        );
        // Escaped multi-byte character must not split a char boundary.
        assert_eq!(split_quoted("\"\\é\"").unwrap(), ("\\é", ""));
        let mut s = String::new();
        write_quoted(&mut s, "a\"b\\");
        assert_eq!(s, r#""a\"b\\""#);
        assert_eq!(unescape_quoted(split_quoted(&s).unwrap().0), "a\"b\\");
    }

    #[test]
    fn quoted_string_writer_escapes_controls() {
        let mut s = String::new();
        write_quoted(&mut s, "a\r\nb\0c\u{7f}\td");
        assert_eq!(s, "\"a  b\\\0c\\\u{7f}\td\"");
        assert_eq!(check_quoted(&s), Ok(()));
        assert_eq!(check_quoted("\"a\"b\""), Err(2));
        assert_eq!(check_quoted("\"a\\\""), Err(2));
        assert_eq!(check_quoted("\"a\r\n b\""), Ok(()));
        assert_eq!(check_quoted("\"a\r\nb\""), Err(2));
        assert_eq!(check_token_seq("Alice  Smith"), Ok(()));
        assert_eq!(check_token_seq("Alice\r\n Smith"), Ok(()));
        assert_eq!(check_token_seq("Smith, Alice"), Err(5));
        assert_eq!(check_token_seq(""), Err(0));
        assert_eq!(lws_len(b"a \r\n\tb", 1), 4);
        assert_eq!(lws_len(b"a \r\nb", 1), 1);
    }

    #[test]
    fn whitespace_fields() {
        assert_eq!(skip_wsp(b"a \t b", 1), 4);
        assert_eq!(trim_wsp(" \tab c \t"), (2, "ab c"));
        assert_eq!(trim_wsp(" \t "), (3, ""));
        assert_eq!(wsp_trimmed(b"a: x y \t", 2, 8), (3, 6));
        assert_eq!(wsp_trimmed(b"a: x  ", 1, 99), (1, 4));
        assert_eq!(wsp_trimmed(b"a:  ", 2, 4), (4, 4));
        let f: Vec<_> = fields(" a  bc\td ").collect();
        assert_eq!(f, vec![(1, "a"), (4, "bc"), (7, "d")]);
        assert_eq!(fields(" \t").count(), 0);
    }

    #[test]
    fn params_skip_empty() {
        let p = parse_params_skip_empty(" ;;a=1; b ;c=\"x;y\";", is_token).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(find_param(&p, "a"), Some(Some("1")));
        assert_eq!(find_param(&p, "c"), Some(Some("\"x;y\"")));
        assert_eq!(parse_params_skip_empty("x", is_token), Err(0));
        assert_eq!(parse_params_skip_empty(";a;b=\"x", is_token), Err(3));
        assert!(has_empty_param("sip:a@b;;tag=1"));
        assert!(!has_empty_param("\"a;;b\" <sip:a@b;;x>;tag=1"));
        assert_eq!(drop_empty_params("<sip:a@b>;;tag=1;"), "<sip:a@b>;tag=1");
    }

    #[test]
    fn splitting() {
        let v: Vec<_> = split_unquoted(r#"<sip:a,b>;x="1,2", sip:c"#, b',').collect();
        assert_eq!(v, vec![(0, r#"<sip:a,b>;x="1,2""#), (18, " sip:c")]);
        let v: Vec<_> = split_unquoted("", b',').collect();
        assert_eq!(v, vec![(0, "")]);
    }

    #[test]
    fn params() {
        let p = parse_params(";a=1 ; b ;c = \"x;y\";v6=[::1]", 0, is_token).unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(find_param(&p, "A"), Some(Some("1")));
        assert_eq!(find_param(&p, "b"), Some(None));
        assert_eq!(p[2].unquoted_value().unwrap(), "x;y");
        assert_eq!(find_param(&p, "v6"), Some(Some("[::1]")));
        assert_eq!(find_param(&p, "z"), None);
        assert!(parse_params("", 0, is_token).unwrap().is_empty());
        let e = parse_params(";;a", 5, is_token).unwrap_err();
        assert_eq!(e, LexError::new(LexErrorKind::BadParamName, 6));
        assert_eq!(
            parse_params(";a=", 0, is_token).unwrap_err().kind,
            LexErrorKind::BadParamValue
        );
        assert_eq!(
            parse_params("x", 0, is_token).unwrap_err().kind,
            LexErrorKind::BadParamName
        );
    }

    #[test]
    fn percent() {
        assert_eq!(&*percent_decode("abc").unwrap(), b"abc");
        assert_eq!(&*percent_decode("a%41%00b").unwrap(), b"aA\0b");
        assert_eq!(
            percent_decode("a%4").unwrap_err(),
            LexError::new(LexErrorKind::BadPercentEscape, 1)
        );
        assert!(percent_decode("%zz").is_err());
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("0068", 255), Some(68));
        assert_eq!(parse_decimal("256", 255), None);
        assert_eq!(parse_decimal("", 255), None);
        assert_eq!(parse_decimal("-1", 255), None);
        assert_eq!(
            parse_decimal("99999999999999999999999", u64::from(u32::MAX)),
            None
        );
    }
}
