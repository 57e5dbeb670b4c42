//! Why the layer refused an input.
//!
//! Owns: [`TransactionError`], a `Copy` kind with a static description, the
//! same shape as the codec's error kinds so refusing costs nothing.
//!
//! Must not: carry message text (callers log the message they already have).

use std::fmt;

/// What was wrong with a call into the transaction layer, or with a
/// received message the layer could not key to a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionError {
    /// No Via, or the top Via does not parse.
    BadVia,
    /// The top Via has no `branch` parameter.
    MissingBranch,
    /// The branch does not start with the RFC 3261 magic cookie `z9hG4bK`
    /// (msrpgw's own requests must carry one, §8.1.1.7).
    BranchWithoutCookie,
    /// CSeq missing or malformed.
    BadCSeq,
    /// The CSeq method is not the request's method (§8.1.1.5).
    CSeqMethodMismatch,
    /// Call-ID missing or malformed.
    BadCallId,
    /// From missing or malformed.
    BadFrom,
    /// To missing or malformed.
    BadTo,
    /// ACK creates no transaction (§17.1.1.3): send an ACK for a 2xx with
    /// `send_stateless`; the layer sends the ACK for other finals itself.
    AckIsNotATransaction,
    /// CANCEL is built by the layer (`cancel`), not sent by the user layer.
    CancelIsBuiltByLayer,
    /// A live client transaction already uses this branch and method.
    DuplicateBranch,
    /// `max_transactions` live transactions exist already.
    Overloaded,
    /// No live transaction with that id (never existed, or terminated).
    UnknownTransaction,
    /// The server transaction has already sent its final response.
    FinalAlreadySent,
    /// The client transaction has already received its final response:
    /// too late to CANCEL (§9.1).
    FinalAlreadyReceived,
    /// Only INVITE transactions can be CANCELled (§9.1).
    NotInvite,
    /// A response status outside 100..=699.
    BadStatus,
}

impl TransactionError {
    pub const fn description(self) -> &'static str {
        use TransactionError::*;
        match self {
            BadVia => "missing or malformed top Via",
            MissingBranch => "top Via has no branch parameter",
            BranchWithoutCookie => "branch does not start with z9hG4bK",
            BadCSeq => "missing or malformed CSeq",
            CSeqMethodMismatch => "CSeq method differs from request method",
            BadCallId => "missing or malformed Call-ID",
            BadFrom => "missing or malformed From",
            BadTo => "missing or malformed To",
            AckIsNotATransaction => "ACK is sent without a transaction",
            CancelIsBuiltByLayer => "CANCEL is sent with cancel(), not send_request()",
            DuplicateBranch => "branch already used by a live client transaction",
            Overloaded => "too many live transactions",
            UnknownTransaction => "no such live transaction",
            FinalAlreadySent => "final response already sent",
            FinalAlreadyReceived => "final response already received",
            NotInvite => "only INVITE can be cancelled",
            BadStatus => "status code not in 100..699",
        }
    }
}

impl fmt::Display for TransactionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for TransactionError {}
