"""Signed checkpoints: the C2SP signed-note and tlog-checkpoint formats, vectors and every refusal.

Published vectors pin the formats to other implementations: the note, keys and signatures
of golang.org/x/mod/sumdb/note's tests, a checkpoint signed by sum.golang.org (the Go
checksum database, a C2SP checkpoint in production) and the examples in the C2SP specs.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.tlog.checkpoint import (
    Checkpoint,
    NoteError,
    NoteSigner,
    Rejection,
    Signature,
    VerifierKey,
    key_id,
    open_note,
    parse_checkpoint_body,
    parse_signer_key,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    split_note,
    verify_checkpoint,
)
from hub.tlog.merkle import MerkleLog

# --- published vectors ---------------------------------------------------------------------
# From golang.org/x/mod sumdb/note/note_test.go (BSD-3-Clause): TestNewVerifier, TestNewSigner,
# TestSign and TestOpen.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
# Verifier keys whose key ID was adjusted to match, but that are not 33-byte Ed25519 keys.
WRONG_LENGTH_VKEY = "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
UNKNOWN_ALGORITHM_VKEY = "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"

# The Go checksum database's verifier key (built into the go command) and a checkpoint it
# served from https://sum.golang.org/latest; its origin line differs from its key name.
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_ORIGIN = "go.sum database tree"
SUMDB_CHECKPOINT = (
    "go.sum database tree\n"
    "15368405\n"
    "/g9am3I6YWNKaZX/jkne1fqd9zEyjss+JXyPXG0WfkY=\n"
    "\n"
    "— sum.golang.org Az3grqJGUaSGukG9p8nI2vKgiFn7qGHxn0W+mrwyI6Gz3F0t1J3LzmWk/p96Ybf295EjwdSwlzgijq5WA9d1Ded7owM=\n"
)

# The examples at the top of https://c2sp.org/tlog-checkpoint and https://c2sp.org/signed-note
# (no verifier key is published for them, so they pin the form, not a signature).
C2SP_CHECKPOINT = (
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
C2SP_NOTE = (
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed è subito sera.\n"
    "\n"
    "— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)

ORIGIN = "backa.example/ystad"
LOG_KEY = NoteSigner.from_seed(ORIGIN, bytes(range(32)))
OTHER_KEY = NoteSigner.from_seed("witness.example/w1", bytes(range(1, 33)))
ROOT = MerkleLog.from_entries([b"event-1", b"event-2", b"event-3"]).root()
CHECKPOINT = Checkpoint(ORIGIN, 3, ROOT)
SIGNED = sign_checkpoint(CHECKPOINT, LOG_KEY)


@contextmanager
def refused(reason: Rejection) -> Iterator[pytest.ExceptionInfo[NoteError]]:
    with pytest.raises(NoteError) as caught:
        yield caught
    assert caught.value.reason == reason, caught.value


# --- keys ------------------------------------------------------------------------------------


def test_a_published_verifier_key_reads_and_writes_back_unchanged() -> None:
    key = parse_verifier_key(PETER_VKEY)
    assert key.name == "PeterNeumann"
    assert key.key_id.hex() == "c74f20a3"
    assert key.encode() == PETER_VKEY
    assert parse_verifier_key(SUMDB_VKEY).encode() == SUMDB_VKEY


def test_the_key_id_is_the_first_four_bytes_of_the_hash_of_name_newline_type_and_key() -> None:
    key = parse_verifier_key(SUMDB_VKEY)
    assert key_id("sum.golang.org", key.public_key).hex() == "033de0ae"
    assert key_id("sum.golang.org.", key.public_key) != key.key_id  # the name is part of it


def test_every_truncation_and_single_character_change_of_a_verifier_key_is_refused() -> None:
    for start in range(len(PETER_VKEY) + 1):
        for end in range(start + 1, len(PETER_VKEY) + 1):
            if (start, end) != (0, len(PETER_VKEY)):
                with refused(Rejection.MALFORMED_KEY):
                    parse_verifier_key(PETER_VKEY[start:end])
    for i, ch in enumerate(PETER_VKEY):
        with refused(Rejection.MALFORMED_KEY):
            parse_verifier_key(PETER_VKEY[:i] + chr(ord(ch) + 1) + PETER_VKEY[i + 1 :])


BAD_VERIFIER_KEYS = [
    ("key of the wrong length", WRONG_LENGTH_VKEY),
    ("key of an unknown signature type", UNKNOWN_ALGORITHM_VKEY),
    ("uppercase key id", PETER_VKEY.replace("c74f20a3", "C74F20A3")),
    ("key id of seven digits", PETER_VKEY.replace("c74f20a3", "c74f20a")),
    ("key id of another key", PETER_VKEY.replace("c74f20a3", "af0cfe78")),
    ("key name with a space", "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
    ("empty key name", "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
    ("trailing newline", PETER_VKEY + "\n"),
    ("leading space", " " + PETER_VKEY),
    ("key without padding where it needs none, then padded", PETER_VKEY + "="),
    ("missing key", "PeterNeumann+c74f20a3"),
]


@pytest.mark.parametrize(("name", "text"), BAD_VERIFIER_KEYS, ids=[k[0] for k in BAD_VERIFIER_KEYS])
def test_a_malformed_verifier_key_is_refused(name: str, text: str) -> None:
    with refused(Rejection.MALFORMED_KEY):
        parse_verifier_key(text)


def test_a_published_signer_key_reads_writes_back_and_matches_its_verifier_key() -> None:
    signer = parse_signer_key(PETER_SKEY)
    assert signer.encode() == PETER_SKEY
    assert signer.verifier().encode() == PETER_VKEY


@pytest.mark.parametrize(
    "text",
    [
        PETER_SKEY.removeprefix("PRIVATE+KEY+"),
        PETER_SKEY.replace("c74f20a3", "c74f20a4"),
        PETER_SKEY.replace("PeterNeumann", "PeterNeuman"),
        PETER_SKEY[:-1],
        PETER_SKEY + "=",
        PETER_VKEY,
    ],
    ids=["no prefix", "wrong key id", "wrong name", "truncated", "padded", "a verifier key"],
)
def test_a_malformed_signer_key_is_refused_without_repeating_it(text: str) -> None:
    with refused(Rejection.MALFORMED_KEY) as caught:
        parse_signer_key(text)
    secret = text.rpartition("+")[2]
    assert secret not in str(caught.value)
    assert secret[:12] not in str(caught.value)


def test_a_signer_never_shows_its_private_key() -> None:
    signer = parse_signer_key(PETER_SKEY)
    secret = PETER_SKEY.rpartition("+")[2]
    assert secret not in repr(signer) and secret not in str(signer)


# --- signed notes ------------------------------------------------------------------------------


def test_signing_the_published_note_gives_the_published_signature() -> None:
    assert sign_note(GO_TEXT, parse_signer_key(PETER_SKEY)) == GO_TEXT + "\n" + PETER_SIG


def test_a_published_note_opens_with_each_known_key_and_sets_unknown_signatures_aside() -> None:
    peter, enoch = parse_verifier_key(PETER_VKEY), parse_verifier_key(ENOCH_VKEY)
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG

    opened = open_note(note, [peter])
    assert opened.text == GO_TEXT
    assert [(s.name, s.key_id.hex()) for s in opened.verified] == [("PeterNeumann", "c74f20a3")]
    assert [(s.name, s.key_id.hex()) for s in opened.unverified] == [("EnochRoot", "af0cfe78")]

    both = open_note(note.encode("utf-8"), [peter, enoch])
    assert [s.name for s in both.verified] == ["PeterNeumann", "EnochRoot"]
    assert both.unverified == ()

    with refused(Rejection.UNKNOWN_KEY):
        open_note(note, [])


def test_the_spec_example_note_splits_at_its_last_blank_line() -> None:
    text, signatures = split_note(C2SP_NOTE)
    assert text == "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    assert [s.name for s in signatures] == ["quasimodo.example/salvatore"]
    with refused(Rejection.UNKNOWN_KEY):  # well formed, but signed by a key nobody configured
        open_note(C2SP_NOTE, [LOG_KEY.verifier()])


# Malformed notes; the first seven are the bad messages of golang.org/x/mod's TestOpen.
MALFORMED_NOTES = [
    ("text without signatures", GO_TEXT),
    ("text and blank line without signatures", GO_TEXT + "\n"),
    ("signature line without its newline", GO_TEXT + "\n" + PETER_SIG[:-1]),
    ("control character in the text", "\x01" + GO_TEXT + "\n" + PETER_SIG),
    ("invalid utf-8", b"\xff" + (GO_TEXT + "\n" + PETER_SIG).encode()),
    ("key name with a space", GO_TEXT + "\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
    ("a line after the signatures", GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n"),
    ("no blank line before the signatures", GO_TEXT + PETER_SIG),
    ("hyphen instead of em dash", GO_TEXT + "\n" + PETER_SIG.replace("—", "-")),
    ("two spaces after the em dash", GO_TEXT + "\n" + PETER_SIG.replace("— ", "—  ")),
    ("two spaces before the signature", GO_TEXT + "\n" + PETER_SIG.replace("Neumann ", "Neumann  ")),
    ("trailing space after the signature", GO_TEXT + "\n" + PETER_SIG[:-1] + " \n"),
    ("carriage return line ends", (GO_TEXT + "\n" + PETER_SIG).replace("\n", "\r\n")),
    ("tab in the text", GO_TEXT.replace(" ", "\t", 1) + "\n" + PETER_SIG),
    ("signature without padding", GO_TEXT + "\n" + PETER_SIG.replace("=\n", "\n")),
    ("signature in url-safe base64", GO_TEXT + "\n" + PETER_SIG.replace("/", "_")),
    ("signature that is only a key id", GO_TEXT + "\n— PeterNeumann x08gow==\n"),
    ("more than a hundred signatures", GO_TEXT + "\n" + PETER_SIG * 101),
    ("key name with a plus", GO_TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter+Neumann")),
]


@pytest.mark.parametrize(("name", "note"), MALFORMED_NOTES, ids=[n[0] for n in MALFORMED_NOTES])
def test_a_malformed_note_is_refused(name: str, note: str | bytes) -> None:
    with refused(Rejection.MALFORMED_NOTE):
        open_note(note, [parse_verifier_key(PETER_VKEY)])


def _swap_sig_bytes(sig_line: str, change: Callable[[bytes], bytes]) -> str:
    prefix, _, b64 = sig_line[:-1].rpartition(" ")
    return f"{prefix} {base64.b64encode(change(base64.b64decode(b64))).decode()}\n"


def _flip_last_bit(raw: bytes) -> bytes:
    return raw[:-1] + bytes([raw[-1] ^ 1])


REFUSED_SIGNATURES = [
    ("the text changed after signing", GO_TEXT.replace("problem", "trouble", 1) + "\n" + PETER_SIG, Rejection.BAD_SIGNATURE),
    ("a flipped bit in the signature", GO_TEXT + "\n" + _swap_sig_bytes(PETER_SIG, _flip_last_bit), Rejection.BAD_SIGNATURE),
    ("a signature cut short", GO_TEXT + "\n" + _swap_sig_bytes(PETER_SIG, lambda r: r[:-3]), Rejection.BAD_SIGNATURE),
    ("a signature with bytes inserted", GO_TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], Rejection.BAD_SIGNATURE),
    ("a good signature then a bad one", GO_TEXT + "\n" + PETER_SIG + _swap_sig_bytes(PETER_SIG, _flip_last_bit), Rejection.BAD_SIGNATURE),
    ("the right key id under another name", GO_TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "CarmenSandiego"), Rejection.UNKNOWN_KEY),
    ("the right name with another key id", GO_TEXT + "\n" + _swap_sig_bytes(PETER_SIG, lambda r: b"\x00\x00\x00\x00" + r[4:]), Rejection.UNKNOWN_KEY),
    ("only a signature by another key", GO_TEXT + "\n" + ENOCH_SIG, Rejection.UNKNOWN_KEY),
]


@pytest.mark.parametrize(("name", "note", "reason"), REFUSED_SIGNATURES, ids=[r[0] for r in REFUSED_SIGNATURES])
def test_a_note_without_a_good_signature_from_a_known_key_is_refused(name: str, note: str, reason: Rejection) -> None:
    with refused(reason) as caught:
        open_note(note, [parse_verifier_key(PETER_VKEY)])
    assert caught.value.clause.startswith("signed-note")


def test_a_note_to_sign_must_end_in_a_newline_and_hold_no_control_characters() -> None:
    with refused(Rejection.MALFORMED_NOTE):
        sign_note("abc", LOG_KEY)
    with refused(Rejection.MALFORMED_NOTE):
        sign_note("a\rb\n", LOG_KEY)


def test_cosignatures_by_several_keys_each_verify() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG_KEY, OTHER_KEY)
    opened = open_note(note, [LOG_KEY.verifier(), OTHER_KEY.verifier()])
    assert [s.name for s in opened.verified] == [ORIGIN, "witness.example/w1"]
    assert verify_checkpoint(note, LOG_KEY.verifier(), ORIGIN) == CHECKPOINT  # the cosignature is set aside


# --- checkpoints -------------------------------------------------------------------------------


def test_a_checkpoint_body_is_origin_size_and_base64_root_each_on_its_own_line() -> None:
    assert CHECKPOINT.body() == f"{ORIGIN}\n3\n{base64.b64encode(ROOT).decode()}\n"
    assert SIGNED.startswith(CHECKPOINT.body() + "\n— backa.example/ystad ")
    assert parse_checkpoint_body(CHECKPOINT.body()) == CHECKPOINT


def test_a_signed_checkpoint_verifies_with_the_logs_key_and_origin() -> None:
    assert verify_checkpoint(SIGNED, LOG_KEY.verifier(), ORIGIN) == CHECKPOINT
    assert verify_checkpoint(SIGNED.encode("utf-8"), [parse_verifier_key(LOG_KEY.verifier().encode())], ORIGIN) == CHECKPOINT


def test_a_checkpoint_signed_by_the_go_checksum_database_verifies() -> None:
    checkpoint = verify_checkpoint(SUMDB_CHECKPOINT, parse_verifier_key(SUMDB_VKEY), SUMDB_ORIGIN)
    assert checkpoint.size == 15368405
    assert base64.b64encode(checkpoint.root_hash).decode() == "/g9am3I6YWNKaZX/jkne1fqd9zEyjss+JXyPXG0WfkY="
    with refused(Rejection.WRONG_ORIGIN):
        verify_checkpoint(SUMDB_CHECKPOINT, parse_verifier_key(SUMDB_VKEY), "sum.golang.org")
    with refused(Rejection.BAD_SIGNATURE):
        verify_checkpoint(SUMDB_CHECKPOINT.replace("15368405", "15368406"), parse_verifier_key(SUMDB_VKEY), SUMDB_ORIGIN)


def test_the_spec_example_checkpoint_has_the_expected_form() -> None:
    text, signatures = split_note(C2SP_CHECKPOINT)
    checkpoint = parse_checkpoint_body(text)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.extensions == ()
    assert signatures[0].name == checkpoint.origin
    with refused(Rejection.UNKNOWN_KEY):  # the text is never trusted without a known key
        verify_checkpoint(C2SP_CHECKPOINT, LOG_KEY.verifier(), checkpoint.origin)


def test_extension_lines_are_kept_and_signed() -> None:
    with_extension = Checkpoint(ORIGIN, 3, ROOT, ("timestamp 1700000000",))
    note = sign_checkpoint(with_extension, LOG_KEY)
    assert verify_checkpoint(note, LOG_KEY.verifier(), ORIGIN) == with_extension


ROOT64 = base64.b64encode(ROOT).decode()
ZERO64 = base64.b64encode(bytes(32)).decode()
URLSAFE64 = base64.urlsafe_b64encode(b"\xfb" * 32).decode()  # '-' and '_' where standard base64 has '+' and '/'


def _signed_body(body: str) -> str:
    """A body signed by the log's own key: the signature is good, so only the form can fail."""
    return sign_note(body, LOG_KEY)


