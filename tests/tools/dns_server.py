#!/usr/bin/python3
"""tests/tools/dns_server.py: the DNS server for test zones (unit and integration tests).

Owns: answering MX, A, AAAA, TXT, PTR, CNAME (and SOA for negative answers) from a small zone
file on loopback, with per-name failure modes (SERVFAIL, REFUSED, never answering) so tests can
drive every outcome the resolver keeps apart (RFC 1035 §4.1.1 RCODEs, RFC 2308 negative answers).
Not: recursion, DNSSEC, zone transfers. It is authoritative for every name it is asked about.

Run with Debian's python3-dnslib under /usr/bin/python3:
    /usr/bin/python3 tests/tools/dns_server.py ZONEFILE [--host 127.0.0.1] [--port 0] [--log]
It binds UDP and TCP on the same port (port 0: a free one), then prints "port N" on stdout.
SIGHUP re-reads the zone file and prints "reloaded N" (N counts reloads, from 1) once the new
answers are live, so a test that changes answers mid-test waits for that line. A zone that does
not parse keeps the old answers and prints "reload failed: <why>" instead. SIGTERM/SIGINT end it.

Zone file, one record per line ("#" starts a comment; names are case-insensitive, the trailing
dot optional; "*.example.test" matches any name below example.test that has no record itself):
    example.test            MX    10 mx1.example.test
    example.test      300   MX    20 mx2.example.test      # optional TTL (default 0: no caching)
    nullmx.test             MX    0 .                      # RFC 7505 null MX
    mx1.example.test        A     127.0.0.2
    mx1.example.test        AAAA  ::1
    example.test            TXT   "v=spf1 -all" "second string"
    2.0.0.127.in-addr.arpa  PTR   mx1.example.test
    alias.example.test      CNAME mx1.example.test
    broken.test             SERVFAIL            # every query for the name: RCODE 2
    refused.test            REFUSED             # RCODE 5
    slow.test               TIMEOUT             # never answered
    half.test               TIMEOUT MX          # a mode may name one type: only MX queries
A file ending in .json holds a list of {"name", "type", "data", "ttl"} objects instead (data
as in the text form, absent for the modes).

Answers: records of the asked type (a CNAME at the name is given first and followed within
the zone); a name with other records, or with names below it, answers NOERROR without
records (no data); anything else NXDOMAIN. Negative answers carry an SOA of "." with TTL and
minimum 0 (RFC 2308 §5), so resolvers do not cache them.
"""

import argparse
import json
import shlex
import signal
import socket
import sys
import threading

from dnslib import AAAA, CNAME, MX, PTR, QTYPE, RCODE, RR, SOA, TXT, A, DNSLabel, DNSRecord

MODES = {"SERVFAIL", "REFUSED", "TIMEOUT"}
TYPES = {"A", "AAAA", "MX", "TXT", "PTR", "CNAME"}


def norm(name):
    name = name.strip().lower()
    return name[:-1] if name.endswith(".") and name != "." else name


class Zone:
    def __init__(self):
        self.records = {}  # name -> list of (type, ttl, rdata)
        self.modes = {}  # name -> {type or "*": mode}

    def add(self, name, rtype, data, ttl):
        name = norm(name)
        rtype = rtype.upper()
        if rtype in MODES:
            only = data.strip().upper() if data else "*"
            if only != "*" and only not in TYPES:
                raise ValueError(f"unknown type {only!r} after {rtype}")
            self.modes.setdefault(name, {})[only] = rtype
            return
        if rtype not in TYPES:
            raise ValueError(f"unknown type {rtype!r}")
        self.records.setdefault(name, []).append((rtype, ttl, make_rdata(rtype, data)))

    def lookup(self, name):
        """The records of a name, trying the wildcard of each parent (RFC 4592, simplified)."""
        if name in self.records or name in self.modes:
            return name
        labels = name.split(".")
        for i in range(1, len(labels)):
            wild = "*." + ".".join(labels[i:])
            if wild in self.records or wild in self.modes:
                return wild
        return None

    def exists(self, name):
        if self.lookup(name) is not None:
            return True
        suffix = "." + name
        return any(n.endswith(suffix) for n in list(self.records) + list(self.modes))


