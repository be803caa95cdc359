//! The eleven ZeroMQ socket types and which of them may talk to each other (RFC 23).

use core::fmt;

/// A ZeroMQ socket type, as announced in the `Socket-Type` metadata property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketType {
    /// Exclusive pair.
    Pair,
    /// Publisher.
    Pub,
    /// Subscriber.
    Sub,
    /// Requester with strict send/receive alternation.
    Req,
    /// Replier with strict receive/send alternation.
    Rep,
    /// Asynchronous requester.
    Dealer,
    /// Asynchronous replier that routes by routing id.
    Router,
    /// Pipeline receiver.
    Pull,
    /// Pipeline sender.
    Push,
    /// Publisher that sees subscriptions.
    XPub,
    /// Subscriber that sends subscriptions as messages.
    XSub,
}

impl SocketType {
    /// Every socket type, in libzmq's numbering order.
    pub const ALL: [SocketType; 11] = [
        SocketType::Pair,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pull,
        SocketType::Push,
        SocketType::XPub,
        SocketType::XSub,
    ];

    /// The name used on the wire, e.g. `"DEALER"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
        }
    }

    /// Parses a wire name. Like libzmq, the match is exact: `"dealer"` is not a socket
    /// type.
    pub fn from_wire(name: &[u8]) -> Option<SocketType> {
        SocketType::ALL
            .into_iter()
            .find(|ty| ty.as_str().as_bytes() == name)
    }

    /// The socket types a socket of this type accepts as peers (RFC 23).
    pub const fn peers(self) -> &'static [SocketType] {
        use SocketType::*;
        match self {
            Pair => &[Pair],
            Pub | XPub => &[Sub, XSub],
            Sub | XSub => &[Pub, XPub],
            Req => &[Rep, Router],
            Rep => &[Req, Dealer],
            Dealer => &[Rep, Dealer, Router],
            Router => &[Req, Dealer, Router],
            Pull => &[Push],
            Push => &[Pull],
        }
    }

    /// Whether a socket of this type accepts a peer announcing `peer` (exact wire name).
    pub fn accepts(self, peer: &[u8]) -> bool {
        self.peers().iter().any(|ty| ty.as_str().as_bytes() == peer)
    }

    /// Whether this socket type announces its routing id in the `Identity` property.
    /// libzmq does so for REQ, DEALER and ROUTER only.
    pub const fn announces_identity(self) -> bool {
        matches!(
            self,
            SocketType::Req | SocketType::Dealer | SocketType::Router
        )
    }

    /// Whether peers of this socket send it subscriptions (PUB and XPUB).
    pub const fn receives_subscriptions(self) -> bool {
        matches!(self, SocketType::Pub | SocketType::XPub)
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_is_symmetric() {
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(
                    a.accepts(b.as_str().as_bytes()),
                    b.accepts(a.as_str().as_bytes()),
                    "{a} and {b}"
                );
            }
        }
    }

    #[test]
    fn wire_names_round_trip_and_match_exactly() {
        for ty in SocketType::ALL {
            assert_eq!(SocketType::from_wire(ty.as_str().as_bytes()), Some(ty));
        }
        assert_eq!(SocketType::from_wire(b"dealer"), None);
        assert_eq!(SocketType::from_wire(b"CLIENT"), None);
    }

    #[test]
    fn rfc23_pairs() {
        assert!(SocketType::Req.accepts(b"ROUTER"));
        assert!(!SocketType::Req.accepts(b"REQ"));
        assert!(SocketType::XPub.accepts(b"SUB"));
        assert!(!SocketType::Push.accepts(b"PUSH"));
        assert!(!SocketType::Pair.accepts(b"pair"));
    }
}
