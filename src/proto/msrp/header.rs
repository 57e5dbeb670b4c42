//! Typed values of the MSRP header fields that are not URIs or Digest.
//!
//! Owns: the header-name registry ([`HeaderName`], RFC 4975 §15.2 and
//! RFC 4976 §10), `Byte-Range` (RFC 4975 §7.1.1, §9), `Status` (RFC 4975
//! §7.1.2, §9), `Success-Report` / `Failure-Report` (RFC 4975 §5.3, §9).
//!
//! Must not: know about message structure or framing.

use std::borrow::Cow;
use std::fmt;

use crate::proto::lex::parse_decimal;

/// Largest octet position accepted in a Byte-Range. Far above any cap a
/// gateway would configure, and low enough that `end + 1` never overflows.
pub const MAX_OCTET_POSITION: u64 = 1 << 60;

macro_rules! header_names {
    ($($v:ident => $s:literal),* $(,)?) => {
        /// The header fields msrpgw understands (RFC 4975 §9, RFC 4976 §7).
        /// Everything else is kept as an [`super::ExtHeader`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum HeaderName { $($v),* }

        impl HeaderName {
            pub const ALL: &'static [HeaderName] = &[$(HeaderName::$v),*];

            /// The canonical spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $(HeaderName::$v => $s),* }
            }

            pub(crate) const fn missing(self) -> &'static str {
                match self { $(HeaderName::$v => concat!("missing ", $s, " header")),* }
            }

            pub(crate) const fn duplicate(self) -> &'static str {
                match self { $(HeaderName::$v => concat!("duplicate ", $s, " header")),* }
            }

            pub(crate) const fn invalid(self) -> &'static str {
                match self { $(HeaderName::$v => concat!("invalid ", $s, " header")),* }
            }
        }
    };
}

header_names! {
    ToPath => "To-Path",
    FromPath => "From-Path",
    MessageId => "Message-ID",
    ByteRange => "Byte-Range",
    SuccessReport => "Success-Report",
    FailureReport => "Failure-Report",
    Status => "Status",
    UsePath => "Use-Path",
    WwwAuthenticate => "WWW-Authenticate",
    Authorization => "Authorization",
    AuthenticationInfo => "Authentication-Info",
    Expires => "Expires",
    MinExpires => "Min-Expires",
    MaxExpires => "Max-Expires",
    ContentId => "Content-ID",
    ContentDescription => "Content-Description",
    ContentDisposition => "Content-Disposition",
    ContentType => "Content-Type",
}

impl HeaderName {
    /// Looks a name up case-insensitively (RFC 5234 §2.3: ABNF string
    /// literals are case-insensitive). Dispatches on length first so the
    /// common names cost one comparison.
    pub fn from_name(name: &str) -> Option<HeaderName> {
        let cand: &[HeaderName] = match name.len() {
            6 => &[HeaderName::Status],
            7 => &[HeaderName::ToPath, HeaderName::Expires],
            8 => &[HeaderName::UsePath],
            9 => &[HeaderName::FromPath],
            10 => &[
                HeaderName::MessageId,
                HeaderName::ByteRange,
                HeaderName::ContentId,
            ],
            11 => &[HeaderName::MinExpires, HeaderName::MaxExpires],
            12 => &[HeaderName::ContentType],
            13 => &[HeaderName::Authorization],
            14 => &[HeaderName::SuccessReport, HeaderName::FailureReport],
            16 => &[HeaderName::WwwAuthenticate],
            19 => &[
                HeaderName::AuthenticationInfo,
                HeaderName::ContentDescription,
                HeaderName::ContentDisposition,
            ],
            _ => &[],
        };
        // Peers nearly always use the canonical spelling: try an exact
        // (memcmp) match before the case-insensitive one.
        cand.iter()
            .copied()
            .find(|h| h.as_str() == name)
            .or_else(|| {
                cand.iter()
                    .copied()
                    .find(|h| h.as_str().eq_ignore_ascii_case(name))
            })
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with a Byte-Range's numbers (RFC 4975 §7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRangeProblem {
    /// `range-start` is 0 (positions start at 1, even for empty content).
    StartZero,
    /// `range-end` below `range-start - 1`.
    EndBeforeStart,
    /// `range-end` above `total`.
    EndAfterTotal,
    /// `range-start` beyond `total + 1`.
    StartAfterTotal,
}

/// RFC 4975 §9 `Byte-Range = range-start "-" range-end "/" total`, with
/// `*` (unknown) as `None`. Positions are 1-based and inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteRange {
    pub start: u64,
    pub end: Option<u64>,
    pub total: Option<u64>,
}

