//! The security flags any socket takes: CURVE or PLAIN, as client or server, and who
//! a server admits.
//!
//! [`SecurityArgs`] is one set of flags (`--curve-server CERT`, ...) for a
//! subcommand with one socket. [`SideSecurityArgs`] is the same set twice, with
//! `--frontend-` and `--backend-` in front, for the proxy. Both are defined once
//! here, by [`FLAGS`], so their help reads the same.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use purezmq::auth::{ANY_DOMAIN, Authenticator, CurveKeys, PlainPasswords};
use purezmq::curve::{Certificate, KeyPair, PublicKey};
use purezmq::{Options, Security, Socket};

use super::Failure;

/// One socket's security flags, as given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecurityArgs {
    /// `--curve-server CERT`: a secret certificate file.
    pub curve_server: Option<PathBuf>,
    /// `--curve-client CERT`: a secret certificate file.
    pub curve_client: Option<PathBuf>,
    /// `--server-key KEY`: a Z85 public key or a certificate file.
    pub server_key: Option<String>,
    /// `--plain-client USER:PASSWORD`.
    pub plain_client: Option<String>,
    /// `--plain-server`.
    pub plain_server: bool,
    /// `--plain-passwords FILE`: `user=password` lines.
    pub plain_passwords: Option<PathBuf>,
    /// `--zap-allow DIR`: the public certificates of the admitted CURVE clients.
    pub zap_allow: Option<PathBuf>,
    /// `--allow-ip ADDRESS` (repeatable): the only peer addresses admitted.
    pub allow_ip: Vec<IpAddr>,
}

#[derive(Clone, Copy)]
enum Kind {
    Path,
    Text,
    Switch,
    Address,
}

/// One flag: its long name (without the side prefix), value name, kind and help.
struct Flag {
    name: &'static str,
    value: &'static str,
    kind: Kind,
    help: &'static str,
}

/// The flags, in the order `--help` lists them.
const FLAGS: [Flag; 8] = [
    Flag {
        name: "curve-server",
        value: "CERT",
        kind: Kind::Path,
        help: "Be a CURVE server with the keys of this secret certificate (NAME.key_secret, as `purezmq keygen --cert` or pyzmq's create_certificates write it)",
    },
    Flag {
        name: "curve-client",
        value: "CERT",
        kind: Kind::Path,
        help: "Be a CURVE client with the keys of this secret certificate; needs --server-key",
    },
    Flag {
        name: "server-key",
        value: "KEY",
        kind: Kind::Text,
        help: "The CURVE server's public key: 40 Z85 characters, or a certificate file holding it",
    },
    Flag {
        name: "plain-client",
        value: "USER:PASSWORD",
        kind: Kind::Text,
        help: "Log in with PLAIN as USER (split at the first colon; PLAIN sends it in clear text)",
    },
    Flag {
        name: "plain-server",
        value: "",
        kind: Kind::Switch,
        help: "Be a PLAIN server; admits any user unless --plain-passwords is given",
    },
    Flag {
        name: "plain-passwords",
        value: "FILE",
        kind: Kind::Path,
        help: "With --plain-server: admit only the users of this file of `user=password` lines",
    },
    Flag {
        name: "zap-allow",
        value: "DIR",
        kind: Kind::Path,
        help: "With --curve-server: admit only clients whose public certificate (*.key) is in DIR",
    },
    Flag {
        name: "allow-ip",
        value: "ADDRESS",
        kind: Kind::Address,
        help: "Admit peers from this IP address only (repeatable); other addresses are refused",
    },
];

