#!/usr/bin/python3
"""tests/tools/spf_suite.py: the official RFC 7208 SPF test suite (openspf.org release 2014.04,
`rfc7208-tests.yml`, as shipped by Debian's python3-spf in
/usr/share/doc/python3-spf/rfc7208-tests.yml.gz; a copy is tests/data/spf/rfc7208-tests.yml)
turned into data our tests can use, and run against sluice's SPF evaluator.

Owns: reading the YAML suite, the suite drivers' conventions (an SPF-type record is served as
TXT unless the name has its own TXT entry; "TXT: NONE" means no TXT record; "TIMEOUT" makes
every query for the name go unanswered; a TXT given as a list is several strings of one
record), and converting each scenario's zonedata for tests/tools/dns_server.py (its JSON zone
form). Not: SPF evaluation (src/auth/spf.*), the DNS server (dns_server.py).

    spf_suite.py convert [YML] OUT.json
        writes the whole suite as JSON (tests/data/spf/rfc7208-tests.json is made this way);
        the unit test tests/unit/auth/spf_suite_test.cpp runs every case from it against an
        in-memory resolver.
    spf_suite.py run SPF_EVAL [YML]
        serves each scenario's zone with dns_server.py and runs every case through the
        spf_eval executable (tests/tools/spf_eval.cpp) over the real libunbound resolver;
        prints one line per case and exits 1 if any case fails.
Run under /usr/bin/python3 (python3-yaml, python3-dnslib).
"""

import gzip
import json
import os
import shlex
import subprocess
import sys
import tempfile

import yaml

DEFAULT_YML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "spf", "rfc7208-tests.yml")
DEBIAN_YML = "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz"


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return list(yaml.safe_load_all(f))


def txt_strings(value):
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def zone_entries(zonedata):
    """dns_server.py JSON entries; TXT entries also carry "strings" for in-memory resolvers."""
    out = []
    for name, records in zonedata.items():
        records = records or []
        has_txt = any(isinstance(r, dict) and "TXT" in r for r in records)
        present = set()
        for r in records:
            if isinstance(r, dict):
                for k, v in r.items():
                    if k == "SPF" and not has_txt:
                        present.add("TXT")  # served as TXT, see below
                    elif k != "SPF" and v != "NONE":
                        present.add(k)
        for r in records:
            if not isinstance(r, dict):
                if str(r) == "TIMEOUT" and not present:
                    out.append({"name": name, "type": "TIMEOUT"})
                elif str(r) == "TIMEOUT":
                    # The drivers' convention: a name with records times out only for the
                    # types it has no record of (spftimeout.example.net answers its TXT).
                    for rtype in ("A", "AAAA", "MX", "TXT", "PTR"):
                        if rtype not in present:
                            out.append({"name": name, "type": "TIMEOUT", "data": rtype})
                continue
            for rtype, value in r.items():
                if rtype == "SPF":
                    if has_txt:
                        continue  # the name's own TXT entries decide (RFC 7208 drops type SPF)
                    rtype = "TXT"
                if rtype == "TXT" and value == "NONE":
                    continue
                if rtype == "TXT":
                    strings = txt_strings(value)
                    out.append({"name": name, "type": "TXT", "strings": strings,
                                "data": " ".join(shlex.quote(s) for s in strings)})
                elif rtype == "MX":
                    pref, exchange = value
                    out.append({"name": name, "type": "MX", "data": f"{pref} {exchange or '.'}"})
                elif rtype in ("A", "AAAA", "PTR", "CNAME"):
                    values = value if isinstance(value, list) else [value]
                    for v in values:
                        out.append({"name": name, "type": rtype, "data": str(v)})
                else:
                    raise ValueError(f"{name}: unsupported record type {rtype}")
    return out


def convert(docs):
    scenarios = []
    for doc in docs:
        tests = []
        for name, case in doc["tests"].items():
            result = case["result"]
            tests.append({
                "name": name,
                "spec": str(case.get("spec", "")),
                "helo": case["helo"],
                "host": case["host"],
                "mailfrom": case["mailfrom"],
                "result": result if isinstance(result, list) else [result],
                "explanation": case.get("explanation"),
            })
        scenarios.append({"description": doc["description"], "zone": zone_entries(doc["zonedata"]), "tests": tests})
    return {"source": "openspf.org RFC 7208 test suite, release 2014.04 (" + DEBIAN_YML + ")",
            "scenarios": scenarios}


def served(entry):
    """An entry as dns_server.py wants it. The server keys its zone by dnslib's text form of
    the query name, which writes a space as "\\032" (macro-mania-in-domain has spaces in a
    name), so names are given in that form."""
    from dnslib import DNSLabel
    out = {k: v for k, v in entry.items() if k != "strings"}
    out["name"] = str(DNSLabel(entry["name"]))
    return out


def start_dns(zone_path):
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dns_server.py")
    proc = subprocess.Popen(["/usr/bin/python3", tool, zone_path], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("port "):
        proc.kill()
        raise RuntimeError(f"dns_server.py said {line!r}")
    return proc, int(line[5:])


def run(spf_eval, docs):
    suite = convert(docs)
    failures = 0
    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in suite["scenarios"]:
            zone_path = os.path.join(tmp, "zone.json")
            with open(zone_path, "w") as f:
                json.dump([served(e) for e in scenario["zone"]], f)
            dns, port = start_dns(zone_path)
            try:
                lines = "".join(json.dumps({"name": t["name"], "ip": t["host"], "sender": t["mailfrom"],
                                            "helo": t["helo"]}) + "\n" for t in scenario["tests"])
                out = subprocess.run([spf_eval, "--dns", f"127.0.0.1@{port}", "--timeout-ms", "300"],
                                     input=lines, capture_output=True, text=True, timeout=240)
                if out.returncode != 0:
                    raise RuntimeError(f"spf_eval failed: {out.stderr}")
                answers = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
            finally:
                dns.terminate()
                dns.wait()
            by_name = {a["name"]: a for a in answers}
            for t in scenario["tests"]:
                total += 1
                got = by_name.get(t["name"], {})
                ok = got.get("result") in t["result"]
                want_exp = t["explanation"]
                if ok and want_exp and want_exp != "DEFAULT" and got.get("result") == "fail":
                    ok = got.get("explanation") == want_exp
                print(f"{'ok  ' if ok else 'FAIL'} {scenario['description']} / {t['name']}: "
                      f"want {'|'.join(t['result'])}, got {got.get('result')} ({got.get('detail', '')!r})")
                failures += 0 if ok else 1
    print(f"{total - failures}/{total} cases pass")
    return 1 if failures else 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "convert":
        yml = argv[1] if len(argv) == 3 else DEFAULT_YML
        out = argv[-1]
        with open(out, "w") as f:
            json.dump(convert(load(yml)), f, indent=1, ensure_ascii=False)
            f.write("\n")
        return 0
    if len(argv) >= 2 and argv[0] == "run":
        return run(argv[1], load(argv[2] if len(argv) > 2 else DEFAULT_YML))
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
