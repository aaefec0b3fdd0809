"""Secret detection in the added lines of a diff: known token shapes, then high-entropy strings.

Findings never echo a secret: they carry the file, the line and a redacted preview.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from guardrails.policy import SecretsPolicy

# Shapes published by the issuers (and used by gitleaks / detect-secrets).
PATTERNS: dict[str, re.Pattern[str]] = {
    "aws-access-key-id": re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
    "github-token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"),
    "slack-token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
    "openai-key": re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}\b"),
    "google-api-key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "private-key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "jwt": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "password-assignment": re.compile(
        r"(?i)\b(?:password|passwd|secret|api[_-]?key|access[_-]?key|token|client[_-]?secret)\b\s*[:=]\s*"
        r"[\"']?(?!\$\{)[^\s\"'#]{8,}"
    ),
}
_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-]{8,}")
_DIGEST = re.compile(r"^(?:sha256|sha512):[0-9a-f]+$|^[0-9a-f]{40}$")


@dataclass(frozen=True)
class SecretHit:
    file: str
    line: int
    kind: str
    preview: str


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def scan_diff(diff: str, policy: SecretsPolicy) -> list[SecretHit]:
    """Secrets on the ``+`` lines of a unified diff (removed and context lines are not new)."""
    allow = [re.compile(p) for p in policy.allow_patterns]
    hits: list[SecretHit] = []
    file, line_no = "?", 0
    for raw in diff.splitlines():
        if raw.startswith("+++ "):
            file = raw[4:].removeprefix("b/")
            continue
        if raw.startswith("@@"):
            match = re.search(r"\+(\d+)", raw)
            line_no = int(match.group(1)) - 1 if match else 0
            continue
        if raw.startswith("-") or raw.startswith("---"):
            continue
        line_no += 1
        if not raw.startswith("+"):
            continue
        hits.extend(scan_line(raw[1:], file, line_no, policy, allow))
    return hits


def scan_line(
    text: str, file: str, line: int, policy: SecretsPolicy, allow: list[re.Pattern[str]]
) -> list[SecretHit]:
    if any(p.search(text) for p in allow):
        return []
    for kind, pattern in PATTERNS.items():
        match = pattern.search(text)
        if match:
            return [SecretHit(file, line, kind, _redact(match.group(0)))]
    for token in _TOKEN.findall(text):
        if len(token) < policy.min_entropy_length or _DIGEST.match(token):
            continue
        classes = sum(bool(re.search(c, token)) for c in (r"[a-z]", r"[A-Z]", r"[0-9]"))
        if classes >= 2 and entropy(token) >= policy.entropy_bits_per_char:
            return [SecretHit(file, line, "high-entropy-string", _redact(token))]
    return []


def _redact(secret: str) -> str:
    return secret[:4] + "…" + f"({len(secret)} chars)"
