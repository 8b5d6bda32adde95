"""reviewbot's own secret rules, for what detect-secrets misses, and the patterns the redactor uses.

detect-secrets (reviewbot.secrets.detect) finds most credential shapes. Its gaps, each covered here:

* keyword-named assignments in every naming style: ``DB_PASSWORD=...``, ``aws_secret_access_key: ...``,
  ``"apiKey": "..."``, ``STRIPE_API_KEY=...``, ``dbPassword = '...'``, ``x-api-key: ...``; its keyword
  plugin depends on the file type and misses unquoted values outside YAML;
* provider key formats it does not know (Anthropic, GitLab, npm, Google, JWT ...) or reports only
  in part (its GitHub plugin reports "ghp", not the token);
* private key blocks as a whole (it reports the BEGIN line, not the key);
* ``.env``-style files, where every value is a string and no quote marks a literal.

The same patterns are the redactor's second net: text that reviewbot writes is searched for them,
so a secret a model invents or quotes from a file outside the diff is masked too. Pure.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath

# Provider formats: (kind, pattern); the whole match is the secret. Bounded by lookarounds on
# letters and digits only, so an underscore or a dash before a token does not hide it.
_B, _E = r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])"
PROVIDER_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((kind, re.compile(_B + p + _E)) for kind, p in (
    ("Anthropic API key", r"sk-ant-[A-Za-z0-9_-]{20,}"),
    ("OpenAI API key", r"sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}"),
    ("GitHub token", r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
    ("GitLab token", r"glpat-[A-Za-z0-9_-]{20,}"),
    ("AWS access key id", r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}"),
    ("Stripe secret key", r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("Slack token", r"xox[abposr]-[A-Za-z0-9-]{10,}"),
    ("Slack webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}"),
    ("Google API key", r"AIza[0-9A-Za-z_-]{35}"),
    ("npm token", r"npm_[A-Za-z0-9]{36}"),
    ("PyPI token", r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"),
    ("SendGrid API key", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
    ("JSON web token", r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
))
# user:password@ in a URL: the password is the secret.
URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@\"'`]+:(?P<value>[^\s:/@\"'`]{3,})@")
# A private key block (or its opening and the base64 that follows, when a quote is cut short).
PRIVATE_KEY_BEGIN = re.compile(r"-----BEGIN (?P<label>[A-Z0-9 ]*)PRIVATE KEY(?: BLOCK)?-----")
PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|(?:\\[nr]|[\sA-Za-z0-9+/=:,-])*)", re.S)
PRIVATE_KEY_MASK = "-----BEGIN PRIVATE KEY-----…[redacted]-----END PRIVATE KEY-----"

# name <sep> value, in code, config, JSON, YAML, shell, .properties: the name is split into its
# parts (snake, kebab, dotted, camel and UPPER case alike) and checked by `secret_name`.
_QUOTED = r"""(?P<q>["'`])(?P<qvalue>(?:(?!(?P=q)).){1,500}?)(?P=q)"""
_BARE = r"""(?P<value>[^\s"'`,;]{1,500})"""
ASSIGNMENT = re.compile(
    r"""(?<![A-Za-z0-9_.-])(?P<name>[A-Za-z_$@][A-Za-z0-9_.$-]{1,80})["'`]?\]?\s*"""
    r"""(?:(?::=|=>|\?\?=|\|\|=|=|:)\s*|\s+(?=["']))(?:""" + _QUOTED + "|" + _BARE + ")")
_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SECRET_PARTS = frozenset({"password", "passwd", "pwd", "passphrase", "secret", "secrets", "token", "apikey",
                           "credential", "credentials", "privatekey", "secretkey", "accesskey"})
_SECRET_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"),
                           ("signing", "key"), ("encryption", "key"), ("master", "key"), ("client", "secret"),
                           ("auth", "key"), ("account", "key"), ("session", "key"), ("webhook", "secret")})
# a name whose last part says the value is about the secret, not the secret
_NOT_A_VALUE = frozenset({"file", "path", "dir", "name", "id", "env", "var", "length", "len", "field", "header",
                          "type", "prompt", "label", "min", "max", "regex", "pattern", "policy", "url", "uri",
                          "endpoint", "count", "expiry", "expires", "ttl", "timeout", "format", "param", "key"})
_PLACEHOLDER = re.compile(
    r"(?i)^(?:x{3,}|\*{3,}|\.{3,}|-+|_+|#+|0+|changeme|change[_-]?me|changeit|password\d*|passw0rd|secret|example.*|"
    r".*example|dummy.*|test.*|fake.*|sample.*|placeholder.*|your[_-].*|my[_-].*|<.*>|\$\{.*\}|\$[A-Z_]+|\{\{.*\}\}|"
    r"%\(.*\)s|%s|none|null|nil|true|false|undefined|redacted.*|hidden|secret[_-]?here|todo|tbd|insert.*|replace.*|"
    r"enter.*|put[_-].*|foo.*|bar|baz|qwerty|letmein|admin|root|\[.*\]|not[_-]?set|unset|empty|default|string|"
    r"abc\d*|123\d*)$")
_CODE_PREFIX = re.compile(r"(?i)^(?:os\.|env\.|process\.env|config\.|settings\.|self\.|this\.|params\.|request\.|"
                          r"args\.|opts\.|options\.|props\.|secrets\.|vars\.|inputs\.|import |require|new |await |"
                          r"function|lambda|getenv|get_|read_|load_)")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(?P<value>.*?)\s*$")
