#!/usr/bin/python3
# tests/tools/smtp_peer.py: SMTP servers on loopback that play the remote side of outbound
# delivery (MX hosts, smart hosts) for the integration tests and the transport's tests.
# Owns: listening on one port on one or more loopback addresses (127.0.0.2, 127.0.0.3, ...),
#   a behaviour per address read from a JSON file at the start of every connection (so a
#   test changes answers mid-test by rewriting the file), recording every accepted message
#   and the counters a test checks (connections, most connections open at once, messages).
# Not: any assertion (the tests make those), sluice's side of the dialog.
# Built on aiosmtpd (Debian python3-aiosmtpd, run under /usr/bin/python3). RFC 5321 (the
# dialog), RFC 3207 (STARTTLS), RFC 4954 (AUTH), RFC 1870 (SIZE), RFC 6152 (8BITMIME),
# RFC 6531 (SMTPUTF8), RFC 3461 (DSN parameters are accepted and recorded, not acted on).
#
# usage: smtp_peer.py CONFIG_JSON
# Prints "port N" on stdout once every address is bound, then serves until SIGTERM/SIGINT.
#
# CONFIG_JSON:
#   {"listen": ["127.0.0.2", "127.0.0.3"],   addresses, all on the same port
#    "port": 0,                              0: a free port chosen for all addresses
#    "spool": "/dir/received",               where accepted messages are recorded
#    "stats": "/dir/stats.json",             counters, rewritten (atomically) on each change
#    "tls": {"cert": "c.pem", "key": "k.pem"},  optional; needed for "starttls"
#    "hosts": {"127.0.0.2": {...}, "*": {...}}} behaviour per address ("*": the others)
# A behaviour (every key optional; the default accepts everything):
#   "greeting": "421 4.3.2 busy"   answer this instead of 220 and close; "silent": accept the
#                                  connection and never say anything
#   "ehlo_remove": ["PIPELINING"]  extensions not to advertise (SIZE, 8BITMIME, SMTPUTF8,
#                                  PIPELINING, STARTTLS, AUTH, DSN, ...)
#   "ehlo_reply": "550 5.7.1 no"   answer EHLO with this (HELO still works)
#   "size": 0                      the SIZE limit advertised and enforced (0: none)
#   "smtputf8": true               advertise SMTPUTF8
#   "dsn": true                    advertise DSN and accept RET/ENVID/NOTIFY/ORCPT
#   "starttls": false              offer STARTTLS (needs "tls")
#   "auth": {"user": "u", "password": "p", "require_tls": true}  AUTH PLAIN/LOGIN required
#   "mail_reply": "451 4.3.0 ..."  answer MAIL FROM with this
#   "rcpt_replies": {"a@b.test": "550 5.1.1 no such user"}  per recipient (lower case)
#   "rcpt_reply": "450 4.2.1 ..."  every other recipient
#   "data_reply": "451 4.3.0 ..."  answer the end of DATA with this (nothing recorded)
#   "data_delay": 0.5              seconds to wait before answering the end of DATA
#   "drop_in_data": true           after 354, read one line of content and close
# Each accepted message gives two files in the spool: N.eml (the content as received,
# dot-unstuffed, CRLF) and then N.json (written last, atomically: its presence means the
# message is complete): host, peer, helo, mail_from, mail_options, rcpt_tos, rcpt_options,
# tls (version or null), cipher, auth_user, size, connection (number of the connection).
import asyncio
import itertools
import json
import logging
import os
import signal
import socket
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

DSN_PARAMS = ("RET", "ENVID", "NOTIFY", "ORCPT")


