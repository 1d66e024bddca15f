# tests/integration/harness.py: the shared harness of the integration tests.
# Owns: a private temp dir per daemon, the TOML config and aliases writer, starting and
# stopping `sluiced` (its stdout read with a bounded deadline), a raw SMTP client for
# byte-exact dialogs (RFC 5321 §4.2 multi-line replies), Maildir / protocol log /
# tracking log readers, and wait_until(), which polls an observable state with a deadline.
# For outbound delivery (issue 3): the [dns], [queue] and [[send_connector]] sections, the
# SEND protocol log, and the peers on loopback: a DNS server for test zones
# (tests/tools/dns_server.py) and SMTP peers (tests/tools/smtp_peer.py), each a child
# process that prints "port N" once it listens.
# Not: any assertion about sluice's behaviour (the test_*.py files make those).
#
# Every test class starts its own daemon on port 0 in its own directory, because ctest runs
# the files in parallel. Only 127.0.0.1 is used. Nothing here sleeps as synchronisation:
# waits poll a condition and give up at a deadline.

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

DOMAIN = "example.test"
HOSTNAME = "mx.example.test"

# How long the daemon may take to say "ready", and how long deliveries may take to land.
# Generous, because the machine is shared and the build may carry sanitizers.
START_TIMEOUT = 30.0
DELIVERY_TIMEOUT = 30.0
LOG_TIMEOUT = 15.0


def build_dir():
    d = os.environ.get("SLUICE_BUILD")
    if not d:
        raise unittest.SkipTest("SLUICE_BUILD is not set (run under ctest or set it)")
    return d


