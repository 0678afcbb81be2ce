"""The TOML configuration: parsed with tomllib, validated once, frozen.

Every problem is reported as a ConfigError whose message is one line naming the key, so start-up can
stop with that line instead of a traceback. Unknown keys are errors: a typo must not silently fall
back to a default.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

DEFAULT_PATH = "/etc/hostwatch/hostwatch.toml"

# Log names appear in URLs; keep them plain so nothing path-like can ever be one.
_LOG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class ConfigError(Exception):
    """An invalid configuration; str() is one line: `<key>: <problem>`."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class Thresholds:
    warn: float
    fail: float


@dataclass(frozen=True)
class HealthConfig:
    cache_seconds: float = 1.0
    load_per_core: Thresholds = Thresholds(1.5, 3.0)
    memory_percent: Thresholds = Thresholds(90.0, 98.0)
    swap_percent: Thresholds = Thresholds(80.0, 100.0)
    mounts: Mapping[str, Thresholds] = field(
        default_factory=lambda: MappingProxyType({"/": Thresholds(85.0, 95.0)})
    )


@dataclass(frozen=True)
class AuthConfig:
    token_sha256: tuple[str, ...] = ()
    protect_health: bool = False
    protect_metrics: bool = False


@dataclass(frozen=True)
class Limits:
    default_lines: int = 100
    max_lines: int = 5000
    max_response_bytes: int = 1048576
    max_line_bytes: int = 8192
    scan_bytes: int = 67108864
    max_pattern_length: int = 256
    # per worker: tails and filters at once; past it a 429, so threads stay free for /health
    max_concurrent_reads: int = 1


# Upper bounds: a value past them is a typo or an attack on the host's memory, never a need.
_LIMITS_MAX = {
    "default_lines": 100_000,
    "max_lines": 100_000,
    "max_response_bytes": 64 << 20,
    "max_line_bytes": 1 << 20,
    "scan_bytes": 1 << 30,
    "max_pattern_length": 4096,
    "max_concurrent_reads": 64,
}


@dataclass(frozen=True)
class FollowConfig:
    max_clients: int = 4
    max_seconds: float = 300.0
    heartbeat_seconds: float = 15.0
    poll_seconds: float = 0.5
    slots_dir: str = "/run/hostwatch-app/follow"


@dataclass(frozen=True)
class Config:
    logs: Mapping[str, str]
    trusted_proxies: int = 1
    health: HealthConfig = HealthConfig()
    auth: AuthConfig = AuthConfig()
    limits: Limits = Limits()
    follow: FollowConfig = FollowConfig()


def config_path() -> str:
    return os.environ.get("HOSTWATCH_CONFIG", DEFAULT_PATH)


def load_file(path: str | os.PathLike[str]) -> Config:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as err:
        raise ConfigError(str(path), f"cannot read: {err.strerror}") from None
    except ValueError as err:  # TOMLDecodeError, bad UTF-8, an integer of over 4300 digits
        raise ConfigError(str(path), f"not valid TOML: {err}") from None
    return parse(data)


def parse(data: Mapping[str, Any]) -> Config:
    """Validate a decoded TOML document (or a dict of the same shape) into a Config."""
    _only_keys(data, "", {"trusted_proxies", "logs", "health", "auth", "limits", "follow"})
    if "logs" not in data:
        raise ConfigError("logs", "is required (a table of name = absolute path)")
    config = Config(
        logs=_logs(_table(data, "logs")),
        trusted_proxies=_int(
            data, "trusted_proxies", Config.trusted_proxies, "", minimum=0, maximum=16
        ),
        health=_health(_table(data, "health")),
        auth=_auth(_table(data, "auth")),
        limits=_limits(_table(data, "limits")),
        follow=_follow(_table(data, "follow")),
    )
    return config


