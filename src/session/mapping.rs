//! Status-code mapping between the two sides (DESIGN §5), the table msrpgw(8)
//! documents. Pure.
//!
//! Owns: what a downstream result becomes upstream, in both directions:
//! [`message_status_for_invite`] and [`message_status_for_msrp`] (pager
//! sender's final response to its MESSAGE), [`msrp_status_for_message`]
//! (session sender's MSRP response to its SEND).
//!
//! Must not: send anything or look at sessions; a result in, a status out.
//!
//! MSRP has few status codes (RFC 4975 §10: 200, 400, 403, 408, 413, 415,
//! 423, 481, 501, 506), so a SIP failure without an MSRP twin becomes 403
//! with the SIP status in the comment, as RFC 4975 §7.1.1 lets a response
//! carry a human-readable comment: `403 SIP 486 Busy Here`.

/// A status to send upstream, with its reason phrase (SIP) or comment
/// (MSRP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub status: u16,
    pub reason: String,
}

impl Mapped {
    fn new(status: u16, reason: impl Into<String>) -> Mapped {
        Mapped {
            status,
            reason: reason.into(),
        }
    }
}

/// The answer to a pager user's MESSAGE when the INVITE toward the
/// session-mode user failed with `status` (`reason` its phrase).
pub fn message_status_for_invite(status: u16, reason: &str) -> Mapped {
    match status {
        // The user's own answer, passed on as it is.
        403 | 404 | 480 | 486 | 600 | 603 => Mapped::new(status, reason),
        // Gone, or the address is incomplete or ambiguous: not found.
        410 | 484 | 485 => Mapped::new(404, "Not Found"),
        408 => Mapped::new(408, "Request Timeout"),
        // No acceptable session: the content cannot be carried.
        415 | 488 | 606 => Mapped::new(415, "Unsupported Media Type"),
        // msrpgw holds no credentials for the session side.
        401 | 407 => Mapped::new(403, "Forbidden (session side requires authentication)"),
        // Redirects are not followed; any other failure means the user
        // cannot be reached now.
        _ => Mapped::new(480, "Temporarily Unavailable"),
    }
}

/// How an MSRP SEND ended, for the mapping to the pager side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsrpResult {
    /// The peer's response to the last chunk (or a local refusal such as
    /// 413 over its a=max-size).
    Status(u16),
    /// No response within the transaction timeout.
    Timeout,
    /// The connection or session was lost before the answer.
    SessionLost,
}

/// The answer to a pager user's MESSAGE from its SEND's outcome.
pub fn message_status_for_msrp(result: MsrpResult) -> Mapped {
    match result {
        MsrpResult::Status(200) => Mapped::new(200, "OK"),
        MsrpResult::Status(413) => Mapped::new(413, "Request Entity Too Large"),
        MsrpResult::Status(415) => Mapped::new(415, "Unsupported Media Type"),
        MsrpResult::Status(403) => Mapped::new(403, "Forbidden"),
        MsrpResult::Status(408) | MsrpResult::Timeout => Mapped::new(408, "Request Timeout"),
        MsrpResult::Status(481) | MsrpResult::SessionLost => {
            Mapped::new(480, "Temporarily Unavailable (session lost)")
        }
        // 400, 501, 506, 423 and unknown codes: the peer and msrpgw do not
        // understand each other.
        MsrpResult::Status(other) => Mapped::new(502, format!("Bad Gateway (MSRP {other})")),
    }
}

/// How a MESSAGE toward a pager user ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipResult<'a> {
    /// A final response.
    Status(u16, &'a str),
    /// Timer F: no final response.
    Timeout,
}

/// The MSRP response to a session user's SEND from its MESSAGE's outcome.
pub fn msrp_status_for_message(result: SipResult<'_>) -> Mapped {
    match result {
        SipResult::Status(200..=299, _) => Mapped::new(200, "OK"),
        SipResult::Status(413 | 513, _) => Mapped::new(413, "Message too large"),
        SipResult::Status(401 | 403 | 407, _) => Mapped::new(403, "Forbidden"),
        SipResult::Status(408, _) | SipResult::Timeout => Mapped::new(408, "Request Timeout"),
        SipResult::Status(415, _) => Mapped::new(415, "Unsupported Media Type"),
        SipResult::Status(status, reason) => Mapped::new(403, format!("SIP {status} {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_failures_as_design_section_5_says() {
        for code in [404, 480, 486, 600, 603] {
            assert_eq!(message_status_for_invite(code, "x").status, code);
        }
        for code in [488, 606] {
            assert_eq!(message_status_for_invite(code, "x").status, 415);
        }
        assert_eq!(message_status_for_invite(407, "x").status, 403);
        assert_eq!(message_status_for_invite(302, "x").status, 480);
        assert_eq!(message_status_for_invite(500, "x").status, 480);
        assert_eq!(message_status_for_invite(408, "x").status, 408);
    }

    #[test]
    fn msrp_outcomes_to_message() {
        use MsrpResult::*;
        assert_eq!(message_status_for_msrp(Status(200)).status, 200);
        for code in [413, 415, 403, 408] {
            assert_eq!(message_status_for_msrp(Status(code)).status, code);
        }
        assert_eq!(message_status_for_msrp(Status(481)).status, 480);
        assert_eq!(message_status_for_msrp(SessionLost).status, 480);
        assert_eq!(message_status_for_msrp(Timeout).status, 408);
        assert_eq!(message_status_for_msrp(Status(400)).status, 502);
    }

    #[test]
    fn message_outcomes_to_msrp() {
        use SipResult::*;
        assert_eq!(msrp_status_for_message(Status(202, "Accepted")).status, 200);
        assert_eq!(msrp_status_for_message(Status(513, "x")).status, 413);
        assert_eq!(msrp_status_for_message(Status(413, "x")).status, 413);
        for code in [401, 403, 407] {
            assert_eq!(msrp_status_for_message(Status(code, "x")).status, 403);
        }
        assert_eq!(msrp_status_for_message(Timeout).status, 408);
        let busy = msrp_status_for_message(Status(486, "Busy Here"));
        assert_eq!(
            (busy.status, busy.reason.as_str()),
            (403, "SIP 486 Busy Here")
        );
        // Every answer is an MSRP code RFC 4975 §10 defines.
        for code in 200..700 {
            let m = msrp_status_for_message(Status(code, "r"));
            assert!([200, 403, 408, 413, 415].contains(&m.status), "{code}");
        }
    }
}
