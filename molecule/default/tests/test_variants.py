"""The variants host (host_vars/hostwatch-mol-variants.yml): TLS in front, the app on a loopback
TCP port."""

from __future__ import annotations

import re

from stackcheck import converge, headers, http, recap, wait_for

VARIANTS = "hostwatch-mol-variants"
testinfra_hosts = [f"ansible://{VARIANTS}"]
HTTPS = ("--cacert", "/etc/ssl/certs/hostwatch.pem")


def test_plain_http_redirects_to_https(host):
    answer = headers(host, "http://localhost/health")
    assert answer["location"] == "https://localhost/health"


def test_https_serves_health_with_hsts(host):
    reply = http(host, "https://localhost/health", *HTTPS)
    assert reply.status == 200, reply.body
    assert reply.content_type.startswith("application/health+json")
    assert headers(host, "https://localhost/health", *HTTPS)[
        "strict-transport-security"
    ].startswith("max-age=")


def test_old_tls_versions_are_refused(host):
    # Debian's nginx.conf still lists TLSv1 and TLSv1.1: the site must refuse them itself. The
    # client is allowed TLS 1.1 (SECLEVEL=0), so the refusal seen is the server's version alert.
    old = host.run(
        "curl -sS -o /dev/null --cacert /etc/ssl/certs/hostwatch.pem --tlsv1.1 --tls-max 1.1"
        " --ciphers DEFAULT@SECLEVEL=0 https://localhost/health"
    )
    assert old.rc != 0
    assert "alert protocol version" in old.stderr, old.stderr
    assert http(host, "https://localhost/health", *HTTPS, "--tlsv1.2").status == 200


def test_app_listens_on_loopback_tcp_only(host):
    listeners = host.run("ss -Hltn").stdout
    assert re.search(r"127\.0\.0\.1:8123\s", listeners), listeners
    assert not re.search(r"(0\.0\.0\.0|\*|\[::\]):8123\s", listeners), listeners
    assert http(host, "http://127.0.0.1:8123/health/live").status == 200


def test_a_server_on_nginx_port_stops_the_play_naming_it(host):
    # Another web server on port 80 (nginx stopped): the nginx role must stop before any change
    # and name the holder, instead of leaving nginx failed.
    host.run_test("systemctl stop nginx")
    host.run_test("systemd-run --unit=hostwatch-squatter python3 -m http.server 80")
    try:
        assert wait_for(lambda: "python3" in host.run("ss -Hltnp 'sport = :80'").stdout, 10)
        run = converge("--limit", VARIANTS)
        said = run.stdout + run.stderr
        assert run.returncode != 0
        assert "must be free for nginx, but python3 pid" in said, said
        assert all(counts["changed"] == 0 for counts in recap(run.stdout).values()), run.stdout
    finally:
        host.run("systemctl stop hostwatch-squatter")
        host.run_test("systemctl start nginx")
    assert http(host, "https://localhost/health", *HTTPS).status == 200
