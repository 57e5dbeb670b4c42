//! Instant Message Disposition Notifications (RFC 5438): the
//! `message/imdn+xml` body (§11) and the IMDN CPIM headers (§10).
//!
//! Owns: building delivery, display and processing notifications; parsing
//! one with a small bounded scanner that understands exactly the elements of
//! RFC 5438 §11.1 (`<imdn>`, `<message-id>`, `<datetime>`,
//! `<recipient-uri>`, `<original-recipient-uri>`, `<subject>`, the three
//! notification elements and their `<status>`) and skips anything else;
//! reading `imdn.Disposition-Notification` and `imdn.Message-ID` from a
//! CPIM message; wrapping a notification in CPIM (§7.2.1.1).
//!
//! Must not: pull in an XML library, expand DTD entities (a DOCTYPE is
//! rejected, so entity bombs cannot exist), recurse, or read clocks.
//!
//! The scanner is not a validating XML parser. It checks that tags nest and
//! match, decodes the five predefined entities and character references,
//! skips comments, processing instructions and CDATA outside the text
//! elements, ignores attributes and unknown (extension) elements, and
//! rejects markup inside the text elements. Nesting is capped at
//! [`MAX_DEPTH`]. Namespace prefixes are stripped, not checked.

use std::borrow::Cow;
use std::fmt;

use super::ParseError;
use super::cpim::{CpimAddress, CpimMessage};
use super::lex::{find_byte, find_bytes};

/// Namespace of the IMDN CPIM headers (RFC 5438 §10, §13.1).
pub const IMDN_NS: &str = "urn:ietf:params:imdn";
/// XML namespace of the notification body (RFC 5438 §11.1).
pub const IMDN_XML_NS: &str = "urn:ietf:params:xml:ns:imdn";
/// Content-Type of the notification body (RFC 5438 §11.1.8).
pub const CONTENT_TYPE: &str = "message/imdn+xml";
/// Deepest element nesting the scanner accepts. A notification needs 4.
pub const MAX_DEPTH: usize = 32;

/// What was wrong in a `message/imdn+xml` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImdnErrorKind {
    /// The body is not UTF-8 (RFC 5438 §11.1).
    InvalidUtf8,
    /// The body ends inside a tag, comment or element.
    UnexpectedEof,
    /// A tag that is not `<name attr="v" ...>` / `</name>`.
    BadTag,
    /// An end tag that does not close the open element.
    MismatchedEndTag,
    /// Elements nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A `<!DOCTYPE` (never needed, and the door to entity expansion).
    DoctypeNotAllowed,
    /// An `&...;` that is not a predefined entity or a valid character.
    BadEntity,
    /// A character XML 1.0 does not allow (a C0 control other than TAB,
    /// LF, CR) in a text element.
    BadCharacter,
    /// The root element is not `<imdn>`, or there is none.
    NotImdn,
    /// Markup (a child, comment, CDATA) inside a text element.
    MarkupInText,
    /// An element that may appear once appears twice.
    DuplicateElement,
    MissingMessageId,
    MissingDateTime,
    /// None of delivery-, display- or processing-notification.
    MissingNotification,
    /// A notification without `<status>` or without a child in it.
    MissingStatus,
    /// A status not defined for its notification type.
    UnknownStatus,
}

impl ImdnErrorKind {
    pub const fn description(self) -> &'static str {
        match self {
            ImdnErrorKind::InvalidUtf8 => "IMDN body is not valid UTF-8",
            ImdnErrorKind::UnexpectedEof => "IMDN body ends inside markup or an element",
            ImdnErrorKind::BadTag => "malformed XML tag in IMDN",
            ImdnErrorKind::MismatchedEndTag => "XML end tag does not match the open element",
            ImdnErrorKind::TooDeep => "XML elements nested too deeply",
            ImdnErrorKind::DoctypeNotAllowed => "DOCTYPE not allowed in IMDN",
            ImdnErrorKind::BadEntity => "invalid XML entity or character reference",
            ImdnErrorKind::BadCharacter => "character not allowed in XML text",
            ImdnErrorKind::NotImdn => "root element is not <imdn>",
            ImdnErrorKind::MarkupInText => "markup inside an IMDN text element",
            ImdnErrorKind::DuplicateElement => "IMDN element appears twice",
            ImdnErrorKind::MissingMessageId => "IMDN without <message-id>",
            ImdnErrorKind::MissingDateTime => "IMDN without <datetime>",
            ImdnErrorKind::MissingNotification => "IMDN without a notification element",
            ImdnErrorKind::MissingStatus => "IMDN notification without a status",
            ImdnErrorKind::UnknownStatus => "IMDN status not valid for its notification",
        }
    }
}

impl fmt::Display for ImdnErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

pub type ImdnError = ParseError<ImdnErrorKind>;

/// `<delivery-notification>` statuses (RFC 5438 §11.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Delivered,
    Failed,
    Forbidden,
    Error,
}

/// `<display-notification>` statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayStatus {
    Displayed,
    Forbidden,
    Error,
}