impl ByteRange {
    /// A chunk of `len` octets at `start` with a known end.
    pub const fn new(start: u64, end: Option<u64>, total: Option<u64>) -> Self {
        ByteRange { start, end, total }
    }

    /// RFC 4975 §9 `Byte-Range` value. Syntax only; see [`Self::check`] for
    /// the arithmetic. `None` when malformed.
    pub fn parse(s: &str) -> Option<ByteRange> {
        let b = s.as_bytes();
        let dash = b.iter().position(|&c| c == b'-')?;
        let slash = dash + 1 + b[dash + 1..].iter().position(|&c| c == b'/')?;
        let (start, end, total) = (&s[..dash], &s[dash + 1..slash], &s[slash + 1..]);
        let num = |t: &str| parse_decimal(t, MAX_OCTET_POSITION);
        let opt = |t: &str| {
            if t == "*" {
                Some(None)
            } else {
                num(t).map(Some)
            }
        };
        Some(ByteRange {
            start: num(start)?,
            end: opt(end)?,
            total: opt(total)?,
        })
    }

    /// RFC 4975 §7.1.1 sanity: start ≥ 1, end ≥ start − 1 (an empty chunk is
    /// `1-0/0`), end ≤ total, start ≤ total + 1.
    pub fn check(&self) -> Result<(), ByteRangeProblem> {
        if self.start == 0 {
            return Err(ByteRangeProblem::StartZero);
        }
        if let Some(end) = self.end {
            if end + 1 < self.start {
                return Err(ByteRangeProblem::EndBeforeStart);
            }
            if let Some(total) = self.total {
                if end > total {
                    return Err(ByteRangeProblem::EndAfterTotal);
                }
            }
        }
        if let Some(total) = self.total {
            if self.start > total + 1 {
                return Err(ByteRangeProblem::StartAfterTotal);
            }
        }
        Ok(())
    }
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-", self.start)?;
        match self.end {
            Some(e) => write!(f, "{e}/")?,
            None => f.write_str("*/")?,
        }
        match self.total {
            Some(t) => write!(f, "{t}"),
            None => f.write_str("*"),
        }
    }
}

/// RFC 4975 §9 `Success-Report: yes / no` (absent means `no`, §7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuccessReport {
    Yes,
    No,
}

impl SuccessReport {
    /// RFC 4975 §9 `Success-Report` value (`"yes" / "no"`, any case).
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("yes") {
            Some(SuccessReport::Yes)
        } else if s.eq_ignore_ascii_case("no") {
            Some(SuccessReport::No)
        } else {
            None
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            SuccessReport::Yes => "yes",
            SuccessReport::No => "no",
        }
    }
}

/// RFC 4975 §9 `Failure-Report: yes / no / partial` (absent means `yes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureReport {
    Yes,
    No,
    Partial,
}

impl FailureReport {
    /// RFC 4975 §9 `Failure-Report` value (`"yes" / "no" / "partial"`).
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("yes") {
            Some(FailureReport::Yes)
        } else if s.eq_ignore_ascii_case("no") {
            Some(FailureReport::No)
        } else if s.eq_ignore_ascii_case("partial") {
            Some(FailureReport::Partial)
        } else {
            None
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            FailureReport::Yes => "yes",
            FailureReport::No => "no",
            FailureReport::Partial => "partial",
        }
    }
}

/// RFC 4975 §9 `Status = namespace SP status-code [SP comment]`, e.g.
/// `000 200 OK`. Namespace `000` means "read the code as an MSRP response
/// code" (§7.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Status<'a> {
    pub namespace: u16,
    pub code: u16,
    pub comment: Option<Cow<'a, str>>,
}

impl<'a> Status<'a> {
    pub fn new(code: u16, comment: Option<Cow<'a, str>>) -> Self {
        Status {
            namespace: 0,
            code,
            comment,
        }
    }

