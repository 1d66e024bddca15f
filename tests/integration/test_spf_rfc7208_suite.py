"""tests/integration/test_spf_rfc7208_suite.py: the official RFC 7208 test suite (openspf.org
release 2014.04, from Debian's python3-spf; tests/data/spf/rfc7208-tests.yml) against sluice's
SPF evaluator over the real resolver: every scenario's zone served by tests/tools/dns_server.py,
every case evaluated by the test-only program spf_eval (tests/tools/spf_eval.cpp) through
libunbound. Driver: tests/tools/spf_suite.py. The same cases against an in-memory resolver run
in unit_auth (tests/unit/auth/spf_suite_test.cpp).
"""

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.path.join(HERE, "..", "tools", "spf_suite.py")


class Rfc7208Suite(unittest.TestCase):
    def test_every_case_passes_over_the_real_resolver(self):
        build = os.environ.get("SLUICE_BUILD")
        if not build:
            raise unittest.SkipTest("SLUICE_BUILD is not set (run under ctest or set it)")
        spf_eval = os.path.join(build, "spf_eval")
        if not os.access(spf_eval, os.X_OK):
            raise unittest.SkipTest(f"{spf_eval} is not built (CMake target spf_eval)")
        out = subprocess.run(["/usr/bin/python3", SUITE, "run", spf_eval], capture_output=True, text=True,
                             timeout=280)
        failed = [line for line in out.stdout.splitlines() if line.startswith("FAIL")]
        self.assertEqual(failed, [], out.stdout[-4000:] + out.stderr[-2000:])
        self.assertEqual(out.returncode, 0, out.stderr[-2000:])
        self.assertIn("203/203 cases pass", out.stdout)


if __name__ == "__main__":
    unittest.main(argv=sys.argv)
