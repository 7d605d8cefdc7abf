#!/usr/bin/env python3
"""Runs every unittest test found under a directory and prints one line per test:
`OUTCOME<TAB>test id<TAB>first line of the reason`, OUTCOME being pass, fail, error or skip.

Used by the differential tiers (spec-tests/tests/tier_*.rs) to compare what a third-party test
suite does against libvirtd and against daemon-min. Usage: unittest_outcomes.py DIR
"""
import sys
import unittest


class Outcomes(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.rows = []

    def _row(self, outcome, test, why=""):
        why = (why or "").strip().splitlines()
        self.rows.append((outcome, test.id(), why[-1] if why else ""))

    def addSuccess(self, test):
        self._row("pass", test)

    def addFailure(self, test, err):
        self._row("fail", test, self._exc_info_to_string(err, test))

    def addError(self, test, err):
        self._row("error", test, self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        self._row("skip", test, reason)

    def addExpectedFailure(self, test, err):
        self._row("pass", test)

    def addUnexpectedSuccess(self, test):
        self._row("fail", test, "unexpected success")


def main():
    top = sys.argv[1]
    suite = unittest.defaultTestLoader.discover(top, top_level_dir=top)
    result = Outcomes()
    suite.run(result)
    for outcome, test_id, why in result.rows:
        print(f"{outcome}\t{test_id}\t{why}", flush=True)


if __name__ == "__main__":
    main()