/// `<processing-notification>` statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessingStatus {
    Processed,
    Stored,
    Forbidden,
    Error,
}

/// Which notification the body carries, with its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notification {
    Delivery(DeliveryStatus),
    Display(DisplayStatus),
    Processing(ProcessingStatus),
}

impl Notification {
    /// The element name (`delivery-notification`, ...).
    pub const fn element(self) -> &'static str {
        match self {
            Notification::Delivery(_) => "delivery-notification",
            Notification::Display(_) => "display-notification",
            Notification::Processing(_) => "processing-notification",
        }
    }

    /// The status element name (`delivered`, `displayed`, ...).
    pub const fn status(self) -> &'static str {
        match self {
            Notification::Delivery(s) => match s {
                DeliveryStatus::Delivered => "delivered",
                DeliveryStatus::Failed => "failed",
                DeliveryStatus::Forbidden => "forbidden",
                DeliveryStatus::Error => "error",
            },
            Notification::Display(s) => match s {
                DisplayStatus::Displayed => "displayed",
                DisplayStatus::Forbidden => "forbidden",
                DisplayStatus::Error => "error",
            },
            Notification::Processing(s) => match s {
                ProcessingStatus::Processed => "processed",
                ProcessingStatus::Stored => "stored",
                ProcessingStatus::Forbidden => "forbidden",
                ProcessingStatus::Error => "error",
            },
        }
    }

    fn from_names(kind: Kind, status: &str) -> Option<Notification> {
        Some(match (kind, status) {
            (Kind::Delivery, "delivered") => Notification::Delivery(DeliveryStatus::Delivered),
            (Kind::Delivery, "failed") => Notification::Delivery(DeliveryStatus::Failed),
            (Kind::Delivery, "forbidden") => Notification::Delivery(DeliveryStatus::Forbidden),
            (Kind::Delivery, "error") => Notification::Delivery(DeliveryStatus::Error),
            (Kind::Display, "displayed") => Notification::Display(DisplayStatus::Displayed),
            (Kind::Display, "forbidden") => Notification::Display(DisplayStatus::Forbidden),
            (Kind::Display, "error") => Notification::Display(DisplayStatus::Error),
            (Kind::Processing, "processed") => {
                Notification::Processing(ProcessingStatus::Processed)
            }
            (Kind::Processing, "stored") => Notification::Processing(ProcessingStatus::Stored),
            (Kind::Processing, "forbidden") => {
                Notification::Processing(ProcessingStatus::Forbidden)
            }
            (Kind::Processing, "error") => Notification::Processing(ProcessingStatus::Error),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Delivery,
    Display,
    Processing,
}

/// A `message/imdn+xml` body (RFC 5438 §11.1). Text is XML-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imdn<'a> {
    /// The Message-ID of the IM this notification is about.
    pub message_id: Cow<'a, str>,
    /// The DateTime of that IM (not of the notification).
    pub datetime: Cow<'a, str>,
    pub recipient_uri: Option<Cow<'a, str>>,
    pub original_recipient_uri: Option<Cow<'a, str>>,
    pub subject: Option<Cow<'a, str>>,
    pub notification: Notification,
}

/// Parses a `message/imdn+xml` body. The fuzzing entry point.
pub fn parse(input: &[u8]) -> Result<Imdn<'_>, ImdnError> {
    Imdn::parse(input)
}

impl<'a> Imdn<'a> {
    fn new(
        message_id: impl Into<Cow<'a, str>>,
        datetime: impl Into<Cow<'a, str>>,
        recipient_uri: Option<Cow<'a, str>>,
        original_recipient_uri: Option<Cow<'a, str>>,
        notification: Notification,
    ) -> Self {
        Imdn {
            message_id: message_id.into(),
            datetime: datetime.into(),
            recipient_uri,
            original_recipient_uri,
            subject: None,
            notification,
        }
    }

    /// A delivery notification (RFC 5438 §7.2.1.1). `datetime` is the IM's
    /// DateTime header.
    pub fn delivery(
        message_id: impl Into<Cow<'a, str>>,
        datetime: impl Into<Cow<'a, str>>,
        recipient_uri: Option<Cow<'a, str>>,
        original_recipient_uri: Option<Cow<'a, str>>,
        status: DeliveryStatus,
    ) -> Self {
        let n = Notification::Delivery(status);
        Imdn::new(
            message_id,
            datetime,
            recipient_uri,
            original_recipient_uri,
            n,
        )
    }

    /// A display notification (RFC 5438 §7.2.1.2).
    pub fn display(
        message_id: impl Into<Cow<'a, str>>,
        datetime: impl Into<Cow<'a, str>>,
        recipient_uri: Option<Cow<'a, str>>,
        original_recipient_uri: Option<Cow<'a, str>>,
        status: DisplayStatus,
    ) -> Self {
        let n = Notification::Display(status);
        Imdn::new(
            message_id,
            datetime,
            recipient_uri,
            original_recipient_uri,
            n,
        )
    }

