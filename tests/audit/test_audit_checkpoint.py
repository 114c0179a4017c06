"""Tree heads as C2SP signed notes: the specification's example, round trips, and the Go reference implementation."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from clearance.audit.checkpoint import (
    Checkpoint,
    NoteError,
    open_note,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    signer_from_key,
    verifier_key,
    verify_checkpoint,
)

# The example of the signed-note specification (c2sp.org/signed-note) and of the Go reference
# implementation's documentation (golang.org/x/mod/sumdb/note).
VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
SIGNATURE = "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
NOTE = TEXT + "\n" + SIGNATURE


def test_the_specifications_example_key_and_signature_are_reproduced_byte_for_byte():
    name, private_key = signer_from_key(SKEY)
    assert verifier_key(name, private_key.public_key()) == VKEY
    assert sign_note(TEXT, [(name, private_key)]) == NOTE
    assert open_note(NOTE, [parse_verifier_key(VKEY)]) == (TEXT, ["PeterNeumann"])


@pytest.mark.parametrize("note", [
    NOTE.replace("cryptography", "cryptographY"),  # the text changed
    NOTE.replace("x08go", "x08gp"),  # the signature changed
])
def test_a_changed_note_does_not_verify(note):
    with pytest.raises(NoteError):
        open_note(note, [parse_verifier_key(VKEY)])


def test_signatures_by_unknown_keys_are_skipped_and_a_note_without_a_trusted_one_is_refused():
    other = Ed25519PrivateKey.generate()
    both = sign_note(TEXT, [("Other", other)]) + SIGNATURE
    assert open_note(both, [parse_verifier_key(VKEY)]) == (TEXT, ["PeterNeumann"])
    with pytest.raises(NoteError, match="no signature by a trusted key"):
        open_note(sign_note(TEXT, [("Other", other)]), [parse_verifier_key(VKEY)])


@pytest.mark.parametrize("note", [TEXT, TEXT + "\n", TEXT + "\n- PeterNeumann AAAA\n", "a\tb\n\n" + SIGNATURE,
                                  TEXT + "\n" + SIGNATURE.rstrip("\n")])
def test_malformed_notes_are_refused(note):
    with pytest.raises(NoteError):
        open_note(note, [parse_verifier_key(VKEY)])


@pytest.mark.parametrize("key", [VKEY.replace("c74f20a3", "c74f20a4"), VKEY[:-2], "PeterNeumann+c74f20a3", "+" + VKEY])
def test_malformed_or_inconsistent_verifier_keys_are_refused(key):
    with pytest.raises(NoteError):
        parse_verifier_key(key)


@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e, exclude_characters="+"), min_size=1, max_size=40),
       st.integers(0, 2**63), st.binary(min_size=32, max_size=32))
def test_any_checkpoint_round_trips_through_a_signed_note(origin, size, root):
    key = Ed25519PrivateKey.generate()
    note = sign_checkpoint(Checkpoint(origin, size, root), key)
    assert verify_checkpoint(note, [parse_verifier_key(verifier_key(origin, key.public_key()))], origin) == \
        Checkpoint(origin, size, root)


def test_a_checkpoint_from_another_origin_is_refused():
    key = Ed25519PrivateKey.generate()
    note = sign_checkpoint(Checkpoint("log.example/a", 3, bytes(32)), key)
    with pytest.raises(NoteError, match="origin"):
        verify_checkpoint(note, [parse_verifier_key(verifier_key("log.example/a", key.public_key()))], "log.example/b")


# -- the Go reference implementation ---------------------------------------------------------------

GOPATH = Path(os.environ.get("CLEARANCE_GO_NOTE_GOPATH", "/usr/share/gocode"))
GO_PROGRAM = """\
package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/mod/sumdb/note"
)