def write_atomic(path, data):
    tmp = "%s.tmp.%d.%d" % (path, os.getpid(), threading.get_ident())
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Peer:
    """Process-wide state: the config file, counters and the message sequence."""

    def __init__(self, config_path):
        self.config_path = config_path
        self.config = self.load()
        self.seq = itertools.count(1)
        self.conn_seq = itertools.count(1)
        self.stats = {"connections": 0, "open": 0, "max_open": 0, "messages": 0,
                      "per_host": {}}
        self.tls_context = None
        tls = self.config.get("tls")
        if tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(tls["cert"], tls["key"])
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.tls_context = ctx

    def load(self):
        with open(self.config_path, "r", encoding="utf-8") as f:
            return json.load(f)

    def behaviour(self, host):
        # Re-read at each connection: the test may have rewritten the file.
        try:
            self.config = self.load()
        except (OSError, ValueError):
            pass  # a half-written file (the harness writes atomically, others may not)
        hosts = self.config.get("hosts", {})
        return dict(hosts.get(host, hosts.get("*", {})))

    def host_stats(self, host):
        return self.stats["per_host"].setdefault(
            host, {"connections": 0, "open": 0, "max_open": 0, "messages": 0})

    def opened(self, host):
        h = self.host_stats(host)
        for s in (self.stats, h):
            s["connections"] += 1
            s["open"] += 1
            s["max_open"] = max(s["max_open"], s["open"])
        self.save_stats()

    def closed(self, host):
        h = self.host_stats(host)
        for s in (self.stats, h):
            s["open"] -= 1
        self.save_stats()

    def accepted(self, host):
        self.stats["messages"] += 1
        self.host_stats(host)["messages"] += 1
        self.save_stats()

    def save_stats(self):
        path = self.config.get("stats")
        if path:
            write_atomic(path, json.dumps(self.stats, indent=1).encode())


class Handler:
    def __init__(self, peer, host, behaviour, conn_no):
        self.peer, self.host, self.b, self.conn_no = peer, host, behaviour, conn_no

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if self.b.get("ehlo_reply"):
            return [self.b["ehlo_reply"]]
        session.host_name = hostname
        remove = {x.upper() for x in self.b.get("ehlo_remove", [])}
        if not self.b.get("auth"):
            remove.add("AUTH")  # aiosmtpd would offer AUTH after TLS with nobody to accept
        out = []
        for r in responses:
            word = r[4:].split(" ", 1)[0].upper()
            if word in remove and r != responses[0]:
                continue
            out.append(r)
        if self.b.get("dsn") and "DSN" not in remove:
            out.insert(len(out) - 1, "250-DSN")
        if "PIPELINING" not in remove:
            out.insert(len(out) - 1, "250-PIPELINING")
        # the last line must be "250 ", the others "250-"
        out = [("250-" + r[4:]) for r in out[:-1]] + ["250 " + out[-1][4:]]
        return out

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.b.get("mail_reply"):
            return self.b["mail_reply"]
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.b.get("rcpt_replies", {}).get(address.lower()) or self.b.get("rcpt_reply")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(list(rcpt_options))
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        delay = float(self.b.get("data_delay", 0) or 0)
        if delay > 0:
            await asyncio.sleep(delay)  # a slow receiver, so that connections overlap
        if self.b.get("data_reply"):
            return self.b["data_reply"]
        n = next(self.peer.seq)
        spool = self.peer.config["spool"]
        content = envelope.original_content or b""
        ssl_obj = session.ssl.get("ssl_object") if session.ssl else None
        record = {
            "host": self.host, "peer": list(session.peer) if session.peer else None,
            "helo": session.host_name, "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options, "rcpt_tos": envelope.rcpt_tos,
            "rcpt_options": envelope.rcpt_options,
            "tls": ssl_obj.version() if ssl_obj else None,
            "cipher": ssl_obj.cipher()[0] if ssl_obj else None,
            "auth_user": getattr(session, "peer_auth_user", None),
            "size": len(content), "connection": self.conn_no,
            "mail_raw": getattr(server, "raw_mail", None),
            "rcpt_raw": getattr(server, "raw_rcpts", []),
        }
        base = os.path.join(spool, "%06d-%d" % (n, os.getpid()))
        write_atomic(base + ".eml", content)
        write_atomic(base + ".json", json.dumps(record).encode())
        self.peer.accepted(self.host)
        return "250 2.0.0 Ok: queued as %06d" % n