def source_dir():
    return os.environ.get(
        "SLUICE_SOURCE",
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def sluiced_path():
    p = os.path.join(build_dir(), "sluiced")
    if not os.access(p, os.X_OK):
        raise unittest.SkipTest("no sluiced binary in %s" % build_dir())
    return p


def sluice_path():
    p = os.path.join(build_dir(), "sluice")
    if not os.access(p, os.X_OK):
        raise unittest.SkipTest("no sluice binary in %s" % build_dir())
    return p


def wait_until(predicate, timeout, what, interval=0.02):
    """Polls predicate() until it returns a truthy value, which is returned; raises
    AssertionError naming `what` at the deadline. The poll interval grows to 0.2 s."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s (last: %r)"
                                 % (timeout, what, last))
        time.sleep(interval)
        interval = min(interval * 2, 0.2)


def unique_token(prefix="tok"):
    return "%s-%d-%s" % (prefix, os.getpid(), os.urandom(6).hex())


def toml_str(s):
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def toml_value(v):
    """A Python value as a TOML value: str, bool, int, list, dict (an inline table)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return toml_str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join("%s = %s" % (k, toml_value(x)) for k, x in v.items()) + " }"
    raise TypeError("no TOML form for %r" % (v,))


class Config:
    """What goes into the daemon's config. Tests change fields before Daemon.start()."""

    def __init__(self):
        self.users = ["alice", "bob", "carol", "dave", "erin", "frank"]
        self.aliases = {"postmaster": ["alice"], "team": ["alice", "bob"]}
        self.admin_listen = "127.0.0.1:0"
        self.max_message_size = "1MB"
        self.max_recipients = 5
        self.extra = ""  # appended verbatim to the config (for tests that need more)
        # Outbound delivery (issue 3). dns_servers: ["127.0.0.1:PORT"]; queue: {key: value}
        # for [queue]; send_connectors: one dict per [[send_connector]] (values as in TOML:
        # str, int, bool, list, dict for an inline table).
        self.dns_servers = []
        self.dns_timeout = None
        self.queue = {}
        self.send_connectors = []
        self.aliases_extra = ""  # appended verbatim to the aliases file

    def render(self, root):
        var = os.path.join(root, "var")
        lines = [
            "# written by tests/integration/harness.py",
            "[server]",
            "hostname = %s" % toml_str(HOSTNAME),
            "data_dir = %s" % toml_str(var),
            "",
            "[[accepted_domain]]",
            "name = %s" % toml_str(DOMAIN),
            "",
            "[local_delivery]",
            "maildir_root = %s" % toml_str(os.path.join(var, "mail")),
            "aliases = %s" % toml_str(os.path.join(root, "aliases")),
            "",
        ]
        # The admin API would default to 127.0.0.1:8025: one fixed port for daemons that run in
        # parallel. Port 0 unless the test configures [admin] itself.
        if "[admin]" not in self.extra:
            lines += ["[admin]", "listen = %s" % toml_str(self.admin_listen), ""]
        for u in self.users:
            lines += ["[[user]]", "address = %s" % toml_str("%s@%s" % (u, DOMAIN)), ""]
        lines += [
            "[[receive_connector]]",
            'name = "internet"',
            'listen = ["127.0.0.1:0"]',
            'usage = "internet"',
            "max_message_size = %s" % toml_str(self.max_message_size),
            "max_recipients = %d" % self.max_recipients,
            "",
            "[[receive_connector]]",
            'name = "apps"',
            'listen = ["127.0.0.1:0"]',
            'usage = "relay"',
            'remote_ip_ranges = ["127.0.0.0/8"]',
            "",
        ]
        if self.dns_servers or self.dns_timeout:
            lines += ["[dns]"]
            if self.dns_servers:
                lines += ["servers = %s" % toml_value(self.dns_servers)]
            if self.dns_timeout:
                lines += ["timeout = %s" % toml_value(self.dns_timeout)]
            lines += [""]
        if self.queue:
            lines += ["[queue]"] + ["%s = %s" % (k, toml_value(v)) for k, v in self.queue.items()]
            lines += [""]
        for sc in self.send_connectors:
            lines += ["[[send_connector]]"]
            lines += ["%s = %s" % (k, toml_value(v)) for k, v in sc.items()]
            lines += [""]
        return "\n".join(lines) + "\n" + self.extra

    def render_aliases(self):
        out = ["# aliases(5), written by the integration harness"]
        for name, targets in self.aliases.items():
            out.append("%s: %s" % (name, ", ".join(targets)))
        return "\n".join(out) + "\n" + self.aliases_extra


class Daemon:
    """One sluiced in its own temp dir. start() returns once it printed `ready`."""

    def __init__(self, config=None, name="sluice-it"):
        self.config = config or Config()
        self.root = tempfile.mkdtemp(prefix=name + "-")
        self.var = os.path.join(self.root, "var")
        self.maildir_root = os.path.join(self.var, "mail")
        self.config_path = os.path.join(self.root, "sluiced.toml")
        self.stderr_path = os.path.join(self.root, "sluiced.stderr")
        self.proc = None
        self.ports = {}
        self.stdout_lines = []
        self._lines = None
        self.starts = 0

    # -- lifecycle -------------------------------------------------------------------------

    def write_config(self):
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(self.config.render(self.root))
        with open(os.path.join(self.root, "aliases"), "w", encoding="utf-8") as f:
            f.write(self.config.render_aliases())

    def start(self, write_config=True):
        if write_config and self.starts == 0:
            self.write_config()
        self.starts += 1
        self.ports = {}
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()  # the previous run's pipe (its reader saw EOF)
        stderr = open(self.stderr_path, "ab")
        stderr.write(b"==== start %d\n" % self.starts)
        stderr.flush()
        self.proc = subprocess.Popen(
            [sluiced_path(), "--config", self.config_path],
            cwd=self.root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=stderr)
        stderr.close()
        self._lines = queue.Queue()
        reader = threading.Thread(target=self._read_stdout,
                                  args=(self.proc.stdout, self._lines), daemon=True)
        reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise AssertionError("sluiced did not print 'ready' within %.0fs\n%s"
                                     % (START_TIMEOUT, self.stderr_tail()))
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                rc = self.proc.wait(timeout=10)
                raise AssertionError("sluiced exited with %s before 'ready'\n%s"
                                     % (rc, self.stderr_tail()))
            words = line.split()
            if len(words) == 3 and words[0] == "listening":
                host, _, port = words[2].rpartition(":")
                self.ports[words[1]] = int(port)
            elif line == "ready":
                return self

    def _read_stdout(self, pipe, lines):
        for raw in pipe:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.stdout_lines.append(line)
            lines.put(line)
        lines.put(None)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout=30.0):
        """SIGTERM, then waits for the exit; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("sluiced ignored SIGTERM for %.0fs" % timeout)

    def kill(self):
        """SIGKILL (the crash test's power cut); returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait(timeout=30)

    def cleanup(self):
        if self.running():
            self.kill()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if os.environ.get("SLUICE_KEEP_TMP"):
            print("kept %s" % self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def stderr_tail(self, n=40):
        try:
            with open(self.stderr_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no stderr)"
        return "--- sluiced stderr (last %d lines) ---\n%s" % (n, "\n".join(lines[-n:]))

    def port(self, connector="internet"):
        if connector not in self.ports:
            raise AssertionError("sluiced printed no 'listening %s' line; stdout: %r"
                                 % (connector, self.stdout_lines))
        return self.ports[connector]

    # -- clients ---------------------------------------------------------------------------

    def smtp(self, connector="internet", timeout=30.0):
        import smtplib
        return smtplib.SMTP("127.0.0.1", self.port(connector), local_hostname="client.test",
                            timeout=timeout)

    def raw(self, connector="internet", timeout=30.0):
        return RawClient("127.0.0.1", self.port(connector), timeout)

    # -- Maildir ---------------------------------------------------------------------------

    def maildir_new(self, localpart, domain=DOMAIN):
        return os.path.join(self.maildir_root, domain, localpart, "new")

    def messages(self, localpart, domain=DOMAIN):
        """The files in a user's Maildir new/, as {name: bytes}."""
        d = self.maildir_new(localpart, domain)
        out = {}
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            return out
        for n in names:
            try:
                with open(os.path.join(d, n), "rb") as f:
                    out[n] = f.read()
            except FileNotFoundError:
                pass
        return out

    def messages_with(self, localpart, token, domain=DOMAIN):
        t = token.encode() if isinstance(token, str) else token
        return [v for v in self.messages(localpart, domain).values() if t in v]

    def wait_for_message(self, localpart, token, domain=DOMAIN, count=1,
                         timeout=DELIVERY_TIMEOUT):
        """Waits until `count` messages holding `token` are in the Maildir; returns them."""
        return wait_until(
            lambda: (lambda m: m if len(m) >= count else None)(
                self.messages_with(localpart, token, domain)),
            timeout, "%d message(s) with %r in %s@%s" % (count, token, localpart, domain))

    def all_delivered_files(self):
        """Every file under the Maildir root (any user's new/ or cur/), as {path: bytes}."""
        out = {}
        for dirpath, _, files in os.walk(self.maildir_root):
            if os.path.basename(dirpath) not in ("new", "cur"):
                continue
            for n in files:
                p = os.path.join(dirpath, n)
                try:
                    with open(p, "rb") as f:
                        out[p] = f.read()
                except FileNotFoundError:
                    pass
        return out

    def files_containing(self, token):
        t = token.encode() if isinstance(token, str) else token
        return sorted(p for p, v in self.all_delivered_files().items() if t in v)

    # -- logs ------------------------------------------------------------------------------

    def _log_files(self, sub, prefix):
        d = os.path.join(self.var, "logs", sub)
        try:
            names = sorted(n for n in os.listdir(d) if n.startswith(prefix) and n.endswith(".LOG"))
        except FileNotFoundError:
            return []
        return [os.path.join(d, n) for n in names]

    def protocol_log(self):
        """The receive protocol log rows (header lines dropped), each a list of 9 fields."""
        import csv
        rows = []
        for p in self._log_files("protocol", "RECV"):
            with open(p, "r", encoding="utf-8", errors="replace", newline="") as f:
                text = [ln for ln in f.read().splitlines() if ln and not ln.startswith("#")]
            rows.extend(csv.reader(text))
        return rows

    def send_protocol_log(self):
        """The send protocol log rows (SEND*.LOG, header lines dropped), lists of 9 fields."""
        import csv
        rows = []
        for p in self._log_files("protocol", "SEND"):
            with open(p, "r", encoding="utf-8", errors="replace", newline="") as f:
                text = [ln for ln in f.read().splitlines() if ln and not ln.startswith("#")]
            rows.extend(csv.reader(text))
        return rows

    def tracking(self, event=None, recipient=None, queue_id=None):
        """Tracking records filtered by event-id, recipient (case-insensitive), queue id."""
        out = []
        for r in self.tracking_log():
            if event is not None and r.get("event-id") != event:
                continue
            if recipient is not None and \
                    str(r.get("recipient-address", "")).lower() != recipient.lower():
                continue
            if queue_id is not None and r.get("internal-message-id") != queue_id:
                continue
            out.append(r)
        return out

    def wait_tracking(self, event, recipient, count=1, timeout=DELIVERY_TIMEOUT):
        """Waits until `count` tracking records `event` exist for `recipient`; returns them."""
        return wait_until(
            lambda: (lambda m: m if len(m) >= count else None)(
                self.tracking(event, recipient)),
            timeout, "%d tracking %s record(s) for %s" % (count, event, recipient))

    def protocol_log_headers(self):
        out = []
        for p in self._log_files("protocol", "RECV"):
            with open(p, "r", encoding="utf-8", errors="replace") as f:
                out.append([ln.rstrip("\n") for ln in f if ln.startswith("#")])
        return out

    def tracking_log(self):
        """The message tracking records, each a dict (from JSON lines)."""
        recs = []
        for p in self._log_files("tracking", "MSGTRK"):
            with open(p, "r", encoding="utf-8", errors="replace") as f:
                for ln in f:
                    ln = ln.strip()
                    if ln and not ln.startswith("#"):
                        recs.append(json.loads(ln))
        return recs


class Reply:
    def __init__(self, code, lines):
        self.code = code
        self.lines = lines  # text after "NNN-" / "NNN "

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def enhanced(self):
        """The enhanced status code (RFC 3463) at the start of the first line, or None."""
        first = self.lines[0].split(" ", 1)[0] if self.lines and self.lines[0] else ""
        parts = first.split(".")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            return first
        return None

    def __repr__(self):
        return "Reply(%d, %r)" % (self.code, self.lines)


class RawClient:
    """A byte-exact SMTP client: send() writes what it is given, reply() reads one
    (possibly multi-line, RFC 5321 §4.2.1) reply with a deadline."""

    def __init__(self, host, port, timeout=30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        # Small writes go out as written, so split-input tests really split the input.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""
        self.transcript = []

    def local_port(self):
        return self.sock.getsockname()[1]

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.transcript.append((">", data))
        self.sock.sendall(data)

    def _line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no reply within %.0fs; got so far %r; transcript %r"
                                     % (self.timeout, self.buf, self.transcript[-6:]))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def reply(self):
        """Reads one reply; returns None if the server closed the connection first."""
        deadline = time.monotonic() + self.timeout
        lines = []
        while True:
            line = self._line(deadline)
            if line is None:
                if lines:
                    raise AssertionError("connection closed inside a multi-line reply %r"
                                         % lines)
                return None
            text = line.decode("utf-8", "replace")
            if len(text) < 3 or not text[:3].isdigit():
                raise AssertionError("malformed reply line %r" % text)
            lines.append(text[4:])
            if len(text) == 3 or text[3] == " ":
                r = Reply(int(text[:3]), lines)
                self.transcript.append(("<", r))
                return r
            if text[3] != "-":
                raise AssertionError("malformed reply line %r" % text)

    def cmd(self, line):
        """Sends one command line (CRLF added) and returns its reply."""
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(line + b"\r\n")
        return self.reply()

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def closed_by_peer(self, timeout=10.0):
        """True once the server closed the connection (EOF), False if data arrived first."""
        deadline = time.monotonic() + timeout
        while True:
            if self.buf:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self.buf += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class DaemonTestCase(unittest.TestCase):
    """Base class: one daemon per test class, started in setUpClass, SIGTERM'd (and the
    exit status checked) in tearDownClass."""

    daemon = None

    @classmethod
    def make_config(cls):
        return Config()

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(cls.make_config(), name="sluice-" + cls.__name__)
        try:
            cls.daemon.start()
        except BaseException:
            cls.daemon.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        d = cls.daemon
        try:
            if d.running():
                rc = d.terminate()
                if rc != 0:
                    raise AssertionError("sluiced exited %s after SIGTERM (want 0)\n%s"
                                         % (rc, d.stderr_tail()))
        finally:
            d.cleanup()

    # helpers shared by the tests

    def greet(self, client, ehlo="client.test"):
        r = client.reply()
        self.assertIsNotNone(r, "no greeting")
        self.assertEqual(r.code, 220, r)
        r = client.cmd("EHLO " + ehlo)
        self.assertEqual(r.code, 250, r)
        return r

    def assertReply(self, reply, code, enhanced=None, msg=None):
        self.assertIsNotNone(reply, "connection closed, wanted %d %s" % (code, enhanced or ""))
        self.assertEqual(reply.code, code, msg or reply)
        if enhanced is not None:
            self.assertEqual(reply.enhanced, enhanced, msg or reply)

    def assert5xx(self, reply, msg=None):
        self.assertIsNotNone(reply, "connection closed, wanted a 5xx")
        self.assertTrue(500 <= reply.code <= 599, msg or reply)


def simple_message(token, sender="sender@client.test", to="alice@" + DOMAIN, body=None,
                   extra_headers=""):
    """An RFC 5322 message (bytes, CRLF) carrying a unique token in Subject and body."""
    body = body if body is not None else "Hello, this is %s.\r\n" % token
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@client.test>\r\n"
            "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n%s\r\n%s"
            % (sender, to, token, token, extra_headers, body)).encode("utf-8")


def split_prepended(delivered):
    """Splits a delivered Maildir file into (prepended header block, the rest): the
    Return-Path, Delivered-To and Received headers sluice adds (with continuation lines)."""
    pos = 0
    names = []
    for _ in range(3):
        end = delivered.find(b"\n", pos)
        if end < 0:
            break
        names.append(delivered[pos:delivered.find(b":", pos)].decode("ascii", "replace"))
        pos = end + 1
        while pos < len(delivered) and delivered[pos:pos + 1] in (b" ", b"\t"):
            end = delivered.find(b"\n", pos)
            pos = end + 1 if end >= 0 else len(delivered)
    return names, delivered[:pos], delivered[pos:]


# -- peers for outbound delivery (issue 3) --------------------------------------------------

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's python3-dnslib / python3-aiosmtpd live there


def tool_path(name):
    return os.path.join(source_dir(), "tests", "tools", name)


class ChildServer:
    """A helper server run as a child process that prints "port N" once it listens.
    Its other stdout lines are queued for wait_line()."""

    def __init__(self, root, name):
        self.root = root
        self.name = name
        self.proc = None
        self.port = None
        self._lines = None
        self.stderr_path = os.path.join(root, name + ".stderr")

    def _spawn(self, argv):
        stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(argv, cwd=self.root, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=stderr)
        stderr.close()
        self._lines = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc.stdout, self._lines),
                         daemon=True).start()
        line = self.wait_line(lambda ln: ln.startswith("port "), START_TIMEOUT)
        self.port = int(line.split()[1])
        return self

    @staticmethod
    def _read(pipe, lines):
        for raw in pipe:
            lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        lines.put(None)

    def wait_line(self, predicate, timeout):
        """Waits for a stdout line matching predicate; returns it."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%s: no expected line within %.0fs (saw %r)\n%s"
                                     % (self.name, timeout, seen, self.stderr_tail()))
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("%s exited (%s) (saw %r)\n%s"
                                     % (self.name, self.proc.wait(timeout=10), seen,
                                        self.stderr_tail()))
            seen.append(line)
            if predicate(line):
                return line

    def stderr_tail(self, n=30):
        try:
            with open(self.stderr_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no stderr)"
        return "--- %s stderr ---\n%s" % (self.name, "\n".join(lines[-n:]))

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class DnsServer(ChildServer):
    """tests/tools/dns_server.py serving `zone` (its text format) on 127.0.0.1."""

    def __init__(self, root, zone):
        super().__init__(root, "dns")
        self.zone_path = os.path.join(root, "zone.txt")
        self.reloads = 0
        with open(self.zone_path, "w", encoding="utf-8") as f:
            f.write(zone)

    def start(self):
        if not os.path.exists(tool_path("dns_server.py")):
            raise unittest.SkipTest("tests/tools/dns_server.py is not there yet")
        return self._spawn([SYSTEM_PYTHON, tool_path("dns_server.py"), self.zone_path,
                            "--host", "127.0.0.1", "--port", "0"])

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def set_zone(self, zone):
        """Replaces the zone and waits until the server answers from it."""
        tmp = self.zone_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(zone)
        os.replace(tmp, self.zone_path)
        self.proc.send_signal(signal.SIGHUP)
        self.reloads += 1
        want = "reloaded %d" % self.reloads
        self.wait_line(lambda ln: ln == want or ln.startswith("reload failed"), LOG_TIMEOUT)


def make_certificate(directory, cn="peer.test"):
    """A throw-away self-signed certificate (openssl CLI); returns (cert, key) paths."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + cn],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)
    return cert, key


