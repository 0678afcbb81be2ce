"""tools/dashboard.py: the shipped dashboard passes; each wiring fault is named; every query comes
out with its variables substituted."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tools"))  # tools/ is scripts, not a package

import dashboard  # noqa: E402

SHIPPED = ROOT / "monitoring" / "dashboards" / "hostwatch.json"
DS = {"type": "prometheus", "uid": "${datasource}"}


def shipped() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SHIPPED.read_text())
    return loaded


def minimal(*panels: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {
                    "name": "host",
                    "type": "query",
                    "datasource": DS,
                    "query": "label_values(up,host)",
                },
            ]
        },
        "panels": list(panels),
    }


def panel(pid: int = 1, expr: str = 'up{host=~"$host"}', **over: Any) -> dict[str, Any]:
    target = {"refId": "A", "datasource": DS, "expr": expr}
    base = {"id": pid, "type": "timeseries", "title": "Up", "datasource": DS, "targets": [target]}
    return base | over


def test_the_shipped_dashboard_is_wired_right() -> None:
    assert dashboard.check(shipped()) == []


def test_every_target_of_the_shipped_dashboard_comes_out_substituted() -> None:
    board = shipped()
    targets = [
        (p["title"], t["refId"])
        for p in board["panels"] + [q for p in board["panels"] for q in p.get("panels", [])]
        for t in p.get("targets", [])
    ]
    found = dashboard.queries(board, "web1", rate_interval="2m")
    assert [where for where, _ in found] == [f"{title} {ref}" for title, ref in targets]
    assert len(found) >= 15  # the fleet table's columns and each host panel's queries
    for where, expr in found:
        assert "$" not in expr, where
        assert 'host=~"web1"' in expr, where  # every query is for the host asked
    assert any("[2m]" in expr for _, expr in found)  # $__rate_interval


def test_every_variable_syntax_is_substituted() -> None:
    expr = (
        'rate(x{host=~"$host", a="${host}", b="${host:regex}", c="[[host]]"}[$__rate_interval])'
        " / ${__range_s} + $__range"
    )
    [(_, out)] = dashboard.queries(minimal(panel(expr=expr)), "web1", rate_interval="1m")
    assert out == 'rate(x{host=~"web1", a="web1", b="web1", c="web1"}[1m]) / 21600 + 6h'


def test_a_host_is_matched_as_itself_not_as_a_regex() -> None:
    [(_, out)] = dashboard.queries(minimal(panel()), "web.example.org")
    # in a PromQL string a backslash is written twice: the regex is web\.example\.org
    assert out == r'up{host=~"web\\.example\\.org"}'


def test_a_variable_without_value_is_an_error_not_left_in() -> None:
    with pytest.raises(ValueError, match=r"Up A: no value for \$cluster"):
        dashboard.queries(minimal(panel(expr='up{cluster="$cluster"}')), "web1")
    problems = dashboard.check(minimal(panel(expr='up{cluster="$cluster"}')))
    assert problems == ["Up A: unknown variable $cluster"]


def first_panel(board: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = board["panels"][0]
    return found


@pytest.mark.parametrize(
    ("change", "problems"),
    [
        (lambda b: first_panel(b).update(datasource={"uid": "P1809F7"}), ["Up: its datasource"]),
        (
            lambda b: first_panel(b)["targets"][0].update(datasource="Prom"),
            ["Up A: its datasource"],
        ),
        (lambda b: first_panel(b)["targets"][0].update(expr=" "), ["Up A: no query"]),
        (lambda b: first_panel(b).update(targets=[]), ["Up: no targets"]),
        (
            lambda b: b["templating"]["list"].pop(1),
            ["no variable `host`", "Up A: unknown variable $host"],
        ),
        (lambda b: b["templating"]["list"][0].update(query="loki"), ["no variable `datasource`"]),
        (lambda b: b["templating"]["list"][1].update(datasource=None), ["variable host: does not"]),
        (lambda b: b["panels"].append(panel()), ["panel id 1 is used more than once"]),
        (
            lambda b: b["panels"].append({"id": 2, "type": "row", "title": "R", "repeat": "node"}),
            ["row R: repeats by an unknown variable node"],
        ),
    ],
)
def test_each_wiring_fault_is_named(change: Any, problems: list[str]) -> None:
    board = minimal(panel())
    assert dashboard.check(board) == []
    change(board)
    found = dashboard.check(board)
    assert len(found) == len(problems), found
    for line, problem in zip(found, problems, strict=True):
        assert line.startswith(problem)


def test_panels_inside_a_collapsed_row_are_checked() -> None:
    row = {"id": 2, "type": "row", "title": "R", "collapsed": True, "panels": [panel(3, expr="")]}
    assert dashboard.check(minimal(panel(), row)) == ["Up A: no query (expr)"]


PROMTOOL = shutil.which("promtool") or str(ROOT / ".cache/promtool/usr/bin/promtool")


@pytest.mark.skipif(not Path(PROMTOOL).exists(), reason="no promtool (make test-rules fetches it)")
def test_promtool_names_the_panel_of_a_query_that_does_not_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good = dashboard.queries(shipped(), "web1")
    assert dashboard.promtool_check(good, PROMTOOL) == []
    [problem] = dashboard.promtool_check([*good, ("Broken B", "sum by (host (up)")], PROMTOOL)
    rule = len(good) + 1
    assert problem.startswith("promtool check rules: ")  # without the temporary file's path
    assert f'rule {rule}, "dashboard:broken_b": could not parse expression' in problem
    assert "dashboard.yml" not in problem

    monkeypatch.setenv("PROMTOOL", PROMTOOL)
    assert dashboard.main(["dashboard.py", str(SHIPPED)]) == 0
    broken = shipped()
    broken["panels"][1]["targets"][0]["expr"] = "max by (host (up)"
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    assert dashboard.main(["dashboard.py", str(tmp_path / "broken.json")]) == 1
    assert '"dashboard:fleet_a": could not parse expression' in capsys.readouterr().out
