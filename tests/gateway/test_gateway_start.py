"""Starting ``clearance serve``: no password in the banner, no token lost to a failed start (issue 13)."""

from __future__ import annotations

import os
import subprocess
import sys

from gateway_kit import free_port, start_server, stop_server
from sqlalchemy.engine import make_url


def _serve(port: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from clearance.cli.main import main; main()", "serve", "--port", port],
                          cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_the_banner_hides_the_password_and_a_start_on_a_busy_port_issues_nothing(tmp_path, pg_schema_url):
    # Trust authentication ignores the password, so the URL works and the banner can be checked.
    url = make_url(pg_schema_url).set(password="hunter2-secret").render_as_string(hide_password=False)
    env = {"CLEARANCE_DATABASE_URL": url, "CLEARANCE_EVENTS_URL": pg_schema_url.split("?")[0]}
    first = start_server(tmp_path / "one", env_extra=env)
    try:
        banner = (tmp_path / "one" / "server.log").read_text()
        assert "hunter2-secret" not in banner and ":[redacted]@" in banner
        port = first.base.rsplit(":", 1)[1]
        busy = _serve(port, env, tmp_path)
        assert busy.returncode == 1
        assert "cannot listen on" in busy.stderr and "nothing was issued" in busy.stderr
        assert "shown once" not in busy.stdout + busy.stderr
        admins = first.admin_call("GET", "/v1/state", params={"kind": "credential"}).json()
        assert sum("admin" in r["record"]["scopes"] for r in admins) == 1  # only the first start's
    finally:
        stop_server(first)
    # The next start has no token to show, and says how to make one.
    again = subprocess.Popen([sys.executable, "-c", "from clearance.cli.main import main; main()", "serve", "--port",
                              str(free_port()), "--no-demo"], cwd=tmp_path, env={**os.environ, **env},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [again.stdout.readline() for _ in range(2)]
    finally:
        again.terminate()
        again.wait(timeout=20)
        again.stdout.close()
    assert "hunter2-secret" not in "".join(lines)
    assert any("issued before and not shown again" in line and "token create --scope admin" in line for line in lines)


def _self_signed(directory) -> tuple[str, str]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2)).sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_serve_over_tls_meets_encryption_required_with_no_proxy(tmp_path):
    import re
    import time

    import httpx

    cert, key = _self_signed(tmp_path)
    port = free_port()
    env = {**os.environ, "CLEARANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    env.pop("CLEARANCE_GATEWAY_CONFIG", None)
    with open(tmp_path / "server.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-c", "from clearance.cli.main import main; main()", "serve",
                                    "--port", str(port), "--ssl-certfile", cert, "--ssl-keyfile", key],
                                   cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"https://127.0.0.1:{port}"
    try:
        with httpx.Client(verify=False, timeout=30) as client:
            for _ in range(150):  # bounded: 30 s at most
                try:
                    if client.get(base + "/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            admin = re.search(r"admin token \(shown once\): (\S+)", (tmp_path / "server.log").read_text()).group(1)
            auth = {"Authorization": f"Bearer {admin}"}
            person = {"record": {"entity": "vector-institute", "citizenships": ["CA"], "location": "CA"}, "reason": "t"}
            assert client.put(base + "/v1/people/p-tls", json=person, headers=auth).status_code == 201
            issued = client.post(base + "/v1/credentials", headers=auth, json={
                "scopes": ["gateway"], "person": "p-tls", "default_use_case": "research", "default_location": "CA",
                "reason": "t"}).json()
            chat = {"model": "mythos-5", "messages": [{"role": "user", "content": "hi"}]}
            reply = client.post(base + "/v1/chat/completions", json=chat,
                                headers={"Authorization": f"Bearer {issued['token']}"})
            assert reply.status_code == 200, reply.text
    finally:
        process.terminate()
        process.wait(timeout=20)