class Received:
    """One message accepted by an SmtpPeer: its record (see smtp_peer.py) and content."""

    def __init__(self, record, content):
        self.record = record
        self.content = content

    def __getattr__(self, name):
        try:
            return self.record[name]
        except KeyError:
            raise AttributeError(name)

    def __repr__(self):
        return "Received(%r)" % self.record


class SmtpPeer(ChildServer):
    """tests/tools/smtp_peer.py listening on `hosts` (loopback addresses) on one port.
    behaviours: {host or "*": behaviour dict} as documented in smtp_peer.py."""

    def __init__(self, root, hosts=("127.0.0.2",), behaviours=None, tls=False, port=0,
                 name="peer"):
        super().__init__(root, name)
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.config_path = os.path.join(self.dir, "config.json")
        self.spool = os.path.join(self.dir, "received")
        self.stats_path = os.path.join(self.dir, "stats.json")
        self.config = {"listen": list(hosts), "port": port, "spool": self.spool,
                       "stats": self.stats_path, "hosts": dict(behaviours or {"*": {}})}
        if tls:
            cert, key = make_certificate(self.dir)
            self.config["tls"] = {"cert": cert, "key": key}

    def _write(self):
        tmp = self.config_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.config, f)
        os.replace(tmp, self.config_path)

    def start(self):
        self._write()
        self._spawn([SYSTEM_PYTHON, tool_path("smtp_peer.py"), self.config_path])
        self.config["port"] = self.port  # a restart keeps the port
        self._write()
        return self

    def set_behaviours(self, behaviours):
        """New behaviours, used from the next connection on."""
        self.config["hosts"] = dict(behaviours)
        self._write()

    def received(self):
        out = []
        try:
            names = sorted(n for n in os.listdir(self.spool) if n.endswith(".json"))
        except FileNotFoundError:
            return out
        for n in names:
            base = os.path.join(self.spool, n[:-5])
            with open(base + ".json", "r", encoding="utf-8") as f:
                record = json.load(f)
            with open(base + ".eml", "rb") as f:
                out.append(Received(record, f.read()))
        return out

    def received_with(self, token):
        t = token.encode() if isinstance(token, str) else token
        return [m for m in self.received() if t in m.content]

    def wait_for(self, token, count=1, timeout=DELIVERY_TIMEOUT):
        """Waits until `count` messages holding `token` arrived; returns them."""
        return wait_until(
            lambda: (lambda m: m if len(m) >= count else None)(self.received_with(token)),
            timeout, "%d message(s) with %r at %s" % (count, token, self.name))

    def stats(self):
        try:
            with open(self.stats_path, "r", encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}