# (name, the note as presented, why it is refused)
REFUSED_CHECKPOINTS = [
    ("size that is not a number", _signed_body(f"{ORIGIN}\nthree\n{ROOT64}\n"), Rejection.BAD_TREE_SIZE),
    ("size with a leading zero", _signed_body(f"{ORIGIN}\n03\n{ROOT64}\n"), Rejection.BAD_TREE_SIZE),
    ("size with a plus sign", _signed_body(f"{ORIGIN}\n+3\n{ROOT64}\n"), Rejection.BAD_TREE_SIZE),
    ("negative size", _signed_body(f"{ORIGIN}\n-3\n{ROOT64}\n"), Rejection.BAD_TREE_SIZE),
    ("size with a leading space", _signed_body(f"{ORIGIN}\n 3\n{ROOT64}\n"), Rejection.BAD_TREE_SIZE),
    ("size with a trailing space", _signed_body(f"{ORIGIN}\n3 \n{ROOT64}\n"), Rejection.BAD_TREE_SIZE),
    ("size with an underscore", _signed_body(f"{ORIGIN}\n1_000\n{ROOT64}\n"), Rejection.BAD_TREE_SIZE),
    ("size in non-ascii digits", _signed_body(f"{ORIGIN}\n３\n{ROOT64}\n"), Rejection.BAD_TREE_SIZE),
    ("size in hexadecimal", _signed_body(f"{ORIGIN}\n0x3\n{ROOT64}\n"), Rejection.BAD_TREE_SIZE),
    ("size beyond 64 bits", _signed_body(f"{ORIGIN}\n{2**64}\n{ROOT64}\n"), Rejection.BAD_TREE_SIZE),
    ("size of five thousand digits", _signed_body(f"{ORIGIN}\n{'9' * 5000}\n{ROOT64}\n"), Rejection.BAD_TREE_SIZE),
    ("empty size line", _signed_body(f"{ORIGIN}\n\n{ROOT64}\n"), Rejection.BAD_TREE_SIZE),
    ("root without its padding", _signed_body(f"{ORIGIN}\n3\n{ROOT64.rstrip('=')}\n"), Rejection.BAD_ROOT_HASH),
    ("root with non-zero padding bits", _signed_body(f"{ORIGIN}\n3\n{ZERO64[:-2]}B=\n"), Rejection.BAD_ROOT_HASH),
    ("root in url-safe base64", _signed_body(f"{ORIGIN}\n3\n{URLSAFE64}\n"), Rejection.BAD_ROOT_HASH),
    ("root with a trailing space", _signed_body(f"{ORIGIN}\n3\n{ROOT64} \n"), Rejection.BAD_ROOT_HASH),
    ("root of 31 bytes", _signed_body(f"{ORIGIN}\n3\n{base64.b64encode(ROOT[:31]).decode()}\n"), Rejection.BAD_ROOT_HASH),
    ("root of 33 bytes", _signed_body(f"{ORIGIN}\n3\n{base64.b64encode(ROOT + b'x').decode()}\n"), Rejection.BAD_ROOT_HASH),
    ("root in hex", _signed_body(f"{ORIGIN}\n3\n{ROOT.hex()}\n"), Rejection.BAD_ROOT_HASH),
    ("missing root line", _signed_body(f"{ORIGIN}\n3\n"), Rejection.MALFORMED_CHECKPOINT),
    ("empty origin line", _signed_body(f"\n3\n{ROOT64}\n"), Rejection.MALFORMED_CHECKPOINT),
    ("empty extension line", _signed_body(f"{ORIGIN}\n3\n{ROOT64}\n\nextension\n"), Rejection.MALFORMED_CHECKPOINT),
    ("origin of another log", _signed_body(f"backa.example/lidingo\n3\n{ROOT64}\n"), Rejection.WRONG_ORIGIN),
    ("origin with a trailing space", _signed_body(f"{ORIGIN} \n3\n{ROOT64}\n"), Rejection.WRONG_ORIGIN),
    ("carriage return line ends", SIGNED.replace("\n", "\r\n"), Rejection.MALFORMED_NOTE),
    ("no blank line before the signature", SIGNED.replace("\n\n", "\n"), Rejection.MALFORMED_NOTE),
    ("signed by an unknown key", sign_checkpoint(CHECKPOINT, OTHER_KEY), Rejection.UNKNOWN_KEY),
    ("signed by another key under the log's name", sign_checkpoint(CHECKPOINT, NoteSigner.from_seed(ORIGIN, bytes(32))), Rejection.UNKNOWN_KEY),
    ("size changed after signing", SIGNED.replace("\n3\n", "\n4\n", 1), Rejection.BAD_SIGNATURE),
    ("root changed after signing", SIGNED.replace(ROOT64, ZERO64), Rejection.BAD_SIGNATURE),
    (
        "another checkpoint's signature spliced on",
        CHECKPOINT.body() + "\n" + sign_checkpoint(Checkpoint(ORIGIN, 2, ROOT), LOG_KEY).partition("\n\n")[2],
        Rejection.BAD_SIGNATURE,
    ),
]