def make_rdata(rtype, data):
    data = (data or "").strip()
    if rtype == "A":
        return A(data)
    if rtype == "AAAA":
        return AAAA(data)
    if rtype == "MX":
        pref, exchange = data.split(None, 1)
        return MX(exchange.strip(), int(pref))
    if rtype == "TXT":
        parts = shlex.split(data) if data else [""]
        return TXT([p.encode() for p in parts])
    if rtype == "PTR":
        return PTR(data)
    if rtype == "CNAME":
        return CNAME(data)
    raise ValueError(rtype)


def parse_zone(path):
    zone = Zone()
    if path.endswith(".json"):
        with open(path) as f:
            for i, rec in enumerate(json.load(f)):
                try:
                    zone.add(rec["name"], rec["type"], rec.get("data", ""), int(rec.get("ttl", 0)))
                except Exception as e:  # noqa: BLE001 - any bad entry is reported with its index
                    raise ValueError(f"{path}: entry {i}: {e!r}") from None
        return zone
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = strip_comment(line).strip()
            if not line:
                continue
            parts = line.split(None, 2)
            try:
                if len(parts) < 2:
                    raise ValueError("expected: NAME [TTL] TYPE DATA")
                name, rest = parts[0], line[len(parts[0]):].strip()
                ttl = 0
                first = rest.split(None, 1)
                if first[0].isdigit():
                    ttl = int(first[0])
                    rest = first[1] if len(first) > 1 else ""
                rtype_data = rest.split(None, 1)
                if not rtype_data:
                    raise ValueError("missing type")
                zone.add(name, rtype_data[0], rtype_data[1] if len(rtype_data) > 1 else "", ttl)
            except Exception as e:  # noqa: BLE001 - any parse problem is reported with its line
                raise ValueError(f"{path}:{lineno}: {e}") from None
    return zone


def strip_comment(line):
    """Drops a "#" comment that is not inside double quotes (TXT data may hold "#")."""
    quoted = False
    for i, c in enumerate(line):
        if c == '"':
            quoted = not quoted
        elif c == "#" and not quoted:
            return line[:i]
    return line


class Server:
    def __init__(self, zone_path, log):
        self.zone_path = zone_path
        self.zone = parse_zone(zone_path)
        self.log = log
        self.reloads = 0

    def reload(self):
        try:
            zone = parse_zone(self.zone_path)
        except (OSError, ValueError) as e:
            print(f"reload failed: {e}", flush=True)
            return
        self.zone = zone  # one reference swap: the serving threads see old or new, never half
        self.reloads += 1
        print(f"reloaded {self.reloads}", flush=True)

    def answer(self, packet):
        """The reply bytes for one query packet, or None to stay silent."""
        try:
            request = DNSRecord.parse(packet)
        except Exception:  # noqa: BLE001 - garbage in: no answer, like a real server might
            return None
        zone = self.zone
        reply = request.reply()  # copies the id and the question, sets QR, AA and RA
        if not request.questions:
            reply.header.rcode = RCODE.FORMERR
            return reply.pack()
        q = request.questions[0]
        qname = norm(str(q.qname))
        qtype = QTYPE.get(q.qtype)
        if self.log:
            print(f"query {qname} {qtype}", file=sys.stderr, flush=True)

        name = qname
        for _ in range(8):  # a CNAME chain inside the zone, bounded
            key = zone.lookup(name)
            modes = zone.modes.get(key, {}) if key else {}
            mode = modes.get(qtype) or modes.get("*")
            if mode == "TIMEOUT":
                return None
            if mode in ("SERVFAIL", "REFUSED"):
                reply.header.rcode = getattr(RCODE, mode)
                return reply.pack()
            records = zone.records.get(key, []) if key else []
            matching = [r for r in records if r[0] == qtype]
            cname = [r for r in records if r[0] == "CNAME"]
            if matching:
                for _rtype, ttl, rdata in matching:
                    reply.add_answer(RR(name, QTYPE.reverse[qtype], rdata=rdata, ttl=ttl))
                return reply.pack()
            if cname and qtype != "CNAME":
                _rtype, ttl, rdata = cname[0]
                reply.add_answer(RR(name, QTYPE.CNAME, rdata=rdata, ttl=ttl))
                name = norm(str(rdata.label))
                if zone.exists(name):
                    continue
                return reply.pack()  # target outside the zone: the resolver follows it
            if not reply.rr and not zone.exists(name):
                reply.header.rcode = RCODE.NXDOMAIN
            self.add_soa(reply)
            return reply.pack()
        reply.header.rcode = RCODE.SERVFAIL  # a CNAME loop
        return reply.pack()

    @staticmethod
    def add_soa(reply):
        reply.add_auth(RR(DNSLabel("."), QTYPE.SOA, ttl=0,
                          rdata=SOA("ns.test.", "hostmaster.test.", (1, 0, 0, 0, 0))))


