//! Who opens the MSRP connection: `a=setup` negotiation (RFC 6135, using
//! RFC 4145's attribute) and the RFC 4975 §5.4 default without it.
//!
//! Owns: the choice of [`Role`] for both sides of an offer/answer and the
//! `a=setup` value msrpgw writes.
//!
//! Must not: read or build SDP beyond the one attribute (that is
//! [`crate::proto::sdp`]), or open connections.

use std::fmt;

use crate::proto::sdp::Setup;

/// This side's part in opening the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Connects, and sends the first SEND at once (an empty one when
    /// nothing is queued) so the peer can bind the connection (RFC 4975
    /// §5.4, RFC 6135 §4).
    Active,
    /// Waits for the peer's connection and its first SEND.
    Passive,
}

impl Role {
    /// The `a=setup` value that announces this role in an answer.
    pub const fn as_setup(self) -> Setup {
        match self {
            Role::Active => Setup::Active,
            Role::Passive => Setup::Passive,
        }
    }
}

/// An `a=setup` combination that leaves no one to connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupError {
    /// The answer to msrpgw's `actpass` was `actpass` (RFC 4145 §4.1: an
    /// answer must choose).
    AnswerDidNotChoose,
    /// `holdconn`: the peer does not want a connection now.
    HoldConn,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SetupError::AnswerDidNotChoose => "a=setup:actpass in an answer (it must choose)",
            SetupError::HoldConn => "a=setup:holdconn: no connection wanted",
        })
    }
}

/// What msrpgw offers: `actpass` (RFC 6135 §4.1: the offerer lets the
/// answerer choose).
pub const OFFER: Setup = Setup::ActPass;

/// msrpgw offered [`OFFER`]; the answer's `a=setup` (if any) decides.
/// Without the attribute the peer follows RFC 4975 §5.4: the offerer
/// connects.
pub fn role_as_offerer(answer: Option<Setup>) -> Result<Role, SetupError> {
    match answer {
        None | Some(Setup::Passive) => Ok(Role::Active),
        Some(Setup::Active) => Ok(Role::Passive),
        Some(Setup::ActPass) => Err(SetupError::AnswerDidNotChoose),
        Some(Setup::HoldConn) => Err(SetupError::HoldConn),
    }
}

/// msrpgw answers an offer with `offer`'s `a=setup` (if any): the role the
/// offer leaves, and the attribute to put in the answer (`None` when the
/// offer had none: an RFC 4975-only peer expects none back and connects
/// itself). For `actpass`, `prefer` decides (msrpgw prefers passive: the
/// offerer connects, as RFC 4975 §5.4 has it, which peers without RFC 6135
/// also expect).
pub fn role_as_answerer(
    offer: Option<Setup>,
    prefer: Role,
) -> Result<(Role, Option<Setup>), SetupError> {
    let role = match offer {
        None => return Ok((Role::Passive, None)),
        Some(Setup::Active) => Role::Passive,
        Some(Setup::Passive) => Role::Active,
        Some(Setup::ActPass) => prefer,
        Some(Setup::HoldConn) => return Err(SetupError::HoldConn),
    };
    Ok((role, Some(role.as_setup())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offerer_follows_the_answer() {
        assert_eq!(role_as_offerer(None), Ok(Role::Active));
        assert_eq!(role_as_offerer(Some(Setup::Passive)), Ok(Role::Active));
        assert_eq!(role_as_offerer(Some(Setup::Active)), Ok(Role::Passive));
        assert_eq!(
            role_as_offerer(Some(Setup::ActPass)),
            Err(SetupError::AnswerDidNotChoose)
        );
        assert_eq!(
            role_as_offerer(Some(Setup::HoldConn)),
            Err(SetupError::HoldConn)
        );
        assert_eq!(OFFER, Setup::ActPass);
    }

    #[test]
    fn answerer_takes_the_role_left() {
        assert_eq!(
            role_as_answerer(None, Role::Active),
            Ok((Role::Passive, None))
        );
        assert_eq!(
            role_as_answerer(Some(Setup::Active), Role::Active),
            Ok((Role::Passive, Some(Setup::Passive)))
        );
        assert_eq!(
            role_as_answerer(Some(Setup::Passive), Role::Passive),
            Ok((Role::Active, Some(Setup::Active)))
        );
        assert_eq!(
            role_as_answerer(Some(Setup::ActPass), Role::Passive),
            Ok((Role::Passive, Some(Setup::Passive)))
        );
        assert_eq!(
            role_as_answerer(Some(Setup::ActPass), Role::Active),
            Ok((Role::Active, Some(Setup::Active)))
        );
        assert_eq!(
            role_as_answerer(Some(Setup::HoldConn), Role::Passive),
            Err(SetupError::HoldConn)
        );
    }
}