/// The flag `name` with `prefix` in front, as a `'static` string for clap's ids and
/// long names: built once per prefixed flag when the command is built.
fn prefixed(prefix: &str, name: &'static str) -> &'static str {
    if prefix.is_empty() {
        name
    } else {
        String::leak(format!("{prefix}{name}"))
    }
}

/// `help` with the flags it names given `prefix` too (`--server-key` becomes
/// `--backend-server-key`).
fn help_for(prefix: &str, help: &'static str) -> &'static str {
    if prefix.is_empty() {
        return help;
    }
    let mut text = help.to_string();
    for flag in &FLAGS {
        text = text.replace(
            &format!("--{}", flag.name),
            &format!("--{prefix}{}", flag.name),
        );
    }
    String::leak(text)
}

fn augment(mut command: Command, prefix: &str, heading: &'static str) -> Command {
    for flag in &FLAGS {
        let id = prefixed(prefix, flag.name);
        let arg = Arg::new(id)
            .long(id)
            .help(help_for(prefix, flag.help))
            .help_heading(heading);
        let arg = match flag.kind {
            Kind::Switch => arg.action(ArgAction::SetTrue),
            Kind::Path => arg
                .value_name(flag.value)
                .value_parser(clap::value_parser!(PathBuf)),
            // A Z85 key may begin with `-` (one in 85 does), and so may a user name.
            Kind::Text => arg.value_name(flag.value).allow_hyphen_values(true),
            Kind::Address => arg
                .value_name(flag.value)
                .action(ArgAction::Append)
                .value_parser(clap::value_parser!(IpAddr)),
        };
        command = command.arg(arg);
    }
    command
}

fn read(matches: &ArgMatches, prefix: &str) -> SecurityArgs {
    let id = |name: &str| format!("{prefix}{name}");
    let path = |name| matches.get_one::<PathBuf>(&id(name)).cloned();
    let text = |name| matches.get_one::<String>(&id(name)).cloned();
    SecurityArgs {
        curve_server: path("curve-server"),
        curve_client: path("curve-client"),
        server_key: text("server-key"),
        plain_client: text("plain-client"),
        plain_server: matches.get_flag(&id("plain-server")),
        plain_passwords: path("plain-passwords"),
        zap_allow: path("zap-allow"),
        allow_ip: matches
            .get_many::<IpAddr>(&id("allow-ip"))
            .map(|addresses| addresses.copied().collect())
            .unwrap_or_default(),
    }
}

impl FromArgMatches for SecurityArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(read(matches, ""))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = read(matches, "");
        Ok(())
    }
}

impl Args for SecurityArgs {
    fn augment_args(command: Command) -> Command {
        augment(command, "", "Security")
    }

    fn augment_args_for_update(command: Command) -> Command {
        augment(command, "", "Security")
    }
}

/// The security flags of the proxy's two sides: `--frontend-curve-server CERT`,
/// `--backend-server-key KEY`, ...
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SideSecurityArgs {
    /// The `--frontend-*` flags.
    pub frontend: SecurityArgs,
    /// The `--backend-*` flags.
    pub backend: SecurityArgs,
}