@pytest.mark.parametrize(("name", "note", "reason"), REFUSED_CHECKPOINTS, ids=[r[0] for r in REFUSED_CHECKPOINTS])
def test_a_bad_checkpoint_is_refused_naming_what_failed(name: str, note: str, reason: Rejection) -> None:
    with refused(reason) as caught:
        verify_checkpoint(note, LOG_KEY.verifier(), ORIGIN)
    assert caught.value.clause.startswith(("signed-note", "tlog-checkpoint"))


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("an empty origin", lambda: Checkpoint("", 3, ROOT)),
        ("an origin of two lines", lambda: Checkpoint("a\nb", 3, ROOT)),
        ("a negative size", lambda: Checkpoint(ORIGIN, -1, ROOT)),
        ("a size beyond 64 bits", lambda: Checkpoint(ORIGIN, 2**64, ROOT)),
        ("a short root", lambda: Checkpoint(ORIGIN, 3, ROOT[:16])),
        ("an empty extension line", lambda: Checkpoint(ORIGIN, 3, ROOT, ("",))),
    ],
)
def test_the_hub_cannot_build_a_checkpoint_it_would_refuse_to_read(name: str, build: Callable[[], Checkpoint]) -> None:
    with pytest.raises(NoteError):
        build()


# --- properties ----------------------------------------------------------------------------------