class PeerSMTP(SMTP):
    """aiosmtpd's server with the behaviours above that its handler hooks cannot express:
    another greeting, silence, a connection dropped inside DATA, DSN parameters."""

    def __init__(self, peer, host):
        self.peer_state, self.peer_host = peer, host
        self.b = peer.behaviour(host)
        self.conn_no = next(peer.conn_seq)
        auth = self.b.get("auth")
        kwargs = {}
        if auth:
            kwargs.update(auth_required=True,
                          auth_require_tls=bool(auth.get("require_tls", True)),
                          authenticator=self.authenticate)
        else:
            # Without this aiosmtpd refuses AUTH before TLS anyway; no AUTH offered at all.
            kwargs.update(auth_require_tls=True)
        size = int(self.b.get("size", 0) or 0)
        tls = peer.tls_context if self.b.get("starttls") else None
        super().__init__(Handler(peer, host, self.b, self.conn_no),
                         hostname="peer-%s.test" % host.replace(".", "-"),
                         data_size_limit=size or None,
                         enable_SMTPUTF8=bool(self.b.get("smtputf8")),
                         decode_data=False, tls_context=tls, timeout=120, **kwargs)
        self.counted = False

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        want = self.b.get("auth") or {}
        if isinstance(auth_data, LoginPassword):
            user = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if user == want.get("user") and password == want.get("password"):
                session.peer_auth_user = user
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def connection_made(self, transport):
        first = self.transport is None
        super().connection_made(transport)
        if first:
            self.counted = True
            self.peer_state.opened(self.peer_host)

    def connection_lost(self, error):
        if self.counted:
            self.counted = False
            self.peer_state.closed(self.peer_host)
        super().connection_lost(error)

    async def _handle_client(self):
        greeting = self.b.get("greeting")
        if greeting == "silent":
            await asyncio.Event().wait()  # ends when the connection is lost (cancelled)
            return
        if greeting:
            await self.push(greeting)
            self.transport.close()
            return
        await super()._handle_client()

    # The raw command arguments, recorded as sent (aiosmtpd upper-cases the parameters,
    # which would hide how an ENVID or ORCPT xtext was spelled).
    async def smtp_MAIL(self, arg):
        self.raw_mail = arg
        self.raw_rcpts = []
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        self.raw_rcpts = getattr(self, "raw_rcpts", []) + [arg]
        await super().smtp_RCPT(arg)

    def _getparams(self, params):
        result = super()._getparams(params)
        if result is not None and self.b.get("dsn"):
            for k in DSN_PARAMS:
                result.pop(k, None)
        return result

    async def smtp_DATA(self, arg):
        if self.b.get("drop_in_data") and self.envelope.rcpt_tos and not arg:
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            try:
                await self._reader.readuntil(b"\r\n")
            finally:
                self.transport.close()
            return
        await super().smtp_DATA(arg)


def bind_all(hosts, port):
    """Binds every host on one port (the first decides it when port is 0; with port 0 a
    later address that has it taken makes us start over with another). Returns
    (port, sockets)."""
    fixed = port != 0
    for _ in range(50):
        socks = []
        try:
            for h in hosts:
                s = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                socks.append(s)
                s.bind((h, port))
                if port == 0:
                    port = s.getsockname()[1]
                s.listen(128)
                s.setblocking(False)
            return port, socks
        except OSError as e:
            for s in socks:
                s.close()
            if fixed:
                raise SystemExit("smtp_peer: cannot bind %r port %d: %s" % (hosts, port, e))
            port = 0
    raise SystemExit("smtp_peer: cannot bind %r" % hosts)


async def main_async(config_path):
    peer = Peer(config_path)
    cfg = peer.config
    os.makedirs(cfg["spool"], exist_ok=True)
    hosts = cfg.get("listen", ["127.0.0.1"])
    want = int(cfg.get("port", 0))
    port, socks = bind_all(hosts, want)
    loop = asyncio.get_running_loop()
    servers = []
    for h, s in zip(hosts, socks):
        servers.append(await loop.create_server(lambda h=h: PeerSMTP(peer, h), sock=s))
    peer.save_stats()
    print("port %d" % port, flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for srv in servers:
        srv.close()


def main():
    if len(sys.argv) != 2:
        print("usage: smtp_peer.py CONFIG_JSON", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    asyncio.run(main_async(sys.argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
