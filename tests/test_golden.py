"""Behaviour unchanged: the seed spec's outputs equal the golden files (tests/golden/scenario.py says what
is captured and how the clock- and machine-dependent parts are masked)."""

from __future__ import annotations

import difflib

from golden.scenario import capture, capture_demo, stored


def _differences(expected: dict[str, str], got: dict[str, str]) -> list[str]:
    problems = [f"missing output {name}" for name in sorted(set(expected) - set(got))]
    problems += [f"new output {name} (re-capture the golden files if it is meant)"
                 for name in sorted(set(got) - set(expected))]
    for name in sorted(set(expected) & set(got)):
        if expected[name] != got[name]:
            diff = difflib.unified_diff(expected[name].splitlines(), got[name].splitlines(), "golden", "now",
                                        lineterm="", n=1)
            problems.append(f"{name} differs:\n" + "\n".join(list(diff)[:40]))
    return problems


def test_seed_spec_outputs_equal_the_golden_files(env):
    got = capture(env.source, env.sink_url, env.tmp)
    got.update(capture_demo(env.tmp))
    problems = _differences(stored(), got)
    assert not problems, "\n\n".join(problems)