def _logs(table: Mapping[str, Any]) -> Mapping[str, str]:
    logs = {}
    for name, path in table.items():
        key = f"logs.{name}"
        if not _LOG_NAME.fullmatch(name):
            raise ConfigError(key, "a log name may hold only letters, digits, '_', '.' and '-'")
        if not isinstance(path, str) or not os.path.isabs(path):
            raise ConfigError(key, f"must be an absolute path, got {path!r}")
        if "\0" in path:  # TOML can spell it; no system call takes it
            raise ConfigError(key, "a path must not contain NUL")
        logs[name] = path
    return MappingProxyType(logs)


def _health(table: Mapping[str, Any]) -> HealthConfig:
    d = HealthConfig()
    _only_keys(table, "health.", set(d.__dataclass_fields__))
    mounts_table = _table(table, "mounts", "health.") if "mounts" in table else None
    mounts = d.mounts
    if mounts_table is not None:
        for mount in mounts_table:
            if not os.path.isabs(mount):
                raise ConfigError(f"health.mounts.{mount}", "a mount must be an absolute path")
        mounts = MappingProxyType(
            {m: _thresholds(mounts_table, m, None, "health.mounts.") for m in mounts_table}
        )
    return HealthConfig(
        cache_seconds=_float(
            table, "cache_seconds", d.cache_seconds, "health.", minimum=0.0, maximum=3600.0
        ),
        load_per_core=_thresholds(table, "load_per_core", d.load_per_core, "health."),
        memory_percent=_thresholds(table, "memory_percent", d.memory_percent, "health."),
        swap_percent=_thresholds(table, "swap_percent", d.swap_percent, "health."),
        mounts=mounts,
    )


def _auth(table: Mapping[str, Any]) -> AuthConfig:
    _only_keys(table, "auth.", {"token_sha256", "protect_health", "protect_metrics"})
    tokens = table.get("token_sha256", [])
    if not isinstance(tokens, list):
        raise ConfigError("auth.token_sha256", "must be a list of hex sha256 strings")
    for token in tokens:
        if not isinstance(token, str) or not _SHA256_HEX.fullmatch(token.lower()):
            raise ConfigError(
                "auth.token_sha256", f"{token!r} is not a sha256 hex digest (64 hex digits)"
            )
    auth = AuthConfig(
        token_sha256=tuple(t.lower() for t in tokens),
        protect_health=_bool(table, "protect_health", False, "auth."),
        protect_metrics=_bool(table, "protect_metrics", False, "auth."),
    )
    for flag in ("protect_health", "protect_metrics"):
        if getattr(auth, flag) and not auth.token_sha256:
            raise ConfigError(f"auth.{flag}", "needs at least one auth.token_sha256 entry")
    return auth


def _limits(table: Mapping[str, Any]) -> Limits:
    d = Limits()
    _only_keys(table, "limits.", set(d.__dataclass_fields__))
    limits = Limits(
        **{
            f: _int(table, f, getattr(d, f), "limits.", minimum=1, maximum=_LIMITS_MAX[f])
            for f in d.__dataclass_fields__
        }
    )
    if limits.default_lines > limits.max_lines:
        raise ConfigError("limits.default_lines", "must not exceed limits.max_lines")
    if limits.max_line_bytes > limits.max_response_bytes:
        raise ConfigError("limits.max_line_bytes", "must not exceed limits.max_response_bytes")
    return limits


def _follow(table: Mapping[str, Any]) -> FollowConfig:
    d = FollowConfig()
    _only_keys(table, "follow.", set(d.__dataclass_fields__))
    slots_dir = table.get("slots_dir", d.slots_dir)
    if not isinstance(slots_dir, str) or not os.path.isabs(slots_dir):
        raise ConfigError("follow.slots_dir", f"must be an absolute path, got {slots_dir!r}")
    return FollowConfig(
        max_clients=_int(table, "max_clients", d.max_clients, "follow.", minimum=1, maximum=256),
        max_seconds=_float(
            table, "max_seconds", d.max_seconds, "follow.", minimum=0.1, maximum=86400.0
        ),
        heartbeat_seconds=_float(
            table, "heartbeat_seconds", d.heartbeat_seconds, "follow.", minimum=0.01, maximum=3600.0
        ),
        poll_seconds=_float(
            table, "poll_seconds", d.poll_seconds, "follow.", minimum=0.01, maximum=60.0
        ),
        slots_dir=slots_dir,
    )