origins = st.text(st.characters(min_codepoint=0x20, exclude_categories=("Cs",)), min_size=1, max_size=30)


@settings(max_examples=80, deadline=None)
@given(origin=origins, size=st.integers(0, 2**64 - 1), root_hash=st.binary(min_size=32, max_size=32))
def test_any_checkpoint_round_trips_through_signing_and_verifying(origin: str, size: int, root_hash: bytes) -> None:
    checkpoint = Checkpoint(origin, size, root_hash)
    note = sign_checkpoint(checkpoint, LOG_KEY)
    assert verify_checkpoint(note, LOG_KEY.verifier(), origin) == checkpoint


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_changing_any_one_character_of_a_signed_checkpoint_is_refused(data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(SIGNED) - 1), label="position")
    replacement = data.draw(st.sampled_from(["A", "a", "0", "9", "+", "/", "=", " ", "\n", "—", "é", ""]), label="new")
    if SIGNED[at] == replacement:
        replacement = "B" if replacement != "B" else "C"
    tampered = SIGNED[:at] + replacement + SIGNED[at + 1 :]
    with pytest.raises(NoteError):
        verify_checkpoint(tampered, LOG_KEY.verifier(), ORIGIN)


def test_signature_lines_write_back_as_they_were_read() -> None:
    _, signatures = split_note(GO_TEXT + "\n" + PETER_SIG)
    assert signatures == [Signature("PeterNeumann", bytes.fromhex("c74f20a3"), signatures[0].signature)]
    assert signatures[0].line() == PETER_SIG


def test_a_verifier_key_checks_its_own_form() -> None:
    with refused(Rejection.MALFORMED_KEY):
        VerifierKey("a+b", bytes(32))
    with refused(Rejection.MALFORMED_KEY):
        VerifierKey("name", bytes(31))
