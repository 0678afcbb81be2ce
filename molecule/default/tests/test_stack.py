"""What the stack must be on every converged host (run by testinfra once per host)."""

from __future__ import annotations

import uuid

from conftest import ADDRESSES, ON_DEFAULTS, SOCKET, headers, http, wait_for

testinfra_hosts = ON_DEFAULTS

BASE = "http://127.0.0.1"


def test_gunicorn_listens_only_on_its_socket(host):
    # The socket belongs to systemd (hostwatch.socket); gunicorn holds no TCP listener of its own.
    listeners = host.run("ss -Hltnp").stdout
    assert "gunicorn" not in listeners
    assert host.socket(f"unix://{SOCKET}").is_listening
    sock = host.file(SOCKET)
    assert sock.mode == 0o660
    assert sock.group == "www-data"


def test_health_through_nginx(host):
    reply = http(host, f"{BASE}/health")
    assert reply.status == 200, reply.body
    assert reply.content_type.startswith("application/health+json")
    doc = reply.json()
    assert doc["status"] in ("pass", "warn")
    assert any(key.startswith("memory:") for key in doc["checks"])


def test_security_headers_also_on_a_denied_answer(host):
    # set once at server level: a location's own add_header would silently drop them
    denied = headers(host, f"{BASE}/not-a-route")
    assert denied["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in denied["content-security-policy"]
    assert denied["server"] == "nginx"  # server_tokens off: no version


def test_logs_need_a_token(host):
    assert http(host, f"{BASE}/logs").status == 401


def test_logs_return_a_line_just_written(host, bearer):
    # nginx logs a denied request to its error log; the app must serve that very line.
    marker = f"molecule-{uuid.uuid4().hex}"
    assert (
        http(host, f"{BASE}/no-such-route/{marker}").status == 403
    )  # deny all: logged as forbidden
    reply = http(host, f"{BASE}/logs/nginx_error?lines=50&contains={marker}", *bearer)
    assert reply.status == 200, reply.body
    assert marker in reply.body


def test_follow_streams_new_lines_through_nginx(host, bearer):
    # a request made while the stream is open must arrive as an event before the stream is cut
    marker = f"follow-{uuid.uuid4().hex}"
    stream = host.run(
        f"(sleep 1; curl -s -o /dev/null '{BASE}/health/live?{marker}') & "
        f"curl -sSN --max-time 4 -H '{bearer[1]}' {BASE}/logs/nginx_access/follow"
    )
    assert stream.rc == 28, stream.stderr  # cut by --max-time: the stream stayed open
    assert stream.stdout.startswith(": following"), stream.stdout
    assert any(
        line.startswith("data: ") and marker in line for line in stream.stdout.splitlines()
    ), stream.stdout


def test_nginx_logs_readable_after_logrotate(host, bearer):
    http(host, f"{BASE}/health/live")  # notifempty: make sure there is something to rotate
    before = host.check_output("stat -c %i /var/log/nginx/access.log")
    host.run_test("logrotate -f /etc/logrotate.d/nginx")
    assert host.check_output("stat -c %i /var/log/nginx/access.log") != before, "not rotated"
    log = host.file("/var/log/nginx/access.log")
    assert (log.user, log.group, log.mode) == ("www-data", "adm", 0o640)
    marker = f"after-rotate-{uuid.uuid4().hex}"
    http(host, f"{BASE}/health?{marker}")
    reply = http(host, f"{BASE}/logs/nginx_access?lines=20", *bearer)
    assert reply.status == 200, reply.body
    assert marker in reply.body


def test_rate_limit_answers_429_past_the_burst(host):
    one = "curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1/health/live"
    codes = host.run(f"for i in $(seq 1 60); do {one}; done").stdout.split()
    assert "200" in codes
    assert "429" in codes
    # let the bucket refill so later tests are not limited
    assert wait_for(lambda: http(host, f"{BASE}/health/live").status == 200, 10)


def test_unknown_host_header_is_closed(host):
    # 444: nginx closes the connection without an answer; curl says exit 52 (empty reply)
    closed = host.run(
        "curl -sS --max-time 5 -H 'Host: not-this-site.example' http://127.0.0.1/health"
    )
    assert closed.rc == 52, closed.stderr


def test_gunicorn_comes_back_after_kill_9(host):
    pid = host.check_output("systemctl show -p MainPID --value hostwatch.service")
    assert pid != "0"
    host.run_test(f"kill -9 {pid}")

    def healthy() -> bool:
        new = host.check_output("systemctl show -p MainPID --value hostwatch.service")
        return new not in ("0", pid) and http(host, f"{BASE}/health/live").status == 200

    assert wait_for(healthy, 5)


def test_allowlists_seen_from_the_other_host(host, bearer):
    me = host.backend.get_hostname()
    other = next(name for name in ADDRESSES if name != me)
    peer = host.get_host(f"ansible://{other}", ansible_inventory=host.backend.ansible_inventory)
    # The other host is on the health allowlist, not on the /logs one; nginx sees its real address.
    assert http(peer, f"http://{ADDRESSES[me]}/health/live").status == 200
    assert http(peer, f"http://{ADDRESSES[me]}/logs", *bearer).status == 403