def bind_pair(host, port):
    """A UDP and a TCP socket on the same port; with port 0, retried until both get one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        udp.bind((host, port))
        chosen = udp.getsockname()[1]
        tcp = socket.socket(family, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((host, chosen))
        except OSError:
            udp.close()
            tcp.close()
            if port != 0:
                raise
            continue
        tcp.listen(64)
        return udp, tcp
    raise OSError("no free port for UDP and TCP together")


def serve_udp(server, udp):
    while True:
        try:
            packet, peer = udp.recvfrom(65535)
        except OSError:
            return
        data = server.answer(packet)
        if data is not None:
            try:
                udp.sendto(data, peer)
            except OSError:
                pass


def serve_tcp_client(server, conn):
    # RFC 1035 §4.2.2: two-byte length prefix per message; several queries per connection.
    with conn:
        buf = b""
        while True:
            try:
                chunk = conn.recv(65535)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 2 and len(buf) >= 2 + int.from_bytes(buf[:2], "big"):
                n = int.from_bytes(buf[:2], "big")
                packet, buf = buf[2:2 + n], buf[2 + n:]
                data = server.answer(packet)
                if data is not None:
                    try:
                        conn.sendall(len(data).to_bytes(2, "big") + data)
                    except OSError:
                        return


def serve_tcp(server, tcp):
    while True:
        try:
            conn, _ = tcp.accept()
        except OSError:
            return
        threading.Thread(target=serve_tcp_client, args=(server, conn), daemon=True).start()


def main():
    parser = argparse.ArgumentParser(description="DNS server for test zones")
    parser.add_argument("zone")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", action="store_true", help="log each query on stderr")
    args = parser.parse_args()

    try:
        server = Server(args.zone, args.log)
    except (OSError, ValueError) as e:
        print(f"dns_server: {e}", file=sys.stderr, flush=True)
        return 2
    udp, tcp = bind_pair(args.host, args.port)

    # The signal handlers only note the request; the main thread acts on it, so a reload never
    # runs inside a handler that interrupted something else.
    reload_wanted = threading.Event()
    stop_wanted = threading.Event()
    wake = threading.Event()

    def on_hup(_sig, _frame):
        reload_wanted.set()
        wake.set()

    def on_stop(_sig, _frame):
        stop_wanted.set()
        wake.set()

    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)

    threading.Thread(target=serve_udp, args=(server, udp), daemon=True).start()
    threading.Thread(target=serve_tcp, args=(server, tcp), daemon=True).start()
    print(f"port {udp.getsockname()[1]}", flush=True)

    while not stop_wanted.is_set():
        wake.wait()
        wake.clear()
        if reload_wanted.is_set():
            reload_wanted.clear()
            server.reload()
    udp.close()
    tcp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