impl FromArgMatches for SideSecurityArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(SideSecurityArgs {
            frontend: read(matches, "frontend-"),
            backend: read(matches, "backend-"),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = SideSecurityArgs::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for SideSecurityArgs {
    fn augment_args(command: Command) -> Command {
        let command = augment(command, "frontend-", "Frontend security");
        augment(command, "backend-", "Backend security")
    }

    fn augment_args_for_update(command: Command) -> Command {
        SideSecurityArgs::augment_args(command)
    }
}

/// What the flags ask for: the mechanism for [`Options::security`], and a ZAP
/// handler when a server admits only some peers.
#[derive(Debug)]
pub struct Secured {
    /// The mechanism.
    pub security: Security,
    /// The ZAP handler to give the socket before its first bind or connect.
    pub authenticator: Option<Authenticator>,
}

impl Secured {
    /// Puts the mechanism into `options`.
    pub fn apply(&self, options: &mut Options) {
        options.security = self.security.clone();
    }

    /// Gives the socket its ZAP handler, if any. Call before binding.
    pub fn install(&self, socket: &Socket) {
        if let Some(authenticator) = &self.authenticator {
            socket.set_zap_handler(authenticator.clone());
        }
    }
}

impl SecurityArgs {
    /// Checks that the flags go together and loads the certificates and key files.
    /// `prefix` is the flags' prefix (`""`, `"frontend-"`...), for the messages.
    pub fn configure(&self, prefix: &str) -> Result<Secured, Failure> {
        let flag = |name: &str| format!("--{prefix}{name}");
        let mechanisms: Vec<String> = [
            (self.curve_server.is_some(), "curve-server"),
            (self.curve_client.is_some(), "curve-client"),
            (self.plain_client.is_some(), "plain-client"),
            (self.plain_server, "plain-server"),
        ]
        .into_iter()
        .filter(|(given, _)| *given)
        .map(|(_, name)| flag(name))
        .collect();
        if mechanisms.len() > 1 {
            return Err(Failure::Usage(format!(
                "{} cannot go together: a socket has one mechanism; keep one of them",
                mechanisms.join(" and ")
            )));
        }
        let needs = |given: bool, name: &str, other: &str| {
            if given {
                Err(Failure::Usage(format!(
                    "{} needs {}; add it or drop {}",
                    flag(name),
                    flag(other),
                    flag(name)
                )))
            } else {
                Ok(())
            }
        };
        needs(
            self.server_key.is_some() && self.curve_client.is_none(),
            "server-key",
            "curve-client",
        )?;
        needs(
            self.plain_passwords.is_some() && !self.plain_server,
            "plain-passwords",
            "plain-server",
        )?;
        needs(
            self.zap_allow.is_some() && self.curve_server.is_none(),
            "zap-allow",
            "curve-server",
        )?;

        let mut authenticator = None::<Authenticator>;
        let security = if let Some(path) = &self.curve_server {
            let keypair = load_keypair(path, &flag("curve-server"))?;
            if let Some(dir) = &self.zap_allow {
                let keys = CurveKeys::from_directory(dir).map_err(Failure::runtime)?;
                authenticator
                    .get_or_insert_with(Authenticator::new)
                    .configure_curve(ANY_DOMAIN, keys);
            }
            Security::CurveServer { keypair }
        } else if let Some(path) = &self.curve_client {
            let Some(server_key) = &self.server_key else {
                return Err(Failure::Usage(format!(
                    "{} needs {} (the server's public key, or its public certificate file)",
                    flag("curve-client"),
                    flag("server-key")
                )));
            };
            Security::CurveClient {
                keypair: load_keypair(path, &flag("curve-client"))?,
                server_key: load_public_key(server_key, &flag("server-key"))?,
            }
        } else if let Some(credentials) = &self.plain_client {
            let Some((username, password)) = credentials.split_once(':') else {
                return Err(Failure::Usage(format!(
                    "{} takes USER:PASSWORD; add a colon between user name and password",
                    flag("plain-client")
                )));
            };
            Security::PlainClient {
                username: username.to_string().into(),
                password: password.to_string().into(),
            }
        } else if self.plain_server {
            if let Some(path) = &self.plain_passwords {
                let passwords = PlainPasswords::load(path).map_err(Failure::runtime)?;
                authenticator
                    .get_or_insert_with(Authenticator::new)
                    .configure_plain(ANY_DOMAIN, passwords);
            }
            Security::PlainServer
        } else {
            Security::Null
        };
        if !self.allow_ip.is_empty() {
            let authenticator = authenticator.get_or_insert_with(Authenticator::new);
            for address in &self.allow_ip {
                authenticator.allow(*address);
            }
            if matches!(security, Security::PlainServer) && self.plain_passwords.is_none() {
                return Err(Failure::Usage(format!(
                    "{} with {} needs {} (a ZAP handler checks PLAIN passwords)",
                    flag("allow-ip"),
                    flag("plain-server"),
                    flag("plain-passwords")
                )));
            }
        }
        Ok(Secured {
            security,
            authenticator,
        })
    }
}

fn load_keypair(path: &Path, flag: &str) -> Result<KeyPair, Failure> {
    let certificate = Certificate::load(path).map_err(Failure::runtime)?;
    certificate.key_pair().ok_or_else(|| {
        Failure::Usage(format!(
            "{flag} {}: the certificate has no secret key; give the NAME.key_secret file",
            path.display()
        ))
    })
}

/// A Z85 public key, or the public key of a certificate file.
pub fn load_public_key(text: &str, flag: &str) -> Result<PublicKey, Failure> {
    if text.len() == 40
        && let Ok(key) = PublicKey::from_z85(text)
    {
        return Ok(key);
    }
    let path = Path::new(text);
    if path.exists() {
        return Certificate::load(path)
            .map(|certificate| *certificate.public_key())
            .map_err(Failure::runtime);
    }
    Err(Failure::Usage(format!(
        "{flag} {text:?} is neither a 40-character Z85 public key nor a certificate file"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct One {
        #[command(flatten)]
        security: SecurityArgs,
    }

    #[derive(Parser, Debug)]
    struct Two {
        #[command(flatten)]
        security: SideSecurityArgs,
    }

    #[test]
    fn flags_parse_without_and_with_a_side_prefix() {
        let one =
            One::try_parse_from(["x", "--plain-client", "a:b", "--allow-ip", "127.0.0.1"]).unwrap();
        assert_eq!(one.security.plain_client.as_deref(), Some("a:b"));
        assert_eq!(one.security.allow_ip, [IpAddr::from([127, 0, 0, 1])]);
        let two = Two::try_parse_from([
            "x",
            "--frontend-plain-server",
            "--backend-server-key",
            "KEY",
        ])
        .unwrap();
        assert!(two.security.frontend.plain_server);
        assert_eq!(two.security.backend.server_key.as_deref(), Some("KEY"));
        assert_eq!(two.security.frontend.server_key, None);
    }

    #[test]
    fn a_key_or_user_may_begin_with_a_hyphen() {
        // Z85's alphabet has `-`: one public key in 85 begins with it.
        let key = "-?}N=>R-M.6UDwiu228KG%k.jyPRD2F{YY])KPb^";
        let one =
            One::try_parse_from(["x", "--server-key", key, "--plain-client", "-u:p"]).unwrap();
        assert_eq!(one.security.server_key.as_deref(), Some(key));
        assert_eq!(one.security.plain_client.as_deref(), Some("-u:p"));
        let two = Two::try_parse_from(["x", "--backend-server-key", key]).unwrap();
        assert_eq!(two.security.backend.server_key.as_deref(), Some(key));
    }

    #[test]
    fn mechanisms_exclude_each_other() {
        let args = SecurityArgs {
            plain_server: true,
            plain_client: Some("a:b".into()),
            ..SecurityArgs::default()
        };
        let message = args.configure("backend-").unwrap_err().to_string();
        assert_eq!(
            message,
            "--backend-plain-client and --backend-plain-server cannot go together: a socket \
             has one mechanism; keep one of them"
        );
    }

    #[test]
    fn dependent_flags_name_what_they_need() {
        let args = SecurityArgs {
            server_key: Some("x".into()),
            ..SecurityArgs::default()
        };
        assert_eq!(
            args.configure("").unwrap_err().to_string(),
            "--server-key needs --curve-client; add it or drop --server-key"
        );
        let args = SecurityArgs {
            plain_client: Some("nocolon".into()),
            ..SecurityArgs::default()
        };
        assert!(matches!(args.configure(""), Err(Failure::Usage(_))));
    }

    #[test]
    fn curve_flags_load_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let server = Certificate::new(KeyPair::generate());
        let (public, secret) = server.save(dir.path(), "server").unwrap();
        let secret = secret.unwrap();
        let client = Certificate::new(KeyPair::generate());
        let (_, client_secret) = client.save(dir.path(), "client").unwrap();

        let args = SecurityArgs {
            curve_server: Some(secret.clone()),
            zap_allow: Some(dir.path().to_path_buf()),
            ..SecurityArgs::default()
        };
        let secured = args.configure("").unwrap();
        assert!(matches!(secured.security, Security::CurveServer { .. }));
        assert!(secured.authenticator.is_some());

        for server_key in [server.public_key().to_z85(), public.display().to_string()] {
            let args = SecurityArgs {
                curve_client: client_secret.clone(),
                server_key: Some(server_key),
                ..SecurityArgs::default()
            };
            let Security::CurveClient { server_key, .. } = args.configure("").unwrap().security
            else {
                panic!("not a CURVE client");
            };
            assert_eq!(&server_key, server.public_key());
        }

        let public_only = SecurityArgs {
            curve_server: Some(public),
            ..SecurityArgs::default()
        };
        assert!(
            public_only
                .configure("")
                .unwrap_err()
                .to_string()
                .contains("has no secret key")
        );
    }
}