func main() {
	input, _ := io.ReadAll(os.Stdin)
	switch os.Args[1] {
	case "verify":
		v, err := note.NewVerifier(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		n, err := note.Open(input, note.VerifierList(v))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Print(n.Text)
	case "generate":
		skey, vkey, _ := note.GenerateKey(nil, os.Args[2])
		fmt.Println(skey)
		fmt.Println(vkey)
	case "sign":
		s, err := note.NewSigner(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		out, err := note.Sign(&note.Note{Text: string(input)}, s)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Print(string(out))
	}
}
"""


@pytest.fixture(scope="module")
def go_note(tmp_path_factory: pytest.TempPathFactory):
    go = shutil.which("go")
    if go is None or not (GOPATH / "src/golang.org/x/mod/sumdb/note/note.go").exists():
        pytest.skip("the Go reference implementation needs Go and golang.org/x/mod "
                    "(Debian: apt-get install golang-go golang-golang-x-mod-dev)")
    work = tmp_path_factory.mktemp("go-note")
    (work / "main.go").write_text(GO_PROGRAM)
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": str(GOPATH), "GOCACHE": str(work / "cache"),
           "GOFLAGS": ""}
    built = subprocess.run([go, "build", "-o", str(work / "note"), str(work / "main.go")], env=env,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(work / "note"), *args], input=stdin, capture_output=True, text=True, timeout=60)

    return run


def test_the_go_reference_implementation_verifies_our_checkpoints(go_note):
    key = Ed25519PrivateKey.generate()
    origin = "audit.example.org/clearance"
    checkpoint = Checkpoint(origin, 12345, bytes(range(32)))
    result = go_note("verify", verifier_key(origin, key.public_key()), stdin=sign_checkpoint(checkpoint, key))
    assert result.returncode == 0, result.stderr
    assert result.stdout == checkpoint.body()
    tampered = sign_checkpoint(checkpoint, key).replace("12345", "12346")
    assert go_note("verify", verifier_key(origin, key.public_key()), stdin=tampered).returncode == 1


def test_we_verify_notes_and_keys_the_go_reference_implementation_makes(go_note):
    skey, vkey = go_note("generate", "witness.example/w1").stdout.split()
    body = Checkpoint("audit.example.org/clearance", 7, bytes(32)).body()
    signed = go_note("sign", skey, stdin=body).stdout
    assert verify_checkpoint(signed, [parse_verifier_key(vkey)]) == Checkpoint.parse(body)
    name, private_key = signer_from_key(skey)
    assert sign_note(body, [(name, private_key)]) == signed  # Ed25519 is deterministic: the same bytes


def test_a_witness_quorum_is_required_and_each_cosignature_must_verify():
    from clearance.audit.checkpoint import COSIGNATURE_V1, cosign

    log_key, w1, w2 = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    origin = "audit.example.org/clearance"
    log = [parse_verifier_key(verifier_key(origin, log_key.public_key()))]
    witnesses = [parse_verifier_key(verifier_key(f"witness.example/w{i}", k.public_key(), COSIGNATURE_V1))
                 for i, k in ((1, w1), (2, w2))]
    note = sign_checkpoint(Checkpoint(origin, 10, bytes(32)), log_key)
    once = cosign(note, "witness.example/w1", w1, 1_790_000_000)
    twice = cosign(once, "witness.example/w2", w2, 1_790_000_001)
    assert verify_checkpoint(twice, log, origin, witnesses, quorum=2).size == 10
    with pytest.raises(NoteError, match="1 of the 2"):
        verify_checkpoint(once, log, origin, witnesses, quorum=2)
    # The timestamp is signed: a cosignature moved to another time does not verify.
    line = once.rsplit("\n", 2)[-2]
    blob = base64.b64decode(line.split(" ")[2])
    moved = once.replace(line, line.split(" ")[0] + " " + line.split(" ")[1] + " "
                         + base64.b64encode(blob[:4] + (1_790_000_099).to_bytes(8, "big") + blob[12:]).decode())
    with pytest.raises(NoteError, match="does not verify"):
        verify_checkpoint(moved, log, origin, witnesses, quorum=1)
    with pytest.raises(NoteError, match="no signature by the log"):  # witnesses alone are not the log
        verify_checkpoint(cosign(sign_checkpoint(Checkpoint(origin, 10, bytes(32)), w2), "witness.example/w1", w1, 5),
                          log, origin, witnesses, quorum=1)


def test_a_cosignature_signs_the_specified_message():
    from clearance.audit.checkpoint import COSIGNATURE_V1, cosign, key_hash

    key = Ed25519PrivateKey.generate()
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    note = cosign(sign_checkpoint(Checkpoint.parse(body), Ed25519PrivateKey.generate()), "w.example/1", key, 1679315147)
    blob = base64.b64decode(note.rstrip("\n").rsplit(" ", 1)[1])
    assert blob[:4] == key_hash("w.example/1", key.public_key(), COSIGNATURE_V1)
    assert int.from_bytes(blob[4:12], "big") == 1679315147
    key.public_key().verify(blob[12:], b"cosignature/v1\ntime 1679315147\n" + body.encode())  # raises if not
