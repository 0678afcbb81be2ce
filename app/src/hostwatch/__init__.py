"""hostwatch: host health, Prometheus metrics and a safe log reader over HTTP."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # not imported at run time: `python -m hostwatch.config` must load it only once
    from flask import Flask

    from .config import Config

__version__ = "0.1.0"

# gunicorn's exit status for "the application could not be loaded": its master stops instead of
# forking new workers that would fail the same way forever.
APP_LOAD_ERROR = 4


def create_app(test_config: Mapping[str, Any] | str | os.PathLike[str] | None = None) -> Flask:
    """The application factory: `gunicorn 'hostwatch:create_app()'`.

    Without test_config the TOML file named by HOSTWATCH_CONFIG is read; an invalid one ends the
    process with a single line on stderr. With test_config (a dict of config or a path) a
    ConfigError is raised instead, for tests and callers to handle.
    """
    from . import config, slots

    try:
        if test_config is None:
            cfg = config.load_file(config.config_path())
        else:
            cfg = config.from_mapping_or_path(test_config)
        try:
            slots.ensure_dir(cfg.follow.slots_dir)
        except OSError as err:
            raise config.ConfigError("follow.slots_dir", f"cannot create: {err.strerror}") from None
    except config.ConfigError as err:
        if test_config is not None:
            raise
        print(
            f"hostwatch: invalid config {config.config_path()}: {err}", file=sys.stderr, flush=True
        )
        raise SystemExit(APP_LOAD_ERROR) from None

    return _build(cfg)


def _build(cfg: Config) -> Flask:
    # Flask is imported here, not at the top: `python -m hostwatch.config` (the deploy's config
    # check, run on a controller that need not have Flask) imports this package first.
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from . import errors, health, logs, metrics, page
    from .context import Hostwatch
    from .hostmetrics import CachedHost
    from .release import this_process

    app = Flask(__name__, static_folder=None)  # the page blueprint serves its own static files
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep documents in their written order
    app.extensions["hostwatch"] = Hostwatch(
        cfg, CachedHost(cfg.health.mounts, cfg.health.cache_seconds), this_process()
    )
    for blueprint in (errors.bp, health.bp, metrics.bp, logs.bp, page.bp):
        app.register_blueprint(blueprint)
    if cfg.trusted_proxies > 0:
        # trust exactly that many hops of X-Forwarded-For (the client's address) and
        # X-Forwarded-Proto (its scheme, for absolute URLs behind TLS): extra entries a client
        # adds are ignored
        hops = cfg.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    return app
