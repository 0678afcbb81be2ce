"""Config validation: each bad key gives one line naming it; start-up stops without a traceback."""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hostwatch import create_app
from hostwatch.config import Config, ConfigError, FollowConfig, load_file, parse, settings

EXAMPLE = Path(__file__).parent.parent / "examples" / "hostwatch.toml"
GOOD: dict[str, Any] = {"logs": {"app": "/var/log/app.log"}}


def test_example_config_is_valid() -> None:
    cfg = load_file(EXAMPLE)
    assert cfg.limits.max_lines == 5000 and cfg.health.mounts["/"].fail == 95.0


def test_defaults() -> None:
    cfg = parse(GOOD)
    assert cfg == Config(logs=cfg.logs)
    assert cfg.trusted_proxies == 1 and cfg.follow.max_clients == 4
    assert cfg.health.cache_seconds == 1.0 and cfg.auth.token_sha256 == ()


def _with(path: str, value: Any) -> dict[str, Any]:
    """GOOD with one dotted key set (a value of DELETE removes it)."""
    data = copy.deepcopy(GOOD)
    *tables, last = path.split(".")
    node = data
    for t in tables:
        node = node.setdefault(t, {})
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return data


DELETE = object()

BAD = [
    ("logs", DELETE, "logs", "required"),
    ("logs", ["a"], "logs", "must be a table"),
    ("logs.app", "relative/path", "logs.app", "absolute path"),
    ("logs.a/b", "/x", "logs.a/b", "log name"),
    ("logs.app", 3, "logs.app", "absolute path"),
    ("colour", "red", "colour", "unknown key"),
    ("trusted_proxies", -1, "trusted_proxies", "integer >= 0"),
    ("trusted_proxies", True, "trusted_proxies", "integer"),
    ("health.cache_seconds", "1s", "health.cache_seconds", "number"),
    ("health.load_per_core", 2, "health.load_per_core", "must be a table"),
    ("health.memory_percent", {"warn": 99, "fail": 90}, "health.memory_percent", "must not exceed"),
    ("health.swap_percent", {"warn": 1}, "health.swap_percent.fail", "required"),
    (
        "health.swap_percent",
        {"warn": 1, "fail": 2, "crit": 3},
        "health.swap_percent.crit",
        "unknown",
    ),
    ("health.mounts", {"data": {"warn": 1, "fail": 2}}, "health.mounts.data", "absolute"),
    ("health.mounts", {"/": {"warn": -1, "fail": 2}}, "health.mounts./.warn", ">= 0"),
    ("health.typo", 1, "health.typo", "unknown key"),
    ("auth.token_sha256", "abc", "auth.token_sha256", "list"),
    ("auth.token_sha256", ["abc"], "auth.token_sha256", "sha256"),
    ("auth.protect_health", "yes", "auth.protect_health", "true or false"),
    ("auth.protect_metrics", True, "auth.protect_metrics", "needs at least one"),
    ("limits.max_lines", 0, "limits.max_lines", "integer >= 1"),
    ("limits.max_lines", 1.5, "limits.max_lines", "integer"),
    ("limits.default_lines", 6000, "limits.default_lines", "must not exceed limits.max_lines"),
    ("limits.max_response_bytes", 4096, "limits.max_line_bytes", "max_response_bytes"),
    # upper bounds: past them a value is a typo or an attack on memory
    ("limits.max_line_bytes", 2 << 20, "limits.max_line_bytes", "<= 1048576"),
    ("limits.scan_bytes", 2**63 - 1, "limits.scan_bytes", "<= 1073741824"),
    ("limits.max_lines", 2**63 - 1, "limits.max_lines", "<= 100000"),
    ("limits.max_response_bytes", 2**63 - 1, "limits.max_response_bytes", "<= 67108864"),
    ("limits.max_pattern_length", 10**6, "limits.max_pattern_length", "<= 4096"),
    ("limits.max_concurrent_reads", 0, "limits.max_concurrent_reads", ">= 1"),
    ("limits.max_concurrent_reads", 1000, "limits.max_concurrent_reads", "<= 64"),
    ("follow.max_seconds", 1e20, "follow.max_seconds", "<= 86400"),
    ("follow.heartbeat_seconds", 1e6, "follow.heartbeat_seconds", "<= 3600"),
    ("follow.poll_seconds", 61, "follow.poll_seconds", "<= 60"),
    ("follow.max_clients", 10**6, "follow.max_clients", "<= 256"),
    ("health.cache_seconds", 1e9, "health.cache_seconds", "<= 3600"),
    ("trusted_proxies", 10**9, "trusted_proxies", "<= 16"),
    ("limits.max_bytes", 1, "limits.max_bytes", "unknown key"),
    ("follow.max_clients", 0, "follow.max_clients", ">= 1"),
    ("follow.max_seconds", 0, "follow.max_seconds", ">= 0.1"),
    ("follow.poll_seconds", "fast", "follow.poll_seconds", "number"),
    ("follow.slots_dir", "run/x", "follow.slots_dir", "absolute"),
    # TOML has inf and nan: a nan threshold passes every check, an infinite TTL breaks /health
    ("health.cache_seconds", math.inf, "health.cache_seconds", "finite number"),
    ("health.cache_seconds", math.nan, "health.cache_seconds", "finite number"),
    ("health.cache_seconds", 10**400, "health.cache_seconds", "finite number"),
    ("health.load_per_core", {"warn": math.nan, "fail": 3}, "health.load_per_core.warn", "finite"),
    (
        "health.memory_percent",
        {"warn": 1, "fail": math.nan},
        "health.memory_percent.fail",
        "finite",
    ),
    ("follow.max_seconds", math.inf, "follow.max_seconds", "finite number"),
    ("logs.app", "/var/log/a\0b", "logs.app", "NUL"),
]


