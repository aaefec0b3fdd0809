"""``audit verify`` with the anchors outside the state database: the audit heads the published PRs
record (the local forge's branch commits; a GitHub forge's PR bodies), so an emptied or truncated
chain fails even when its head row was reset to match."""

from __future__ import annotations

from services.deps import Deps
from store import audit


def forge_anchors(deps: Deps) -> list[audit.AuditAnchor]:
    """The audit heads every PR costpilot published records, read from the configured forge.
    No forge configured (or no repository there): nothing to check against. A forge that cannot
    be read (GitHub down) is an error: a verification that silently skipped it would pass."""
    if not deps.settings.gitops_repo:
        return []
    from domain.errors import CostpilotError

    try:
        forge = deps.forge()
    except CostpilotError:  # no repository there, or no credentials: nothing was published
        return []
    read = getattr(forge, "audit_anchors", None)
    if read is None:
        return []
    return [audit.AuditAnchor(seq=a.seq, hash=a.hash, where=a.where) for a in read()]


def verify(deps: Deps) -> audit.AuditVerification:
    """The chain, its anchors and the proposals' states (``store.audit.verify``)."""
    return audit.verify(deps.engine, forge_anchors(deps))