    /// A processing notification (RFC 5438 §8.1).
    pub fn processing(
        message_id: impl Into<Cow<'a, str>>,
        datetime: impl Into<Cow<'a, str>>,
        recipient_uri: Option<Cow<'a, str>>,
        original_recipient_uri: Option<Cow<'a, str>>,
        status: ProcessingStatus,
    ) -> Self {
        let n = Notification::Processing(status);
        Imdn::new(
            message_id,
            datetime,
            recipient_uri,
            original_recipient_uri,
            n,
        )
    }

    pub fn into_owned(self) -> Imdn<'static> {
        let o = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        Imdn {
            message_id: o(self.message_id),
            datetime: o(self.datetime),
            recipient_uri: self.recipient_uri.map(o),
            original_recipient_uri: self.original_recipient_uri.map(o),
            subject: self.subject.map(o),
            notification: self.notification,
        }
    }

    /// Writes the XML document (RFC 5438 §11.1.9 element order), CRLF line
    /// ends. Text is escaped so that any string survives a round trip,
    /// except characters XML 1.0 cannot carry at all (C0 controls other
    /// than TAB, LF, CR), which are dropped.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n");
        out.extend_from_slice(b"<imdn xmlns=\"");
        out.extend_from_slice(IMDN_XML_NS.as_bytes());
        out.extend_from_slice(b"\">\r\n");
        let leaf = |out: &mut Vec<u8>, name: &str, v: &str| {
            out.extend_from_slice(format!("  <{name}>").as_bytes());
            escape_text(out, v);
            out.extend_from_slice(format!("</{name}>\r\n").as_bytes());
        };
        leaf(out, "message-id", &self.message_id);
        leaf(out, "datetime", &self.datetime);
        if let Some(v) = &self.recipient_uri {
            leaf(out, "recipient-uri", v);
        }
        if let Some(v) = &self.original_recipient_uri {
            leaf(out, "original-recipient-uri", v);
        }
        if let Some(v) = &self.subject {
            leaf(out, "subject", v);
        }
        let n = self.notification;
        out.extend_from_slice(
            format!(
                "  <{e}>\r\n    <status>\r\n      <{s}/>\r\n    </status>\r\n  </{e}>\r\n",
                e = n.element(),
                s = n.status()
            )
            .as_bytes(),
        );
        out.extend_from_slice(b"</imdn>\r\n");
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(400);
        self.encode(&mut out);
        out
    }

    /// Wraps the notification in CPIM as RFC 5438 §7.2.1.1 shows: From, To,
    /// `NS: imdn <urn:ietf:params:imdn>`, `imdn.Message-ID` (the
    /// notification's own id), optional DateTime, then `Content-Type:
    /// message/imdn+xml` and `Content-Disposition: notification`.
    pub fn to_cpim<'c>(
        &self,
        from: CpimAddress<'c>,
        to: CpimAddress<'c>,
        imdn_message_id: &'c str,
        date_time: Option<&'c str>,
    ) -> CpimMessage<'c> {
        let mut b = CpimMessage::builder().from(from).to(to);
        if let Some(dt) = date_time {
            b = b.date_time(dt);
        }
        b.ns_header(IMDN_NS, "imdn", "Message-ID", imdn_message_id)
            .content_type(CONTENT_TYPE)
            .mime_header("Content-Disposition", "notification")
            .body(self.to_bytes())
            .build()
    }

    /// RFC 5438 §11.1 `imdn` document, read by the bounded scanner described
    /// in the module docs.
    pub fn parse(input: &'a [u8]) -> Result<Imdn<'a>, ImdnError> {
        let text = std::str::from_utf8(input)
            .map_err(|e| ImdnError::new(ImdnErrorKind::InvalidUtf8, e.valid_up_to()))?;
        Scanner::new(text).run()
    }
}

impl fmt::Display for Imdn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

// ---- scanner ---------------------------------------------------------------

struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    /// Qualified names of the open elements, root first.
    stack: Vec<&'a str>,
    message_id: Option<Cow<'a, str>>,
    datetime: Option<Cow<'a, str>>,
    recipient_uri: Option<Cow<'a, str>>,
    original_recipient_uri: Option<Cow<'a, str>>,
    subject: Option<Cow<'a, str>>,
    kind: Option<(Kind, usize)>,
    status_seen: bool,
    notification: Option<Notification>,
}

fn err(kind: ImdnErrorKind, at: usize) -> ImdnError {
    ImdnError::new(kind, at)
}

fn local(qname: &str) -> &str {
    qname.rsplit_once(':').map_or(qname, |(_, l)| l)
}

