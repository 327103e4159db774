//! The command line, and the addresses in it: what is a usage error (exit 2) is decided here.

use crate::codec::Wire;
use clap::{CommandFactory, Parser, error::ErrorKind};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// What `--help` says after the options: what to expect, and the exit codes.
const AFTER_HELP: &str = "\
Each line typed (or read from a pipe) goes to every peer, in datagrams of at most 1024 bytes cut
between characters, so the notes' Python chat (recvfrom(1024), decode('gbk')) reads all of it;
a character the encoding lacks is sent as '?', and chat says so. Each arrival is printed as
  [HH:MM:SS] ADDRESS: TEXT
with '(not valid GBK: N bytes shown as \u{FFFD})' after a message that was not valid in the
encoding, and control characters escaped. Arrivals go to stdout; the address chat listens on,
its notes and the summary line go to stderr. An empty line sends nothing.

In a terminal: history with the arrow keys; /quit or Ctrl-D leaves, Ctrl-C too.
With stdin piped: sends each line; at end of input keeps printing arrivals for --linger seconds.

Exit codes:
  0    you left (/quit, Ctrl-D, or end of input and --linger)
  1    a runtime failure: the address cannot be bound (in use, not local), a send failed
  2    usage error: malformed option or address
  130  interrupted (Ctrl-C)";

/// Two-way UDP chat, the notes' 多线程聊天器 as a tool: talks to the notes' Python chat.
#[derive(Parser)]
#[command(name = "chat", version, after_help = AFTER_HELP)]
pub(crate) struct Args {
    /// The local address to receive on, e.g. 127.0.0.1:30001 or [::1]:30001 (port 0: any
    /// free port)
    #[arg(long, value_name = "ADDR")]
    pub(crate) bind: SocketAddr,
    /// A peer's address (repeat for several); without it, chat asks for ip and port like the
    /// notes
    #[arg(long = "peer", value_name = "ADDR", value_parser = parse_peer)]
    pub(crate) peers: Vec<SocketAddr>,
    /// The text encoding on the wire
    #[arg(long, value_enum, default_value_t = Wire::Gbk)]
    pub(crate) encoding: Wire,
    /// With stdin piped: seconds to keep printing arrivals after the end of input
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = parse_linger)]
    pub(crate) linger: Duration,
}

impl Args {
    /// Parses the command line; a peer that `--bind`'s socket cannot reach is a usage error.
    pub(crate) fn parse_checked() -> Args {
        let mut args = Args::parse();
        match args
            .peers
            .iter()
            .map(|&p| reachable(args.bind, p))
            .collect()
        {
            Ok(peers) => args.peers = peers,
            Err(message) => usage_error(&message),
        }
        args
    }
}

/// Exits with clap's usage-error format and status 2.
pub(crate) fn usage_error(message: &str) -> ! {
    Args::command()
        .error(ErrorKind::ValueValidation, message)
        .exit()
}

fn parse_peer(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text.parse().map_err(|_| {
        format!("not an address: {text:?} (IP:PORT, e.g. 127.0.0.1:30001 or [::1]:30001)")
    })?;
    if addr.port() == 0 {
        return Err(format!("cannot send to port 0: {addr}"));
    }
    Ok(addr)
}

fn parse_linger(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(seconds) if (0.0..=3600.0).contains(&seconds) => Ok(Duration::from_secs_f64(seconds)),
        _ => Err(format!("not a number of seconds from 0 to 3600: {text:?}")),
    }
}

/// The notes' two questions, `输入ip:` and `输入port:`, answered: the peer, or why not.
pub(crate) fn peer_from_answers(
    bind: SocketAddr,
    ip: &str,
    port: &str,
) -> Result<SocketAddr, String> {
    let ip: IpAddr = ip
        .trim()
        .parse()
        .map_err(|_| format!("not an IP address: {:?}", ip.trim()))?;
    let port = match port.trim().parse::<u16>() {
        Ok(port) if port != 0 => port,
        _ => {
            return Err(format!(
                "not a port number from 1 to 65535: {:?}",
                port.trim()
            ));
        }
    };
    reachable(bind, SocketAddr::new(ip, port))
}

/// The address to send to `peer` from a socket bound to `bind`: an IPv4 peer is reached from
/// an IPv6 wildcard socket (`[::]`) through its IPv4-mapped address; any other mix of
/// families cannot work.
fn reachable(bind: SocketAddr, peer: SocketAddr) -> Result<SocketAddr, String> {
    match (bind.ip(), peer.ip()) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => Ok(peer),
        (IpAddr::V6(local), IpAddr::V4(ip)) if local.is_unspecified() => {
            Ok(SocketAddr::new(ip.to_ipv6_mapped().into(), peer.port()))
        }
        _ => Err(format!(
            "peer {peer} and --bind {bind} are of different IP versions (bind [::] to reach both)"
        )),
    }
}
