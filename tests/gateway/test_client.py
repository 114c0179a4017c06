"""``clearance.client`` against a real ``clearance serve``, and the offline verifier on what it fetched."""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clearance.audit.checkpoint import parse_verifier_key, verify_checkpoint
from clearance.client import AsyncClient, ClearanceAPIError, Client, Decision, offline

STRIPE = {"model": "mythos-5", "entity": "stripe", "use_case": "software-engineering",
          "person": {"id": "p-client", "citizenships": ["US"], "location": "US"}}
CN = {**STRIPE, "person": {"id": "p-client-cn", "citizenships": ["US"], "location": "CN"}}


@pytest.fixture(scope="module")
def admin(server):
    with Client(server.base, server.admin) as c:
        yield c


def test_an_admin_issues_a_key_and_a_decision_comes_back_typed_and_recorded(server, admin):
    issued = admin.issue_credential(["gateway", "entity:stripe"], "client test", label="client test")
    assert issued.key and issued.token and "gateway" in issued.scopes
    assert issued.token not in repr(issued)  # the secret is never printed
    with Client(server.base, issued.token) as c:
        decision = c.decide(STRIPE)
        denied = c.decide(CN)
    assert isinstance(decision, Decision) and decision.permitted and decision.authorization
    assert not denied.permitted and denied.code == "destination-not-authorized" and denied.remedies is not None
    page = admin.audit_records(kind="decision", after_seq=decision.decision_id - 1, limit=1)
    assert page.records[0].seq == decision.decision_id and page.records[0].body["source"] == "api"


def test_an_inclusion_proof_fetched_by_the_client_verifies_offline(server, admin):
    with Client(server.base, server.demo_key) as c:
        seq = c.decide({**STRIPE, "person": {"id": "demo-user", "citizenships": ["US"], "location": "US"}}).decision_id
    deadline = time.monotonic() + 15
    while admin.latest_head().size <= seq and time.monotonic() < deadline:  # the writer signs every 0.3 s here
        time.sleep(0.1)
    proof = admin.inclusion_proof(seq)
    keys = offline.public_keys(admin.audit_keys())
    assert offline.verify_inclusion_proof(proof.raw, keys) == proof.tree_size > seq
    forged = {**proof.raw, "audit_path": [("00" * 32)] + proof.raw["audit_path"][1:]}
    with pytest.raises(offline.VerificationFailed):
        offline.verify_inclusion_proof(forged, keys)
    moved = {**proof.raw, "signed_head": {**proof.raw["signed_head"], "size": proof.tree_size + 1}}
    with pytest.raises(offline.VerificationFailed, match="signature"):
        offline.verify_inclusion_proof(moved, keys)


def test_the_checkpoint_the_client_fetches_verifies_with_its_published_keys(admin):
    published = admin.checkpoint_keys()
    checkpoint = verify_checkpoint(admin.checkpoint(), [parse_verifier_key(k) for k in published.verifier_keys],
                                   published.origin)
    assert checkpoint.size > 0 and checkpoint.origin == published.origin


def test_refusals_raise_with_the_servers_status_and_code(server):
    with Client(server.base, "clr_nope_nope") as c, pytest.raises(ClearanceAPIError) as caught:
        c.audit_records()
    assert caught.value.status == 401
    with Client(server.base, server.demo_key) as c, pytest.raises(ClearanceAPIError) as caught:
        c.issue_credential(["admin"], "escalation")
    assert caught.value.status == 403


def test_the_async_client_makes_the_same_calls(server):
    async def run():
        async with AsyncClient(server.base, server.admin) as c:
            person = await c.put_record("people", "p-client-async", {"entity": "stripe", "citizenships": ["US"],
                                                                     "location": "US"}, "client test")
            try:
                await c.screen("Stripe, Inc.", ["US"])
            except ClearanceAPIError as exc:
                screened = exc
            page = await c.audit_records(kind="admin-change", limit=5)
            return person, screened, page
    person, screened, page = asyncio.run(run())
    assert person.key == "p-client-async" and person.kind == "person"
    # No restricted-party list is imported on this server: the refusal says so, typed.
    assert screened.status == 503 and screened.code == "screening-unavailable"
    assert page.records and all(r.kind == "admin-change" for r in page.records)


def test_the_offline_verifier_needs_only_the_standard_library_and_cryptography(server, admin, tmp_path):
    path = Path(offline.__file__)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names | {"__future__", "cryptography"}, name
    (tmp_path / "keys.json").write_text(json.dumps(admin.audit_keys()))
    (tmp_path / "proof.json").write_text(json.dumps(admin.inclusion_proof(0).raw))
    ran = subprocess.run([sys.executable, "-I", str(path), str(tmp_path / "keys.json"), str(tmp_path / "proof.json")],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert ran.returncode == 0 and ran.stdout.startswith("OK: record 0 is in the signed log"), ran.stderr


def test_the_cli_checks_a_servers_checkpoint_and_proofs_through_the_client(server, admin):
    import os

    env = {**os.environ, "CLEARANCE_TOKEN": server.admin}
    cli = [sys.executable, "-c", "from clearance.cli.main import main; main()", "audit", "check-server", server.base]
    ran = subprocess.run([*cli, "--seq", "0", "--seq", "1"], env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "checkpoint OK" in ran.stdout and "record 1: in the signed log" in ran.stdout
    pinned = admin.checkpoint_keys().verifier_keys[0]
    assert subprocess.run([*cli, "--verifier-key", pinned], env=env, capture_output=True, timeout=120).returncode == 0
    other = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"  # a key that never signed this log
    refused = subprocess.run([*cli, "--verifier-key", other], env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "no signature by a trusted key" in refused.stdout


def test_the_cli_requires_a_quorum_of_witness_cosignatures_on_a_note_it_is_given(server, admin, tmp_path):
    import os

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from clearance.audit.checkpoint import COSIGNATURE_V1, cosign, verifier_key

    witness = Ed25519PrivateKey.generate()
    cosigned = cosign(admin.checkpoint(), "witness.example/w1", witness, int(time.time()))
    (tmp_path / "cosigned.txt").write_text(cosigned)
    key = verifier_key("witness.example/w1", witness.public_key(), COSIGNATURE_V1)
    env = {**os.environ, "CLEARANCE_TOKEN": server.admin}
    cli = [sys.executable, "-c", "from clearance.cli.main import main; main()", "audit", "check-server", server.base,
           "--note", str(tmp_path / "cosigned.txt"), "--witness", key]
    ok = subprocess.run([*cli, "--quorum", "1"], env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    short = subprocess.run([*cli, "--quorum", "2"], env=env, capture_output=True, text=True, timeout=120)
    assert short.returncode == 1 and "1 of the 2 witness cosignatures" in short.stdout
