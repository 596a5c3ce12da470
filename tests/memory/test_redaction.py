"""Redaction: every secret shape found and only the secret replaced, ordinary text (hashes,
UUIDs, paths, URLs, e-mail, prose) left alone, known values, nested values, idempotence, and
fuzzing that redacting never fails, is idempotent and never lets a known value through."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from memory.redaction import REDACTED, Redactor, redact

# No example database: the repository ignores no .hypothesis folder, and fuzzing must not
# depend on earlier runs. No deadline: timing is not what these tests check.
FUZZ = settings(database=None, deadline=None, max_examples=400)

R = REDACTED

# Fake credentials, assembled so that this file does not itself look like it leaks any (secret
# scanners would flag the literal prefixes).
OPENAI = "sk-" + "Xq7wP2mZ9rT4vB8nK1cJ5hF3dL6sA0gY"
OPENAI_PROJECT = "sk-" + "proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_Q7-Rt0"
ANTHROPIC = "sk-" + "ant-api03-" + "Zx81Qw2Er3Ty4Ui5Op6As7Df8Gh9Jk0Lz-xc_VbNm1234"
GITHUB_BODY = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITHUB_PAT = "github_" + "pat_" + "11ABCDEFG0123456789_abcdefghijKLMNOPQRSTuvwxyz0123456789ab"
SLACK_BOT = "xox" + "b-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_USER = "xox" + "p-2222222222-3333333333-4444444444-0a1b2c3d4e5f"
AWS_KEY_ID = "AKIA" + "Q3EGRTY5UIOP7ASD"
AWS_SESSION_KEY_ID = "ASIA" + "ZXCV1BNM2LKJ3HGF"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GOOGLE = "AIza" + "SyD4-9kQm2Lp7Xn3Rb8Tc1Vz6Hw5Jy0Fe_G"
STRIPE_LIVE = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
STRIPE_RESTRICTED = "rk_" + "live_" + "51Hq2X7Ab9Cd3Ef5Gh7Ij9Kl"
STRIPE_TEST = "sk_" + "test_" + "26PHem9AhJZvU623DfE1x4sd"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
OPAQUE = "Qcb0Orv1zh30vL1MPRsbmdiHiMwcLyZvn1arpZvJ"
OPAQUE_BASE64 = "UJM2FOhG9aTNY0Pg4hgqjNzZ/lQBiMGRxPD5Y2e0bw=="
PEM_BODY = "MIIEowIBAAKCAQEAvx3p8Yc0ZQ1m\nZ2lmLXN0cmluZy1ub3QtYS1rZXk=\n"


def pem(kind: str) -> str:
    return f"-----BEGIN {kind}-----\n{PEM_BODY}-----END {kind}-----"


POSITIVES: list[tuple[str, str]] = [
    # Keys and tokens of well-known services.
    (f"use {OPENAI} now", f"use {R} now"),
    (f"OPENAI={OPENAI_PROJECT}", f"OPENAI={R}"),
    (f"({ANTHROPIC})", f"({R})"),
    *[(f"token {prefix}_{GITHUB_BODY}.", f"token {R}.") for prefix in ("ghp", "gho", "ghu")],
    *[(f"{prefix}_{GITHUB_BODY}", R) for prefix in ("ghs", "ghr")],
    (f"git clone with {GITHUB_PAT} ok", f"git clone with {R} ok"),
    (f"slack: {SLACK_BOT}", f"slack: {R}"),
    (f"'{SLACK_USER}'", f"'{R}'"),
    (f"id {AWS_KEY_ID} in", f"id {R} in"),
    (f"{AWS_SESSION_KEY_ID},", f"{R},"),
    (f"maps {GOOGLE} key", f"maps {R} key"),
    (f"{STRIPE_LIVE} {STRIPE_RESTRICTED} {STRIPE_TEST}", f"{R} {R} {R}"),
    (f"cookie session {JWT}; next", f"cookie session {R}; next"),
    # Credentials after an authentication scheme.
    ("Authorization: Bearer abc.def-ghi", f"Authorization: Bearer {R}"),
    ("authorization: bearer t0k3n", f"authorization: bearer {R}"),
    ("curl -H 'Authorization: Basic dXNlcjpwYXNz' x", f"curl -H 'Authorization: Basic {R}' x"),
    ('{"Authorization": "Token f00ba4"}', f'{{"Authorization": "Token {R}"}}'),
    ("Proxy-Authorization: Basic Zm9vOmJhcg==", f"Proxy-Authorization: Basic {R}"),
    ("send Bearer 9f8e7d6c5b4a3 with it", f"send Bearer {R} with it"),
    ("Basic Zm9vOmJhcg== was sent", f"Basic {R} was sent"),
    # Private key blocks, whole.
    (f"key:\n{pem('RSA PRIVATE KEY')}\nafter", f"key:\n{R}\nafter"),
    (pem("OPENSSH PRIVATE KEY"), R),
    (pem("ENCRYPTED PRIVATE KEY") + " and " + pem("EC PRIVATE KEY"), f"{R} and {R}"),
    (pem("PRIVATE KEY").replace("\n", "\\n"), R),
    ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC\n", f"{R}\n"),
    # Passwords in URLs.
    (
        "postgres://admin:s3cr3t@db.example.com:5432/app",
        f"postgres://admin:{R}@db.example.com:5432/app",
    ),
    ("redis://:hunter22@cache:6379/0", f"redis://:{R}@cache:6379/0"),
    ("see https://bob:p@ss:word@example.com/x", f"see https://bob:{R}@example.com/x"),
    # Assignments whose key names a secret.
    ("password=hunter22", f"password={R}"),
    ("PASSWD=hunter22 USER=bob", f"PASSWD={R} USER=bob"),
    ("Server=db;Uid=bob;Pwd=hunter22;", f"Server=db;Uid=bob;Pwd={R};"),
    ("passphrase: correct", f"passphrase: {R}"),
    ("secret = 'abc def'", f"secret = '{R}'"),
    ("token:abc", f"token:{R}"),
    ("api_key=abc api-key=def apikey=ghi", f"api_key={R} api-key={R} apikey={R}"),
    ("access_key: AKIA", f"access_key: {R}"),
    ("secret_key=xyz", f"secret_key={R}"),
    ("client_secret=xyz&grant_type=code", f"client_secret={R}&grant_type=code"),
    ("auth=abc", f"auth={R}"),
    ("credentials: admin:admin", f"credentials: {R}"),
    ("private_key = zzz", f"private_key = {R}"),
    (f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", f"AWS_SECRET_ACCESS_KEY={R}"),
    ("export DB_PASSWORD='x'", f"export DB_PASSWORD='{R}'"),
    ("DB_PASSWORD: x", f"DB_PASSWORD: {R}"),
    ('{"password": "hunter22", "user": "bob"}', f'{{"password": "{R}", "user": "bob"}}'),
    ('{"Api_Key":"a\\"b", "n": 1}', f'{{"Api_Key":"{R}", "n": 1}}'),
    ('"{\\"password\\": \\"hunter22\\"}"', f'"{{\\"password\\": \\"{R}\\"}}"'),
    ("dbPassword=abc, apiKey='xyz123'", f"dbPassword={R}, apiKey='{R}'"),
    ("call(GithubToken=abc)", f"call(GithubToken={R})"),
    ("X-Api-Key: 0123456789", f"X-Api-Key: {R}"),
    ("GET /v1/data?api_key=abc123&page=2", f"GET /v1/data?api_key={R}&page=2"),
    ("$conf = ['password' => 'hunter22'];", f"$conf = ['password' => '{R}'];"),
    ("auth: Bearer abcdef", f"auth: Bearer {R}"),
    ("mysql --password hunter22 --user bob", f"mysql --password {R} --user bob"),
    ("tool --api-key=abc --db-password xyz", f"tool --api-key={R} --db-password {R}"),
    # Secrets told in prose.
    ("my password is hunter22", f"my password is {R}"),
    ("the password for the staging db is hunter2hunter", f"the password for the staging db is {R}"),
    ("my api key for openai is abc123XYZ789", f"my api key for openai is {R}"),
    ("The API key is abc123xyz.", f"The API key is {R}."),
    ("my pin is 4821, ok?", f"my pin is {R}, ok?"),
    ("the passphrase was 'correct horse'", f"the passphrase was '{R}'"),
    ("Access key: K7mD3nG9", f"Access key: {R}"),
    ("the secret key is: Zx9-Qw8", f"the secret key is: {R}"),
    ("my token is HunterTwo", f"my token is {R}"),
    # Long random-looking tokens.
    (f"session {OPAQUE} end", f"session {R} end"),
    (f"blob:{OPAQUE_BASE64}.", f"blob:{R}."),
    (f"https://example.com/a?sig={OPAQUE}&x=1", f"https://example.com/a?sig={R}&x=1"),
    (
        f"https://discord.com/api/webhooks/1234/{OPAQUE}",
        f"https://discord.com/api/webhooks/1234/{R}",
    ),
]

NEGATIVES = [
    # Prose.
    "Reset your password from the settings page.",
    "The password is required.",
    "The password for this form is required.",
    "The password is case-sensitive and the token was revoked.",
    "Your API key is missing; the secret is out.",
    "Tokens are counted per request, and the pin is bent.",
    "The Authorization header is missing.",
    "Basic usage is covered in the README. Bearer tokens expire after an hour.",
    "Basic 2024 edition",
    "My password isn't working.",
    "Token:",
    "passwords: 3 changed, max_tokens=1024, token_count: 12, password_min_length=12",
    "if password == other:\n    return auth",
    "Set DB_PASSWORD=<your password here> in .env",
    "Thanks! Let's meet at 10:30 in room B-12, then discuss the Q3 roadmap.",
    # Hashes and ids.
    "commit 3f786850e387550fdab836ed7e6dc881de23001b (short 3f78685)",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "SHA1 DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
    "0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
    "run 123e4567-e89b-12d3-a456-426614174000 and 123E4567-E89B-12D3-A456-426614174000",
    "GPU-9baca7f5-0f2f-01ac-6b05-8da14d6e9005",
    "run 20261125-101502-3fa2c1",
    # Paths.
    "/home/alice/Projects/Mark1/memory/redaction.py",
    "C:\\Users\\Alice\\Documents\\Mark1Projects\\secret_notes.txt",
    "~/.config/mark1/config.toml and src/components/UserProfileCard2/index.tsx",
    "/usr/share/doc/lsof/00QUICKSTART",
    # URLs.
    "https://github.com/python/cpython/blob/785cc6770588de087d09e89a69110af2542be208/Lib/sysconfig.py",
    "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main/model.onnx",
    "https://example.com:8080/search?q=redaction&page=2#results",
    "git@github.com:Anthropic/mark1.git",
    # E-mail.
    "alice.smith+mark1@example.com wrote to bob@mail.example.org",
    # Identifiers.
    "V1alpha3ResourcePoolStatusRequestStatus",
    "test_redaction_handles_Unicode_input_2024_edge_cases",
    "Cryptography_HAS_SSL_GET0_GROUP_NAME",
    "MyProjectSettingsController2FactoryBean",
    # Near misses of the service patterns.
    "sk-learn-compatible-estimators-and-pipelines",
    "task-2024-quarterly-review-for-the-platform",
    "AKIA123 AIzaShort eyJhbGciOi xoxb- ghp_short sk_live_ github_pat_",
    "-----BEGIN PUBLIC KEY----- is not a secret",
    # Short known-looking values.
    "pin 1234",
]


@pytest.mark.parametrize(("text", "expected"), POSITIVES)
def test_secret_shapes_are_redacted_and_nothing_else(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", NEGATIVES)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize("text", [text for text, _ in POSITIVES] + NEGATIVES)
def test_redacting_twice_is_redacting_once(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    knowing = Redactor(["hunter22", "bob@mail.example.org", OPAQUE])
    once = knowing.redact(text)
    assert knowing.redact(once) == once


def test_the_marker_itself_is_stable() -> None:
    text = f"{R} password={R} '{R}' Bearer {R} https://u:{R}@h {R}{R}"
    assert redact(text) == text


def test_known_values_are_redacted_exactly() -> None:
    redactor = Redactor(["vault-value-1", "a.b*c(d)+e?"])
    text = "x vault-value-1 y a.b*c(d)+e? z aXb*c(d)+e?"
    assert redactor.redact(text) == f"x {R} y {R} z aXb*c(d)+e?"


def test_a_known_value_containing_another_is_redacted_whole() -> None:
    redactor = Redactor(["hunter", "hunter22-extended", "hunter22"])
    assert redactor.redact("a hunter22-extended b hunter22 c") == f"a {R} b {R} c"


def test_short_known_values_are_ignored() -> None:
    redactor = Redactor(["12345", "abc", ""])
    assert redactor.redact("abc 12345 abcdef") == "abc 12345 abcdef"


def test_known_values_inside_the_marker_are_ignored() -> None:
    redactor = Redactor(["REDACTED", "[REDACTED]", "EDACTED]", "hunter22"])
    assert redactor.redact("hunter22 REDACTED") == f"{R} REDACTED"
    assert redactor.redact(redactor.redact("hunter22")) == R


def test_known_value_is_also_found_without_surrounding_whitespace() -> None:
    redactor = Redactor(["s3cr3t-from-file\n"])
    assert redactor.redact("it was s3cr3t-from-file.") == f"it was {R}."


def test_with_known_adds_values_and_keeps_the_original() -> None:
    base = Redactor(["first-secret"])
    more = base.with_known(["second-secret"])
    text = "first-secret second-secret"
    assert more.redact(text) == f"{R} {R}"
    assert base.redact(text) == f"{R} second-secret"


def test_repr_does_not_show_the_values() -> None:
    shown = repr(Redactor(["first-secret", "second-secret"]))
    assert "secret" not in shown
    assert "2" in shown


class Pair(NamedTuple):
    name: str
    value: str


def test_nested_values_are_redacted_and_keys_kept() -> None:
    redactor = Redactor(["vault-value-1"])
    value: dict[Any, Any] = {
        "password": "correct horse battery staple",
        "DB_PASSWORD": "plain",
        "apiKey": "plain",
        "Authorization": "Bearer x",
        "client_secret": "",
        "token_count": "12",
        "note": "the password is hunter22",
        "items": [
            {"api_key": "plain", "ok": True, "n": 3},
            ("vault-value-1", None, 1.5),
            Pair("user", "token=abc"),
        ],
        "nested": {"secret": {"inner": "keep me"}, "pin": 1234},
        7: "vault-value-1",
    }
    assert redactor.redact_value(value) == {
        "password": R,
        "DB_PASSWORD": R,
        "apiKey": R,
        "Authorization": R,
        "client_secret": "",
        "token_count": "12",
        "note": f"the password is {R}",
        "items": [
            {"api_key": R, "ok": True, "n": 3},
            (R, None, 1.5),
            Pair("user", f"token={R}"),
        ],
        "nested": {"secret": {"inner": "keep me"}, "pin": 1234},
        7: R,
    }
    assert isinstance(redactor.redact_value(value)["items"][2], Pair)
    assert value["password"] == "correct horse battery staple"  # the input is not changed


@pytest.mark.parametrize("value", [None, 0, 1.5, True, b"password=x", {1, 2}])
def test_other_values_pass_through(value: Any) -> None:
    assert Redactor().redact_value(value) == value


def test_the_module_function_uses_patterns_only() -> None:
    assert redact("hunter22 and password=hunter22") == f"hunter22 and password={R}"


FRAGMENTS = [
    "password",
    "PASSWORD",
    "api_key",
    "token",
    "auth",
    "is",
    " is ",
    "=",
    ": ",
    "'",
    '"',
    "\\",
    "\\n",
    "\n",
    " ",
    ",",
    "@",
    "://",
    "https://u:",
    "Bearer ",
    "Basic ",
    "Authorization: ",
    R,
    "[",
    "]",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "sk-",
    "ghp_",
    "eyJ",
    "AKIA",
    "/",
    "_",
    "-",
    "==",
    OPAQUE[:20],
    OPAQUE[20:],
    "hunter22",
    "abc",
    "4821",
]
SECRETISH_TEXT = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=30
).map("".join)
ANY_TEXT = st.one_of(st.text(), SECRETISH_TEXT)
CANARY = "canary-Zx81-Qw2E-vault"


@FUZZ
@given(ANY_TEXT)
@example("password=x[REDACTED]]")
@example("https://a:b@c:d@e/")
def test_redact_never_fails_and_is_idempotent(text: str) -> None:
    once = redact(text)
    assert isinstance(once, str)
    assert redact(once) == once


@FUZZ
@given(ANY_TEXT, ANY_TEXT)
def test_a_known_value_never_survives(before: str, after: str) -> None:
    redactor = Redactor([CANARY])
    once = redactor.redact(before + CANARY + after)
    assert CANARY not in once
    assert redactor.redact(once) == once