    /// RFC 4975 §9 `Status` value, already checked to be `utf8text`.
    /// `None` when the namespace or code is not three digits.
    pub fn parse(s: &'a str) -> Option<Status<'a>> {
        let b = s.as_bytes();
        if b.len() < 7 || b[3] != b' ' || (b.len() > 7 && b[7] != b' ') {
            return None;
        }
        Some(Status {
            namespace: three_digits(&b[0..3])?,
            code: three_digits(&b[4..7])?,
            comment: s.get(8..).map(Cow::Borrowed),
        })
    }

    pub fn into_owned(self) -> Status<'static> {
        Status {
            namespace: self.namespace,
            code: self.code,
            comment: self.comment.map(|c| Cow::Owned(c.into_owned())),
        }
    }
}

impl fmt::Display for Status<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03} {:03}", self.namespace, self.code)?;
        if let Some(c) = &self.comment {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}

/// `3DIGIT` as a number.
pub(crate) fn three_digits(b: &[u8]) -> Option<u16> {
    match b {
        [a, b, c] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for &h in HeaderName::ALL {
            assert_eq!(HeaderName::from_name(h.as_str()), Some(h));
            assert_eq!(HeaderName::from_name(&h.as_str().to_uppercase()), Some(h));
            assert_eq!(HeaderName::from_name(&h.as_str().to_lowercase()), Some(h));
        }
        assert_eq!(HeaderName::from_name("X-Foo"), None);
        assert_eq!(HeaderName::from_name("To-Pat"), None);
        assert_eq!(HeaderName::ByteRange.missing(), "missing Byte-Range header");
        assert_eq!(HeaderName::ToPath.duplicate(), "duplicate To-Path header");
        assert_eq!(HeaderName::Status.invalid(), "invalid Status header");
    }

    #[test]
    fn byte_range() {
        let r = ByteRange::parse("1-25/25").unwrap();
        assert_eq!(r, ByteRange::new(1, Some(25), Some(25)));
        assert_eq!(r.to_string(), "1-25/25");
        let r = ByteRange::parse("1-*/*").unwrap();
        assert_eq!(r, ByteRange::new(1, None, None));
        assert_eq!(r.to_string(), "1-*/*");
        assert_eq!(ByteRange::parse("5-8/8").unwrap().to_string(), "5-8/8");
        assert_eq!(ByteRange::parse("1-*/8").unwrap().to_string(), "1-*/8");
        for bad in [
            "", "1", "1-2", "-1/2", "1-/2", "1-2/", "a-2/3", "1-2/3/4", "*-2/3", "1 -2/3",
        ] {
            assert_eq!(ByteRange::parse(bad), None, "{bad}");
        }
        assert_eq!(ByteRange::parse("1-2/99999999999999999999999"), None);
        assert_eq!(ByteRange::parse("1-0/0").unwrap().check(), Ok(()));
        assert_eq!(
            ByteRange::parse("0-5/10").unwrap().check(),
            Err(ByteRangeProblem::StartZero)
        );
        assert_eq!(
            ByteRange::parse("5-3/10").unwrap().check(),
            Err(ByteRangeProblem::EndBeforeStart)
        );
        assert_eq!(ByteRange::parse("5-4/10").unwrap().check(), Ok(()));
        assert_eq!(
            ByteRange::parse("1-11/10").unwrap().check(),
            Err(ByteRangeProblem::EndAfterTotal)
        );
        assert_eq!(
            ByteRange::parse("12-*/10").unwrap().check(),
            Err(ByteRangeProblem::StartAfterTotal)
        );
        assert_eq!(ByteRange::parse("3-*/*").unwrap().check(), Ok(()));
    }

    #[test]
    fn reports() {
        assert_eq!(SuccessReport::parse("YES"), Some(SuccessReport::Yes));
        assert_eq!(SuccessReport::parse("partial"), None);
        assert_eq!(
            FailureReport::parse("partial"),
            Some(FailureReport::Partial)
        );
        assert_eq!(FailureReport::parse("maybe"), None);
    }

    #[test]
    fn status() {
        let s = Status::parse("000 200 OK").unwrap();
        assert_eq!(
            (s.namespace, s.code, s.comment.as_deref()),
            (0, 200, Some("OK"))
        );
        assert_eq!(s.to_string(), "000 200 OK");
        let s = Status::parse("000 413").unwrap();
        assert_eq!(s.comment, None);
        assert_eq!(s.to_string(), "000 413");
        assert_eq!(
            Status::parse("000 200 ").unwrap().comment.as_deref(),
            Some("")
        );
        for bad in [
            "", "000", "000 20", "0000 200", "000 2000", "abc 200", "000  200",
        ] {
            assert_eq!(Status::parse(bad), None, "{bad}");
        }
    }
}
