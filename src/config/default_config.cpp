// config/default_config.cpp: see default_config.hpp.
#include "config/default_config.hpp"

namespace sluice::config {
namespace {

constexpr std::string_view kDefault = R"toml(# sluice.toml: the configuration of sluiced, the sluice mail server.
# Check it with `sluice config check FILE` after every edit: every mistake is reported with its
# line and column. Relative paths are relative to the directory sluiced runs in.
#
# Units. Durations need a unit: "30s", "5m", "2h", "1d".
#        Sizes are bytes or binary units: "512", "64KB", "35MB", "1GB" (1 KB = 1024 bytes).

[server]
# The name this server gives itself: in the 220 greeting, in its EHLO when it delivers
# onward, and in the Received header it adds. Use the name the server's IP address
# resolves back to (PTR). Left out, it is the machine's host name.
hostname = "localhost"
# Where the spool, the logs and other state live.
data_dir = "var"
# Event loops (threads) serving connections; 0 = one per CPU core.
threads = 0
# Users managed with `sluice user add|passwd|del|list` (address and password hash).
# Left out, <data_dir>/users is read if it exists; written here, the file must exist.
# users_file = "var/users"

# Accepted domains: mail for these domains is delivered here, to the users below.
# Mail for any other domain is relayed onward, but only for clients allowed to relay.
[[accepted_domain]]
name = "localhost"

[[accepted_domain]]
name = "example.test"

[local_delivery]
# Mailboxes are Maildirs at <maildir_root>/<domain>/<localpart>/{tmp,new,cur}.
maildir_root = "var/mail"
# Aliases in the /etc/aliases format ("postmaster: alice@example.test"). Left out, the file
# var/aliases is read if it exists; written here, the file must exist.
# aliases = "var/aliases"

# Local mailboxes: one [[user]] each; the domain must be an accepted domain.
# A user who logs in (AUTH) to send mail needs a password_hash (Argon2id), e.g.
#   password_hash = "$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>"
# or an entry in the users file, set with `sluice user passwd ADDRESS`.
[[user]]
address = "postmaster@localhost"

[[user]]
address = "alice@example.test"

[[user]]
address = "bob@example.test"

# Receive connectors: where and from whom sluiced accepts mail, and the limits that apply.
# Several connectors may listen on the same address: a client is served by the one whose
# remote_ip_ranges match its address most specifically.

# Mail from the internet: anyone may connect, but only for the accepted domains above.
[[receive_connector]]
name = "internet"
# "ip:port" or "[ipv6]:port"; "0.0.0.0:25" listens on every IPv4 address. Port 0 lets the
# system choose a free port (sluiced reports it).
listen = ["127.0.0.1:2525"]
# internet: anonymous senders, recipients in accepted domains only.
# relay:    clients in remote_ip_ranges may send anywhere without logging in.
# client:   users who log in (submission, ports 587/465).
# custom:   no preset.
usage = "internet"
# Which clients this connector serves: CIDR ("10.0.0.0/8", "2001:db8::/32"), a single
# address, or a range "a-b". Left out: every client.
# remote_ip_ranges = ["0.0.0.0/0", "::/0"]
# Largest message accepted (announced with the SIZE extension).
max_message_size = "35MB"
# Recipients per message; more are refused with 452 and the client sends them again later.
max_recipients = 200
# Text after "220 <hostname> " in the greeting.
banner = "ESMTP sluice"
# Protocol errors (bad commands, wrong order) before sluiced says 421 and hangs up.
max_errors = 5
# Simultaneous connections on this connector, and from one client address.
max_connections = 5000
max_connections_per_ip = 20
# Received headers a message may carry before it is refused as a mail loop.
max_hop_count = 30
# How long to wait for the client's next command, and for each piece of message data
# (RFC 5321 section 4.5.3.2 asks for at least 5 minutes between commands).
command_timeout = "5m"
data_timeout = "3m"
# Log every SMTP line of this connector to the protocol log (var/log/protocol).
protocol_log = true
# TLS: offer STARTTLS with this certificate chain and key (PEM files). For several
# certificates chosen by the name the client asks for (SNI), give a list; the first is
# the default: tls = [{ certificate = "a.pem", key = "a.key" }, { certificate = ... }]
# `sluiced --write-default-config` (run by `make run`) made a self-signed certificate for
# the hostname here; replace it with your own.
tls = { certificate = "var/tls/selfsigned.crt", key = "var/tls/selfsigned.key" }
# TLS from the first byte instead of STARTTLS (port 465), and the lowest TLS version.
# implicit_tls = false
# tls_min_version = "1.2"
# Refuse mail from clients that have not started TLS.
# require_tls = false
# Offer AUTH before TLS (passwords in the clear; only for trusted networks).
# allow_plaintext_auth = false
# Logged-in users may only send as their own addresses (default: true on client connectors).
# sender_login_match = false
# After this many failed logins from one address within the window, the client is
# refused (421) for the tarpit time.
# max_logon_failures = 3
# logon_failure_window = "5m"
# tarpit = "5m"

# Applications on this machine (web apps, cron, monitoring) that send mail anywhere
# without logging in.
[[receive_connector]]
name = "apps"
listen = ["127.0.0.1:2526"]
usage = "relay"
remote_ip_ranges = ["127.0.0.0/8"]
max_message_size = "35MB"
protocol_log = true

# Submission for users and applications that log in (port 587 in production): STARTTLS,
# then AUTH with a user from the users file (`sluice user add alice@example.test`);
# authenticated users may send anywhere, as their own addresses.
[[receive_connector]]
name = "submission"
listen = ["127.0.0.1:2587"]
usage = "client"
tls = { certificate = "var/tls/selfsigned.crt", key = "var/tls/selfsigned.key" }
protocol_log = true

# ---- Inbound protection (all off until written) ----
# DNS blocklists (RFC 5782). A listed client gets "554 5.7.1 Service unavailable; client
# [ip] blocked using <zone>: <the zone's TXT text>". Queried at connect (the greeting waits
# for the answers); a list that does not answer lets the client through.
# [[dnsbl]]
# zone = "zen.spamhaus.org"
# type = "block"                  # or "allow": a DNSWL, whose listed clients skip the checks
# codes = { "127.0.0.2" = "spam source", "127.0.0.4" = "exploited host" }
# only_codes = false              # true: answers not in codes do not list
# action = "connect"              # connect (refuse the connection), rcpt (refuse recipients,
#                                 # postmaster still reachable) or record (X-Sluice-DNSBL field)
# connectors = []                 # left empty: every connector with usage "internet"
# actions = { "internet" = "rcpt" }           # per-connector override of action
#
# Clients that skip blocklists and greylisting; reverse DNS rules for internet connectors.
# [protection]
# allowlist = ["192.0.2.0/24"]
# require_reverse_dns = false     # no PTR: 550 5.7.25 (450 4.7.25 when DNS fails)
# require_fcrdns = false          # the PTR name must resolve back to the address
#
# Greylisting (RFC 6647): the first try of a (client /24 or /64, sender, recipient) gets
# "451 4.7.1 Greylisted, try again in N seconds"; a retry after delay passes, and the client
# network then passes directly for pass_for. Not for authenticated clients, relay and client
# connectors, or allowlisted clients. State is kept in <data_dir>/greylist.
# [greylist]
# delay = "5m"
# lifetime = "4h"
# pass_for = "36d"
# connectors = []                 # left empty: every connector with usage "internet"
#
# Rate limits of one receive connector (0 or left out: no limit).
# [[rate_limit]]
# connector = "internet"
# connections_per_minute_per_ip = 60      # 421 4.7.0
# messages_per_minute_per_ip = 100        # 451 4.7.1
# messages_per_minute_per_sender = 100    # 451 4.7.1 (envelope sender)
# messages_per_minute_per_user = 100      # 451 4.7.1 (authenticated login)
# recipients_per_message = 100            # 452 4.5.3

# DNS for outbound delivery (MX, A/AAAA lookups). Left out: the system resolver
# (/etc/resolv.conf).
# [dns]
# Forward every query to these servers: "ip" (port 53) or "ip:port".
# servers = ["127.0.0.1:5353"]
# How long to wait for one answer before the lookup counts as timed out (a retry, not a bounce).
# timeout = "10s"

# Retries and expiry of mail that cannot be delivered at once. These are the defaults.
# [queue]
# Waits between attempts toward one next hop; after the last, the last one repeats.
# retry = ["1m", "5m", "10m", "30m", "1h", "2h", "4h"]
# After this long the message is given up: the sender gets a bounce (status 4.4.7).
# expire_after = "5d"
# The sender is told once that the message is delayed (a delay notice) after this long.
# delay_notice_after = "4h"

# Send connectors: how mail for domains that are not accepted domains leaves this server.
# Without any, such mail waits in the Unreachable queue (see `sluice queue`).
# A recipient's domain is matched against address_spaces: an exact domain beats
# "*.domain", which beats "*"; among equally specific matches the lowest cost wins.
# Uncomment this one to deliver to the internet by MX lookup on port 25:
# [[send_connector]]
# name = "internet"
# "*" = every domain; also "example.com" (that domain) or "*.example.com" (its subdomains).
# address_spaces = ["*"]
# cost = 1
# Port of the MX hosts (25), and of smart hosts written without a port.
# port = 25
# Relay through other servers instead of MX lookup: "host", "host:port", "[ip]", "[ip]:port"
# (an address in brackets is used as it is, with no DNS lookup).
# smart_hosts = ["relay.example.net:587"]
# Log in to the smart hosts (AUTH PLAIN or LOGIN); the file holds the password.
# auth = { username = "app", password_file = "var/relay.secret" }
# Limits per next hop (a domain, or this connector's smart hosts).
# max_connections = 10
# max_messages_per_connection = 100
# max_message_rate = "600/min"    # "N/s", "N/min" or "N/h"; left out: no limit
# Local address to send from, and the name given in EHLO (left out: [server] hostname).
# source_ip = "192.0.2.25"
# helo_name = "mx.example.test"
# TLS toward the next hop: none, opportunistic (STARTTLS when offered, no certificate
# check), required (never in plaintext), verify (certificate and host name checked
# against the system CAs, or ca_file).
# tls = "opportunistic"
# ca_file = "/etc/ssl/certs/partner-ca.pem"
# Send the password even without TLS (it crosses the network in the clear).
# allow_plaintext_auth = false
# connect_timeout = "30s"
# MX or smart hosts tried in one delivery attempt before the queue waits for its next retry.
# max_hosts_per_attempt = 5
# protocol_log = true

)toml";

}  // namespace

std::string_view default_config_text() { return kDefault; }

}  // namespace sluice::config
