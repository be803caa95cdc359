//! The security mechanism an engine's handshake runs, chosen from the socket's options.

use purezmq_curve::{CurveClient, CurveServer};
use purezmq_zmtp::Mechanism;
use purezmq_zmtp::mechanism::{Null, PlainClient, PlainServer};

use super::Host;
use crate::options::{Options, Security};

/// The mechanism the options ask for. A server asks for authentication when there is
/// a ZAP handler: always for PLAIN and CURVE, and for NULL only with a ZAP domain, as
/// libzmq. CURVE servers seal their cookies under the socket's shared `cookie_keys`.
pub(super) fn mechanism(options: &Options, zap: bool, host: &impl Host) -> Box<dyn Mechanism> {
    match &options.security {
        Security::Null if zap && !options.zap_domain.is_empty() => {
            Box::new(Null::with_authentication())
        }
        Security::Null => Box::new(Null::new()),
        Security::PlainClient { username, password } => {
            Box::new(PlainClient::new(username.clone(), password.clone()))
        }
        Security::PlainServer if zap => Box::new(PlainServer::with_authentication()),
        Security::PlainServer => Box::new(PlainServer::new()),
        Security::CurveClient {
            keypair,
            server_key,
        } => Box::new(CurveClient::new(keypair.clone(), *server_key)),
        Security::CurveServer { keypair } => Box::new(
            CurveServer::new(keypair.clone())
                .authenticating(zap)
                .with_cookie_keys(host.cookie_keys()),
        ),
    }
}