MASK_MARK = "…["


def entropy(s: str) -> float:
    counts = Counter(s)
    return -sum(c / len(s) * math.log2(c / len(s)) for c in counts.values()) if s else 0.0


def _classes(s: str) -> int:
    return sum((any(c.islower() for c in s), any(c.isupper() for c in s), any(c.isdigit() for c in s),
                any(not c.isalnum() for c in s)))


def name_parts(name: str) -> list[str]:
    return [p.lower() for p in _PARTS.findall(name)]


def secret_name(name: str) -> bool:
    """Whether an assignment's name says it holds a secret, in any naming style."""
    parts = name_parts(name)
    if not parts or parts[-1] in _NOT_A_VALUE and not (len(parts) >= 2 and (parts[-2], parts[-1]) in _SECRET_PAIRS):
        return False
    joined = "".join(parts)
    pairs = zip(parts, parts[1:], strict=False)
    return (any(p in _SECRET_PARTS for p in parts) or any(pair in _SECRET_PAIRS for pair in pairs)
            or joined.endswith(("apikey", "secretkey", "accesskey", "privatekey")))


def placeholder(value: str) -> bool:
    v = value.strip()
    return bool(_PLACEHOLDER.match(v)) or MASK_MARK in v or v.startswith(("$", "%", "{", "<", "#{"))


def secret_value(value: str, quoted: bool, env_file: bool = False) -> bool:
    """Whether the value of a secret-named assignment looks like a real secret (not code, not a placeholder)."""
    v = value.strip()
    if len(v) < 8 or len(v) > 500 or placeholder(v) or any(c.isspace() for c in v):
        return False
    if not quoted and not env_file:
        if any(c in v for c in "()[]{}") or _CODE_PREFIX.match(v):
            return False
        if re.fullmatch(r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*|[A-Za-z_]+(?:\.[A-Za-z_]+)*", v):
            return False                     # a variable, a constant or an attribute
    if re.fullmatch(r"[A-Za-z_.-]+", v) and not (len(v) >= 16 and entropy(v) >= 3.5):
        return False                         # a word or a name ("secret_key"), not a credential
    return entropy(v) >= 3.0 or (_classes(v) >= 2 and entropy(v) >= 2.5)


def is_env_file(path: str) -> bool:
    name = PurePosixPath(path).name.lower()
    return name == ".env" or name.startswith(".env.") or name.endswith(".env") or name == ".envrc"


def _unquote(value: str) -> tuple[str, bool]:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1], True
    return value.split(" #", 1)[0].strip(), False


def scan_line(line: str, path: str = "") -> Iterator[tuple[str, str]]:
    """(kind, value) of every secret reviewbot's own rules see in one line."""
    for kind, pattern in PROVIDER_PATTERNS:
        for m in pattern.finditer(line):
            yield kind, m.group(0)
    for m in URL_CREDENTIALS.finditer(line):
        if url_password(m.group("value")):
            yield "password in a URL", m.group("value")
    env_file = is_env_file(path)
    if env_file and (e := _ENV_LINE.match(line)):
        value, quoted = _unquote(e.group("value"))
        if secret_name(e.group("name")) and secret_value(value, True, env_file=True):
            yield "secret in a .env file", value
        elif (len(value) >= 16 and not placeholder(value) and entropy(value) >= 3.5 and _classes(value) >= 2
              and " " not in value and "://" not in value):
            yield "high-entropy value in a .env file", value
        return
    for m in ASSIGNMENT.finditer(line):
        quoted = m.group("qvalue") is not None
        value = m.group("qvalue") if quoted else m.group("value")
        if secret_name(m.group("name")) and secret_value(value, quoted):
            yield "secret in a keyword-named assignment", value


_DIGEST_PARTS = frozenset({"hash", "digest", "sha", "sha1", "sha256", "sha512", "md5", "checksum", "etag", "integrity",
                           "fingerprint", "commit", "revision", "rev", "uuid", "guid", "id", "version", "crc",
                           "signature", "sig", "expected", "example"})


def high_entropy_assignment(line: str, value: str) -> bool:
    """Whether a high-entropy string detect-secrets found sits in an assignment to a name that is not
    a digest's (a hash, an etag, a commit id are high-entropy and public)."""
    for m in ASSIGNMENT.finditer(line):
        v = m.group("qvalue") if m.group("qvalue") is not None else m.group("value")
        if value in v and not placeholder(v):
            return not (set(name_parts(m.group("name"))) & _DIGEST_PARTS)
    return False


def strong_value(value: str) -> bool:
    """A keyword value detect-secrets reports is kept when it is not a bare word or identifier."""
    return secret_value(value, True) and bool(re.search(r"[0-9]|[^A-Za-z0-9_.]", value) or len(value) >= 24)


def url_password(value: str) -> bool:
    return len(value) >= 8 and not placeholder(value) and entropy(value) >= 3.0


def private_key_blocks(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, list[str]]]:
    """(line number of BEGIN, body lines) of each private key block in consecutive lines (read as a
    stream: a block is at most 199 lines; its END line, or the 200th, is not looked at again)."""
    it = iter(lines)
    for number, text in it:
        if PRIVATE_KEY_BEGIN.search(text):
            body = []
            for k, (_, line) in enumerate(it, start=1):
                if "-----END " in line or k >= 200:
                    break
                body.append(line.strip().strip("\"',+\\n"))
            yield number, [b for b in body if b and ":" not in b]