class OutboundTestCase(DaemonTestCase):
    """A daemon with a DNS server for test zones and SMTP peers on loopback addresses.
    Subclasses set ZONE (dns_server.py's text format; "{port}" is not needed: every MX
    delivery goes to the connector's port) and PEERS ({name: (hosts, behaviours, tls)}),
    and may override configure(cfg) to add send connectors and queue settings."""

    ZONE = ""
    PEERS = {}
    QUEUE = {"retry": ["1s"]}
    peers = {}
    dns = None
    peer_root = None

    @classmethod
    def configure(cls, cfg):
        """Default: one send connector for every domain, MX routing, on the peers' port."""
        cfg.send_connectors = [{"name": "internet", "address_spaces": ["*"],
                                "port": cls.peer_port}]

    @classmethod
    def setUpClass(cls):
        cls.peer_root = tempfile.mkdtemp(prefix="sluice-peers-" + cls.__name__ + "-")
        cls.peers = {}
        try:
            cls.dns = DnsServer(cls.peer_root, cls.ZONE).start()
            port = 0
            for name, spec in cls.PEERS.items():
                hosts, behaviours, tls = spec
                p = SmtpPeer(cls.peer_root, hosts, behaviours, tls=tls, port=port,
                             name=name).start()
                port = p.port  # every peer on the same port, different addresses
                cls.peers[name] = p
            cls.peer_port = port
            super().setUpClass()
        except BaseException:
            cls._stop_peers()
            raise

    @classmethod
    def make_config(cls):
        cfg = Config()
        cfg.dns_servers = [cls.dns.address]
        cfg.dns_timeout = "2s"
        cfg.queue = dict(cls.QUEUE)
        cls.configure(cfg)
        return cfg

    @classmethod
    def _stop_peers(cls):
        for p in cls.peers.values():
            p.stop()
        if cls.dns is not None:
            cls.dns.stop()
        if cls.peer_root and not os.environ.get("SLUICE_KEEP_TMP"):
            shutil.rmtree(cls.peer_root, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls._stop_peers()

    def submit(self, token, recipients, sender="alice@" + DOMAIN, connector="apps",
               mail_options=(), rcpt_options=(), message=None):
        """Sends one message through a relay connector; returns smtplib's refused dict."""
        with self.daemon.smtp(connector) as c:
            msg = message if message is not None else simple_message(
                token, sender=sender, to=recipients[0])
            return c.sendmail(sender, list(recipients), msg, mail_options=list(mail_options),
                              rcpt_options=list(rcpt_options))

    def bounces(self, localpart="alice", token=None, timeout=DELIVERY_TIMEOUT, count=1):
        """Waits for `count` DSNs (multipart/report) in a local Maildir that mention
        token; returns them parsed by Python's email package."""
        import email
        import email.policy

        def find():
            out = []
            for raw in self.daemon.messages(localpart).values():
                if b"multipart/report" not in raw:
                    continue
                if token is not None and token.encode() not in raw:
                    continue
                out.append(email.message_from_bytes(raw, policy=email.policy.compat32))
            return out if len(out) >= count else None
        return wait_until(find, timeout, "%d DSN(s) for %s in %s's Maildir"
                          % (count, token, localpart))


class DsnReport:
    """A DSN (RFC 3464 multipart/report) taken apart: the human-readable text, the
    per-message fields, one dict per recipient group (keys lower case, values stripped),
    and the returned message or headers part (None when absent)."""

    def __init__(self, msg):
        self.msg = msg
        self.human = None
        self.per_message = None
        self.recipients = []
        self.returned = None
        if msg.get_content_type() != "multipart/report":
            raise AssertionError("not a multipart/report: %s" % msg.get_content_type())
        parts = msg.get_payload()
        for part in parts:
            ctype = part.get_content_type()
            if ctype == "text/plain" and self.human is None:
                self.human = part.get_payload(decode=True).decode("utf-8", "replace")
            elif ctype == "message/delivery-status":
                groups = part.get_payload()
                self.per_message = {k.lower(): v.strip() for k, v in groups[0].items()}
                self.recipients = [{k.lower(): v.strip() for k, v in g.items()}
                                   for g in groups[1:]]
            elif ctype == "message/global-delivery-status":
                # RFC 6533 (a DSN of an SMTPUTF8 message): the same field groups in UTF-8,
                # which the email package leaves as one text payload.
                payload = part.get_payload()
                if isinstance(payload, list):  # parsed as messages (header blocks)
                    text = "\n\n".join(m.as_string() for m in payload)
                else:
                    raw = part.get_payload(decode=True)
                    text = raw.decode("utf-8", "replace") if raw is not None else payload
                groups = _field_groups(text)
                self.per_message, self.recipients = groups[0], groups[1:]
            elif ctype in ("message/rfc822", "text/rfc822-headers", "message/global",
                           "message/global-headers"):
                self.returned = part
        self.parts = parts
        if self.per_message is None or not self.recipients:
            raise AssertionError("no usable message/delivery-status part in %s"
                                 % msg.as_string()[:3000])

    def recipient(self, address):
        for r in self.recipients:
            if r.get("final-recipient", "").split(";", 1)[-1].strip().lower() == address.lower():
                return r
        raise AssertionError("no recipient group for %s in %r" % (address, self.recipients))


def _field_groups(text):
    """RFC 3464 §2.1 field groups (blank-line separated "Name: value" lines, folded
    continuation lines) as dicts with lower-case names."""
    groups, cur, last = [], {}, None
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if cur:
                groups.append(cur)
            cur, last = {}, None
        elif line[0] in " \t" and last is not None:
            cur[last] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            last = name.strip().lower()
            cur[last] = value.strip()
    if cur:
        groups.append(cur)
    return groups


def dsn_report(msg):
    return DsnReport(msg)