# -- small typed readers; `prefix` is the dotted path of the enclosing table ------------------


def _only_keys(table: Mapping[str, Any], prefix: str, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(
                f"{prefix}{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})"
            )


def _table(table: Mapping[str, Any], key: str, prefix: str = "") -> Mapping[str, Any]:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{prefix}{key}", "must be a table")
    return value


def _int(
    table: Mapping[str, Any],
    key: str,
    default: int,
    prefix: str,
    minimum: int,
    maximum: int | None = None,
) -> int:
    value = table.get(key, default)
    bounds = f">= {minimum}" if maximum is None else f">= {minimum} and <= {maximum}"
    # bool is an int subclass in Python; `true` is never a count
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        raise ConfigError(f"{prefix}{key}", f"must be an integer {bounds}, got {value!r}")
    return value


def _float(
    table: Mapping[str, Any],
    key: str,
    default: float,
    prefix: str,
    minimum: float,
    maximum: float = math.inf,
) -> float:
    value = table.get(key, default)
    bounds = f">= {minimum}" if math.isinf(maximum) else f">= {minimum} and <= {maximum}"
    problem = f"must be a finite number {bounds}, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{prefix}{key}", problem)
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        raise ConfigError(f"{prefix}{key}", problem) from None
    # TOML has inf and nan: a nan threshold would pass every check, an infinite TTL break /health
    if not math.isfinite(number) or not minimum <= number <= maximum:
        raise ConfigError(f"{prefix}{key}", problem)
    return number


def _bool(table: Mapping[str, Any], key: str, default: bool, prefix: str) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{prefix}{key}", f"must be true or false, got {value!r}")
    return value


def _thresholds(
    table: Mapping[str, Any], key: str, default: Thresholds | None, prefix: str
) -> Thresholds:
    full = f"{prefix}{key}"
    if key not in table and default is not None:
        return default
    value = table[key]
    if not isinstance(value, dict):
        raise ConfigError(full, "must be a table { warn = <number>, fail = <number> }")
    _only_keys(value, f"{full}.", {"warn", "fail"})
    for bound in ("warn", "fail"):
        if bound not in value:
            raise ConfigError(f"{full}.{bound}", "is required")
    warn = _float(value, "warn", 0.0, f"{full}.", minimum=0.0)
    fail = _float(value, "fail", 0.0, f"{full}.", minimum=0.0)
    if warn > fail:
        raise ConfigError(full, f"warn ({warn}) must not exceed fail ({fail})")
    return Thresholds(warn, fail)


def from_mapping_or_path(source: Mapping[str, Any] | str | os.PathLike[str]) -> Config:
    """What create_app(test_config) accepts: a dict of config or a path to a TOML file."""
    if isinstance(source, str | Path | os.PathLike):
        return load_file(source)
    return parse(source)


def settings(value: Any) -> Any:
    """A config (or part of one) as JSON values: every key, the defaults filled in."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: settings(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): settings(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [settings(v) for v in value]
    return value


def main(argv: list[str]) -> int:
    """`python -m hostwatch.config PATH`: if PATH is a valid config, print its settings as JSON
    (every key, the app's defaults filled in) and exit 0, else exit 1 with one line.

    Made for Ansible: a bad rendered config shows the key, no traceback; a good one tells the other
    roles the app's own values (nginx's follow timeout follows follow.max_seconds), so they never
    repeat its defaults.
    """
    if len(argv) != 1:
        print("usage: python -m hostwatch.config PATH", file=sys.stderr)
        return 2
    try:
        config = load_file(argv[0])
    except ConfigError as err:
        print(f"hostwatch: invalid config {argv[0]}: {err}", file=sys.stderr)
        return 1
    print(json.dumps(settings(config), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