@pytest.mark.parametrize(("key", "value", "named", "problem"), BAD, ids=[b[0] for b in BAD])
def test_bad_key(key: str, value: Any, named: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(_with(key, value))
    assert err.value.key == named
    assert problem in err.value.problem
    assert "\n" not in str(err.value)


def test_unreadable_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_file(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[logs\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_file(bad)


@pytest.mark.parametrize("value", ["inf", "+inf", "-inf", "nan"])
def test_toml_inf_and_nan_are_refused(tmp_path: Path, value: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[logs]\n[health]\ncache_seconds = {value}\n")
    with pytest.raises(ConfigError) as err:
        load_file(cfg)
    assert str(err.value).startswith("health.cache_seconds: must be a finite number >= 0.0")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"[logs]\napp = '/var/log/\xff'\n", "not valid TOML: 'utf-8' codec can't decode"),
        (b"[limits]\nmax_lines = 1" + b"0" * 5000 + b"\n", "not valid TOML: Exceeds the limit"),
    ],
    ids=["bad-utf8", "5000-digit-integer"],
)
def test_undecodable_files(tmp_path: Path, content: bytes, problem: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        load_file(bad)
    assert err.value.key == str(bad) and err.value.problem.startswith(problem)


def test_create_app_accepts_a_path(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[logs]\napp = "/x"\n[follow]\nslots_dir = "{tmp_path}/slots"\n')
    assert create_app(str(cfg)).extensions["hostwatch"].config.logs == {"app": "/x"}


def test_slots_dir_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"follow.slots_dir: cannot create"):
        create_app({"logs": {}, "follow": {"slots_dir": str(blocker / "slots")}})


def _start(tmp_path: Path, toml: str, *extra: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "hostwatch.toml"
    cfg.write_text(toml)
    env = os.environ | {"HOSTWATCH_CONFIG": str(cfg)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--no-control-socket",
            "-k",
            "gthread",
            "-b",
            "127.0.0.1:0",
            *extra,
            "hostwatch:create_app()",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("hooks", [False, True], ids=["bare-1-worker", "with-hooks-2-workers"])
def test_gunicorn_stops_with_one_line(tmp_path: Path, hooks: bool) -> None:
    # Bare gunicorn checks the config in each worker; with 2+ workers gunicorn 27's master can
    # print its own HaltServer traceback when two workers fail at once. The hooks check it in the
    # master instead, before any fork: that is the deployed setup.
    extra = ("-w", "2", "-c", "python:hostwatch.gunicorn_hooks") if hooks else ("-w", "1")
    run = _start(tmp_path, '[logs]\napp = "/x"\n[limits]\nmax_lines = "many"\n', *extra)
    assert run.returncode != 0
    ours = [ln for ln in run.stderr.splitlines() if ln.startswith("hostwatch:")]
    assert ours and set(ours) == {
        f"hostwatch: invalid config {tmp_path}/hostwatch.toml: "
        "limits.max_lines: must be an integer >= 1 and <= 100000, got 'many'"
    }
    assert "Traceback" not in run.stderr
    if hooks:  # checked in the master before any worker is forked: exactly one line
        assert len(ours) == 1 and "Booting worker" not in run.stderr


def test_flask_cli_bad_config_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "hostwatch.toml"
    cfg.write_text("logs = 5\n")
    run = subprocess.run(
        [sys.executable, "-c", "import hostwatch; hostwatch.create_app()"],
        env=os.environ | {"HOSTWATCH_CONFIG": str(cfg)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 4
    assert run.stderr == f"hostwatch: invalid config {cfg}: logs: must be a table\n"


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    """The Ansible template `validate:` command: python -m hostwatch.config PATH."""
    return subprocess.run(
        [sys.executable, "-m", "hostwatch.config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_check_cli_accepts_a_valid_file_and_prints_its_settings(tmp_path: Path) -> None:
    run = _check(EXAMPLE)
    assert (run.returncode, run.stderr) == (0, "")
    assert json.loads(run.stdout) == settings(load_file(EXAMPLE))
    # the app's defaults filled in, for the keys a file leaves out
    bare = tmp_path / "hostwatch.toml"
    bare.write_text("[logs]\n")
    said = json.loads(_check(bare).stdout)
    assert said["follow"]["max_seconds"] == FollowConfig().max_seconds
    assert said["health"]["mounts"]["/"] == {"warn": 85.0, "fail": 95.0}
    assert said["auth"]["token_sha256"] == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"[logs]\n[health]\ncache_seconds = nan\n", "health.cache_seconds: must be a finite"),
        (b"[logs]\n[limits]\nmax_lines = 'many'\n", "limits.max_lines: must be an integer >= 1"),
        (b"[logs\n", "not valid TOML"),
        (b"[logs]\napp = '/x\xff'\n", "not valid TOML: 'utf-8' codec can't decode"),
    ],
    ids=["nan", "wrong-type", "broken-toml", "bad-utf8"],
)
def test_check_cli_one_line_naming_the_key(tmp_path: Path, content: bytes, problem: str) -> None:
    cfg = tmp_path / "hostwatch.toml"
    cfg.write_bytes(content)
    run = _check(cfg)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith(f"hostwatch: invalid config {cfg}: ")
    assert problem in run.stderr
    assert run.stderr.count("\n") == 1 and run.stderr.endswith("\n")


def test_check_cli_missing_file_and_usage(tmp_path: Path) -> None:
    run = _check(tmp_path / "missing.toml")
    assert run.returncode == 1
    assert run.stderr == (
        f"hostwatch: invalid config {tmp_path}/missing.toml: "
        f"{tmp_path}/missing.toml: cannot read: No such file or directory\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "hostwatch.config"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 2 and run.stderr == "usage: python -m hostwatch.config PATH\n"


def test_check_cli_runs_without_flask_reading_stdin() -> None:
    # The deploy runs the check on the controller, whose Python need not have Flask, with the
    # rendered config on stdin: importing the package must not import Flask or Werkzeug.
    blocked = (
        "import runpy, sys; sys.modules['flask'] = sys.modules['werkzeug'] = None; "
        "sys.argv = ['hostwatch.config', '/dev/stdin']; "
        "runpy.run_module('hostwatch.config', run_name='__main__', alter_sys=True)"
    )

    def check(text: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", blocked],
            input=text,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    good = check(EXAMPLE.read_text())
    assert (good.returncode, good.stderr) == (0, ""), good.stderr
    bad = check('[logs]\napp = "/x"\n[health]\nload_per_core = { warn = 5, fail = 1 }\n')
    assert bad.returncode == 1
    assert bad.stderr == (
        "hostwatch: invalid config /dev/stdin: "
        "health.load_per_core: warn (5.0) must not exceed fail (1.0)\n"
    )