fn is_xml_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            text,
            pos: 0,
            stack: Vec::new(),
            message_id: None,
            datetime: None,
            recipient_uri: None,
            original_recipient_uri: None,
            subject: None,
            kind: None,
            status_seen: false,
            notification: None,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Index just past the next `end` at or after `from`.
    fn skip_past(&self, from: usize, end: &[u8], open: usize) -> Result<usize, ImdnError> {
        let rest = self.bytes().get(from..).unwrap_or_default();
        find_bytes(rest, end)
            .map(|i| from + i + end.len())
            .ok_or(err(ImdnErrorKind::UnexpectedEof, open))
    }

    fn run(mut self) -> Result<Imdn<'a>, ImdnError> {
        let mut root_seen = false;
        loop {
            let b = self.bytes();
            let Some(i) = b.get(self.pos..).and_then(|r| find_byte(r, b'<')) else {
                break;
            };
            let lt = self.pos + i;
            let rest = &b[lt..];
            if rest.starts_with(b"<?") {
                self.pos = self.skip_past(lt + 2, b"?>", lt)?;
            } else if rest.starts_with(b"<!--") {
                self.pos = self.skip_past(lt + 4, b"-->", lt)?;
            } else if rest.starts_with(b"<![CDATA[") {
                self.pos = self.skip_past(lt + 9, b"]]>", lt)?;
            } else if rest.starts_with(b"<!") {
                return Err(err(ImdnErrorKind::DoctypeNotAllowed, lt));
            } else if rest.starts_with(b"</") {
                let (name, next) = self.end_tag(lt)?;
                match self.stack.pop() {
                    Some(open) if open == name => {}
                    _ => return Err(err(ImdnErrorKind::MismatchedEndTag, lt)),
                }
                self.pos = next;
                if self.stack.is_empty() {
                    // Whatever follows the root element is not ours.
                    break;
                }
            } else {
                let (qname, self_closing, next) = self.start_tag(lt)?;
                self.pos = next;
                if self.stack.is_empty() {
                    if local(qname) != "imdn" {
                        return Err(err(ImdnErrorKind::NotImdn, lt));
                    }
                    root_seen = true;
                } else if self.element(qname, self_closing, lt)? {
                    continue;
                }
                if !self_closing {
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(err(ImdnErrorKind::TooDeep, lt));
                    }
                    self.stack.push(qname);
                }
            }
        }
        if !root_seen {
            return Err(err(ImdnErrorKind::NotImdn, 0));
        }
        if !self.stack.is_empty() {
            return Err(err(ImdnErrorKind::UnexpectedEof, self.text.len()));
        }
        let end = self.text.len();
        let notification = match (self.notification, self.kind) {
            (Some(n), _) => n,
            (None, None) => return Err(err(ImdnErrorKind::MissingNotification, end)),
            (None, Some((_, at))) if self.status_seen => {
                return Err(err(ImdnErrorKind::UnknownStatus, at));
            }
            (None, Some((_, at))) => return Err(err(ImdnErrorKind::MissingStatus, at)),
        };
        Ok(Imdn {
            message_id: self
                .message_id
                .ok_or(err(ImdnErrorKind::MissingMessageId, end))?,
            datetime: self
                .datetime
                .ok_or(err(ImdnErrorKind::MissingDateTime, end))?,
            recipient_uri: self.recipient_uri,
            original_recipient_uri: self.original_recipient_uri,
            subject: self.subject,
            notification,
        })
    }

    /// Handles a start tag below the root. Returns true when the element
    /// was consumed whole (a text element up to its end tag).
    fn element(
        &mut self,
        qname: &'a str,
        self_closing: bool,
        lt: usize,
    ) -> Result<bool, ImdnError> {
        let name = local(qname);
        match self.stack.len() {
            1 => {
                let slot = match name {
                    "message-id" => &mut self.message_id,
                    "datetime" => &mut self.datetime,
                    "recipient-uri" => &mut self.recipient_uri,
                    "original-recipient-uri" => &mut self.original_recipient_uri,
                    "subject" => &mut self.subject,
                    _ => {
                        let kind = match name {
                            "delivery-notification" => Kind::Delivery,
                            "display-notification" => Kind::Display,
                            "processing-notification" => Kind::Processing,
                            _ => return Ok(false),
                        };
                        if self.kind.is_some() {
                            return Err(err(ImdnErrorKind::DuplicateElement, lt));
                        }
                        self.kind = Some((kind, lt));
                        return Ok(false);
                    }
                };
                if slot.is_some() {
                    return Err(err(ImdnErrorKind::DuplicateElement, lt));
                }
                let value = if self_closing {
                    Cow::Borrowed("")
                } else {
                    let start = self.pos;
                    let b = self.text.as_bytes();
                    let end = b
                        .get(start..)
                        .and_then(|r| find_byte(r, b'<'))
                        .map(|i| start + i)
                        .ok_or(err(ImdnErrorKind::UnexpectedEof, lt))?;
                    if !b[end..].starts_with(b"</") {
                        return Err(err(ImdnErrorKind::MarkupInText, end));
                    }
                    let (close, next) = self.end_tag(end)?;
                    if close != qname {
                        return Err(err(ImdnErrorKind::MismatchedEndTag, end));
                    }
                    self.pos = next;
                    let raw = &self.text[start..end];
                    let lead = raw.len() - raw.trim_start_matches([' ', '\t', '\r', '\n']).len();
                    decode_text(trim_xml(raw), start + lead)?
                };
                let slot = match name {
                    "message-id" => &mut self.message_id,
                    "datetime" => &mut self.datetime,
                    "recipient-uri" => &mut self.recipient_uri,
                    "original-recipient-uri" => &mut self.original_recipient_uri,
                    _ => &mut self.subject,
                };
                *slot = Some(value);
                Ok(true)
            }
            3 => {
                let in_status = self.stack.get(2).is_some_and(|s| local(s) == "status");
                if let (true, Some((kind, _)), true) = (
                    in_status,
                    self.kind,
                    self.stack
                        .get(1)
                        .is_some_and(|s| local(s).ends_with("-notification")),
                ) {
                    self.status_seen = true;
                    if self.notification.is_none() {
                        self.notification = Notification::from_names(kind, name);
                    }
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// `</name S?>` at `lt`: the name and the index after `>`.
    fn end_tag(&self, lt: usize) -> Result<(&'a str, usize), ImdnError> {
        let b = self.bytes();
        let gt = b
            .get(lt..)
            .and_then(|r| find_byte(r, b'>'))
            .map(|i| lt + i)
            .ok_or(err(ImdnErrorKind::UnexpectedEof, lt))?;
        let inner = &self.text[lt + 2..gt];
        let name = inner.trim_end_matches([' ', '\t', '\r', '\n']);
        if name.is_empty() || name.bytes().any(|c| is_xml_ws(c) || c == b'/' || c == b'<') {
            return Err(err(ImdnErrorKind::BadTag, lt));
        }
        Ok((name, gt + 1))
    }

    /// `<name (S attr S? = S? "v")* S? /?>` at `lt`: the name, whether it
    /// closes itself, and the index after `>`. Attribute values may contain
    /// `>`, so they are skipped quote to quote.
    fn start_tag(&self, lt: usize) -> Result<(&'a str, bool, usize), ImdnError> {
        let b = self.bytes();
        let eof = err(ImdnErrorKind::UnexpectedEof, lt);
        let bad = |at| err(ImdnErrorKind::BadTag, at);
        let mut i = lt + 1;
        while i < b.len() && !is_xml_ws(b[i]) && !matches!(b[i], b'/' | b'>' | b'<' | b'=') {
            i += 1;
        }
        if i == lt + 1 {
            return Err(bad(lt));
        }
        let name = &self.text[lt + 1..i];
        loop {
            while i < b.len() && is_xml_ws(b[i]) {
                i += 1;
            }
            match b.get(i) {
                None => return Err(eof),
                Some(b'>') => return Ok((name, false, i + 1)),
                Some(b'/') => {
                    return match b.get(i + 1) {
                        Some(b'>') => Ok((name, true, i + 2)),
                        None => Err(eof),
                        Some(_) => Err(bad(i)),
                    };
                }
                Some(_) => {}
            }
            let attr = i;
            while i < b.len() && !is_xml_ws(b[i]) && !matches!(b[i], b'=' | b'>' | b'/' | b'<') {
                i += 1;
            }
            if i == attr {
                return Err(bad(i));
            }
            while i < b.len() && is_xml_ws(b[i]) {
                i += 1;
            }
            if b.get(i) != Some(&b'=') {
                return Err(if i >= b.len() { eof } else { bad(i) });
            }
            i += 1;
            while i < b.len() && is_xml_ws(b[i]) {
                i += 1;
            }
            let q = match b.get(i) {
                Some(&q @ (b'"' | b'\'')) => q,
                None => return Err(eof),
                Some(_) => return Err(bad(i)),
            };
            let close = find_byte(&b[i + 1..], q).ok_or(eof)?;
            i += close + 2;
        }
    }
}

fn trim_xml(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// Decodes `&amp; &lt; &gt; &quot; &apos; &#N; &#xH;` (XML 1.0 §4.1, §4.6).
/// `base` is the offset of `s` in the body, for errors.
fn decode_text(s: &str, base: usize) -> Result<Cow<'_, str>, ImdnError> {
    if let Some((i, _)) = s.char_indices().find(|&(_, c)| !is_xml_char(c)) {
        return Err(err(ImdnErrorKind::BadCharacter, base + i));
    }
    let Some(first) = find_byte(s.as_bytes(), b'&') else {
        return Ok(Cow::Borrowed(s));
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..first]);
    let mut rest = &s[first..];
    let mut at = base + first;
    while let Some(amp) = find_byte(rest.as_bytes(), b'&') {
        out.push_str(&rest[..amp]);
        at += amp;
        rest = &rest[amp..];
        // The longest reference is `&#x10FFFF;` (10 bytes).
        let semi = rest
            .as_bytes()
            .iter()
            .take(12)
            .position(|&c| c == b';')
            .ok_or(err(ImdnErrorKind::BadEntity, at))?;
        let name = &rest[1..semi];
        let c = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name.strip_prefix('#').and_then(|n| {
                let v = match n.strip_prefix('x') {
                    Some(h) if !h.is_empty() && h.bytes().all(|c| c.is_ascii_hexdigit()) => {
                        u32::from_str_radix(h, 16).ok()
                    }
                    None if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => {
                        n.parse::<u32>().ok()
                    }
                    _ => None,
                }?;
                char::from_u32(v).filter(|&c| is_xml_char(c))
            }),
        };
        out.push(c.ok_or(err(ImdnErrorKind::BadEntity, at))?);
        rest = &rest[semi + 1..];
        at += semi + 1;
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// XML 1.0 §2.2 `Char`.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// Escapes text content. Leading and trailing whitespace, and TAB/LF/CR
/// anywhere, become character references so the parser's trimming and an
/// XML processor's line-end normalisation cannot change the value.
fn escape_text(out: &mut Vec<u8>, s: &str) {
    let body = trim_xml(s);
    let lead = s.len() - s.trim_start_matches([' ', '\t', '\r', '\n']).len();
    let tail = lead + body.len();
    for (i, c) in s.char_indices() {
        let edge = i < lead || i >= tail;
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\'' => out.extend_from_slice(b"&apos;"),
            '\t' | '\n' | '\r' => out.extend_from_slice(format!("&#{};", u32::from(c)).as_bytes()),
            ' ' if edge => out.extend_from_slice(b"&#32;"),
            c if !is_xml_char(c) => {}
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

// ---- CPIM headers (RFC 5438 §10) -------------------------------------------

/// What an IM's `imdn.Disposition-Notification` asks for (RFC 5438 §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DispositionRequest {
    pub positive_delivery: bool,
    pub negative_delivery: bool,
    pub processing: bool,
    pub display: bool,
}

impl DispositionRequest {
    /// `[notify-req *(COMMA notify-req)]`: tokens compared ignoring case,
    /// parameters after `;` and unknown tokens ignored. Never fails.
    pub fn parse(value: &str) -> DispositionRequest {
        let mut r = DispositionRequest::default();
        for item in value.split(',') {
            let token = item.split(';').next().unwrap_or_default();
            let token = token.trim_matches([' ', '\t']);
            if token.eq_ignore_ascii_case("positive-delivery") {
                r.positive_delivery = true;
            } else if token.eq_ignore_ascii_case("negative-delivery") {
                r.negative_delivery = true;
            } else if token.eq_ignore_ascii_case("processing") {
                r.processing = true;
            } else if token.eq_ignore_ascii_case("display") {
                r.display = true;
            }
        }
        r
    }

    pub fn is_empty(&self) -> bool {
        *self == DispositionRequest::default()
    }

    /// Merges every `imdn.Disposition-Notification` header of `msg`,
    /// resolved through its `NS` declarations.
    pub fn from_cpim(msg: &CpimMessage<'_>) -> DispositionRequest {
        let mut r = DispositionRequest::default();
        for h in msg.find_all_ns(IMDN_NS, "Disposition-Notification") {
            let p = DispositionRequest::parse(&h.value);
            r.positive_delivery |= p.positive_delivery;
            r.negative_delivery |= p.negative_delivery;
            r.processing |= p.processing;
            r.display |= p.display;
        }
        r
    }
}

impl fmt::Display for DispositionRequest {
    /// The header value, e.g. `positive-delivery, negative-delivery`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all = [
            (self.positive_delivery, "positive-delivery"),
            (self.negative_delivery, "negative-delivery"),
            (self.processing, "processing"),
            (self.display, "display"),
        ];
        let mut sep = "";
        for (on, name) in all {
            if on {
                write!(f, "{sep}{name}")?;
                sep = ", ";
            }
        }
        Ok(())
    }
}

/// The `imdn.Message-ID` of a CPIM message (RFC 5438 §6.3), trimmed.
pub fn message_id<'m>(msg: &'m CpimMessage<'_>) -> Option<&'m str> {
    msg.find_ns(IMDN_NS, "Message-ID")
        .map(|h| h.value.trim_matches([' ', '\t']))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELIVERY: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\">\r\n\
      <message-id>34jk324j</message-id>\r\n\
      <datetime>2008-04-04T12:16:49-05:00</datetime>\r\n\
     <recipient-uri>im:bob@example.com</recipient-uri>\r\n\
      <original-recipient-uri\r\n\
        >im:bob@example.com</original-recipient-uri>\r\n\
      <delivery-notification>\r\n\
         <status>\r\n\
            <delivered/>\r\n\
         </status>\r\n\
      </delivery-notification>\r\n\
    </imdn>\r\n";

    fn e(input: &str) -> ImdnError {
        parse(input.as_bytes()).unwrap_err()
    }

    fn doc(inner: &str) -> String {
        format!("<imdn><message-id>m</message-id><datetime>d</datetime>{inner}</imdn>")
    }

    #[test]
    fn parses_rfc5438_delivery() {
        let n = parse(DELIVERY).unwrap();
        assert_eq!(n.message_id, "34jk324j");
        assert_eq!(n.datetime, "2008-04-04T12:16:49-05:00");
        assert_eq!(n.recipient_uri.as_deref(), Some("im:bob@example.com"));
        assert_eq!(
            n.original_recipient_uri.as_deref(),
            Some("im:bob@example.com")
        );
        assert_eq!(n.subject, None);
        assert_eq!(
            n.notification,
            Notification::Delivery(DeliveryStatus::Delivered)
        );
        assert!(matches!(n.message_id, Cow::Borrowed(_)));
    }

    #[test]
    fn builds_and_round_trips() {
        let all = [
            Notification::Delivery(DeliveryStatus::Delivered),
            Notification::Delivery(DeliveryStatus::Failed),
            Notification::Delivery(DeliveryStatus::Forbidden),
            Notification::Delivery(DeliveryStatus::Error),
            Notification::Display(DisplayStatus::Displayed),
            Notification::Display(DisplayStatus::Forbidden),
            Notification::Display(DisplayStatus::Error),
            Notification::Processing(ProcessingStatus::Processed),
            Notification::Processing(ProcessingStatus::Stored),
            Notification::Processing(ProcessingStatus::Forbidden),
            Notification::Processing(ProcessingStatus::Error),
        ];
        for n in all {
            let mut imdn = Imdn::delivery(
                "id<&>\"'",
                " 2008-04-04T12:16:49-05:00\t",
                Some("sip:a@b;x=\"<y>\"".into()),
                Some("im:ü@example.com".into()),
                DeliveryStatus::Delivered,
            );
            imdn.notification = n;
            imdn.subject = Some("line1\r\nline2 & more".into());
            let bytes = imdn.to_bytes();
            assert_eq!(parse(&bytes).unwrap(), imdn, "{}", imdn);
        }
        let d = Imdn::display("m", "d", None, None, DisplayStatus::Displayed);
        let text = d.to_string();
        assert_eq!(
            text,
            concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n",
                "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\">\r\n",
                "  <message-id>m</message-id>\r\n",
                "  <datetime>d</datetime>\r\n",
                "  <display-notification>\r\n",
                "    <status>\r\n",
                "      <displayed/>\r\n",
                "    </status>\r\n",
                "  </display-notification>\r\n",
                "</imdn>\r\n",
            )
        );
        let p = Imdn::processing("m", "d", None, None, ProcessingStatus::Stored);
        assert_eq!(parse(&p.to_bytes()).unwrap(), p);
        // Characters XML cannot carry are dropped, not written.
        let bad = Imdn::delivery("a\u{1}b", "d", None, None, DeliveryStatus::Failed);
        assert_eq!(parse(&bad.to_bytes()).unwrap().message_id, "ab");
    }

    #[test]
    fn escaping_is_complete() {
        let n = Imdn::delivery(
            "x",
            "d",
            Some("<script>&</script>".into()),
            None,
            DeliveryStatus::Delivered,
        );
        let s = n.to_string();
        assert!(s.contains("<recipient-uri>&lt;script&gt;&amp;&lt;/script&gt;</recipient-uri>"));
    }

    #[test]
    fn tolerates_xml_features() {
        let n = parse(
            b"\xef\xbb\xbf<?xml version='1.0'?><!-- c --><i:imdn xmlns:i='urn:ietf:params:xml:ns:imdn' a=\"x>y\">\
<i:message-id> a&amp;b&#x41;&#66; </i:message-id><datetime/>\
<ext:thing xmlns:ext='urn:x'><deep><er/></deep></ext:thing>\
<![CDATA[ignored <imdn> ]]>\
<processing-notification><status><ext:new/><stored/></status><note>n</note></processing-notification>\
</i:imdn>trailing garbage <",
        )
        .unwrap();
        assert_eq!(n.message_id, "a&bAB");
        assert_eq!(n.datetime, "");
        assert_eq!(
            n.notification,
            Notification::Processing(ProcessingStatus::Stored)
        );
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(e(""), ImdnError::new(ImdnErrorKind::NotImdn, 0));
        assert_eq!(e("<foo/>"), ImdnError::new(ImdnErrorKind::NotImdn, 0));
        assert_eq!(e("<imdn>"), ImdnError::new(ImdnErrorKind::UnexpectedEof, 6));
        assert_eq!(
            e("<!DOCTYPE x [<!ENTITY a 'b'>]><imdn/>"),
            ImdnError::new(ImdnErrorKind::DoctypeNotAllowed, 0)
        );
        assert_eq!(
            e("<imdn><a></b></imdn>"),
            ImdnError::new(ImdnErrorKind::MismatchedEndTag, 9)
        );
        assert_eq!(e("</imdn>").kind, ImdnErrorKind::MismatchedEndTag);
        assert_eq!(e("<imdn><!-- x").kind, ImdnErrorKind::UnexpectedEof);
        assert_eq!(e("<imdn a='x></imdn>").kind, ImdnErrorKind::UnexpectedEof);
        assert_eq!(
            e("<imdn a=x></imdn>"),
            ImdnError::new(ImdnErrorKind::BadTag, 8)
        );
        assert_eq!(e("<imdn a></imdn>").kind, ImdnErrorKind::BadTag);
        assert_eq!(e("< imdn/>").kind, ImdnErrorKind::BadTag);
        assert_eq!(e("<imdn/ >").kind, ImdnErrorKind::BadTag);
        assert_eq!(e("<imdn></ >").kind, ImdnErrorKind::BadTag);
        assert_eq!(
            e("<imdn><message-id>a<b/></message-id></imdn>"),
            ImdnError::new(ImdnErrorKind::MarkupInText, 19)
        );
        assert_eq!(
            e("<imdn><message-id>a</datetime></imdn>").kind,
            ImdnErrorKind::MismatchedEndTag
        );
        assert_eq!(e("<imdn><message-id>a").kind, ImdnErrorKind::UnexpectedEof);
        assert_eq!(
            e("<imdn><message-id>a&bogus;</message-id></imdn>"),
            ImdnError::new(ImdnErrorKind::BadEntity, 19)
        );
        assert_eq!(
            e(&doc("<message-id>&#0;</message-id>")).kind,
            ImdnErrorKind::DuplicateElement
        );
        assert_eq!(
            e("<imdn><message-id>&#0;</message-id></imdn>").kind,
            ImdnErrorKind::BadEntity
        );
        assert_eq!(
            e("<imdn><message-id>&#xD800;</message-id></imdn>").kind,
            ImdnErrorKind::BadEntity
        );
        assert_eq!(
            e("<imdn><message-id>&amp</message-id></imdn>").kind,
            ImdnErrorKind::BadEntity
        );
        assert_eq!(e(&doc("")).kind, ImdnErrorKind::MissingNotification);
        assert_eq!(
            e(&doc("<display-notification/>")).kind,
            ImdnErrorKind::MissingStatus
        );
        assert_eq!(
            e(&doc(
                "<display-notification><status><delivered/></status></display-notification>"
            ))
            .kind,
            ImdnErrorKind::UnknownStatus
        );
        assert_eq!(
            e(&doc("<display-notification/><delivery-notification/>")).kind,
            ImdnErrorKind::DuplicateElement
        );
        assert_eq!(
            e("<imdn><datetime>d</datetime><display-notification><status><displayed/></status></display-notification></imdn>").kind,
            ImdnErrorKind::MissingMessageId
        );
        assert_eq!(
            e("<imdn><message-id>m</message-id><display-notification><status><displayed/></status></display-notification></imdn>").kind,
            ImdnErrorKind::MissingDateTime
        );
        assert_eq!(e("<imdn>\u{e9}<x").kind, ImdnErrorKind::UnexpectedEof);
        assert_eq!(
            e("<imdn><message-id> a\u{1}</message-id></imdn>"),
            ImdnError::new(ImdnErrorKind::BadCharacter, 20)
        );
        assert_eq!(
            parse(b"<imdn>\xff").unwrap_err(),
            ImdnError::new(ImdnErrorKind::InvalidUtf8, 6)
        );
        let deep = format!("<imdn>{}", "<a>".repeat(MAX_DEPTH));
        assert_eq!(e(&deep).kind, ImdnErrorKind::TooDeep);
    }

    #[test]
    fn disposition_requests() {
        let r = DispositionRequest::parse("positive-delivery, negative-delivery");
        assert!(r.positive_delivery && r.negative_delivery && !r.display && !r.processing);
        let r = DispositionRequest::parse(" Display ;x=1 ,bogus,PROCESSING,,");
        assert!(r.display && r.processing && !r.positive_delivery);
        assert!(DispositionRequest::parse("").is_empty());
        assert_eq!(r.to_string(), "processing, display");
        let all = DispositionRequest {
            positive_delivery: true,
            negative_delivery: true,
            processing: true,
            display: true,
        };
        assert_eq!(DispositionRequest::parse(&all.to_string()), all);
    }

    #[test]
    fn cpim_wrapping() {
        let n = Imdn::delivery(
            "34jk324j",
            "2008-04-04T12:16:49-05:00",
            Some("im:bob@example.com".into()),
            Some("im:bob@example.com".into()),
            DeliveryStatus::Delivered,
        );
        let m = n.to_cpim(
            CpimAddress::new(Some("Bob".into()), "im:bob@example.com"),
            CpimAddress::new(Some("Alice".into()), "im:alice@example.com"),
            "d834jied93rf",
            None,
        );
        let bytes = m.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with(
            "From: Bob <im:bob@example.com>\r\n\
To: Alice <im:alice@example.com>\r\n\
NS: imdn <urn:ietf:params:imdn>\r\n\
imdn.Message-ID: d834jied93rf\r\n\
\r\n\
Content-Type: message/imdn+xml\r\n\
Content-Disposition: notification\r\n\
\r\n\
<?xml"
        ));
        let back = crate::proto::cpim::parse(&bytes).unwrap();
        assert_eq!(message_id(&back), Some("d834jied93rf"));
        assert_eq!(parse(&back.body).unwrap(), n);
        assert!(DispositionRequest::from_cpim(&back).is_empty());
    }
}
