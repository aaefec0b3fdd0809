"""``audit verify`` with the anchors outside the state database: the audit heads the published PR
commits record (the local forge's branches; a GitHub forge's PRs are not listed here), so an
emptied or truncated chain fails even when its head row was reset to match."""

from __future__ import annotations

from services.deps import Deps
from store import audit


def forge_anchors(deps: Deps) -> list[audit.AuditAnchor]:
    """The ``Audit-Head`` trailers of every branch the local forge published (none elsewhere)."""
    if deps.settings.forge != "local" or not deps.settings.gitops_repo:
        return []
    from domain.errors import CostpilotError
    from gitops.forges.local import LocalForge

    try:
        forge = deps.forge()
    except CostpilotError:  # no repository there: nothing to check against
        return []
    if not isinstance(forge, LocalForge):
        return []
    return [audit.AuditAnchor(seq=a.seq, hash=a.hash, where=a.where) for a in forge.audit_anchors()]


def verify(deps: Deps) -> audit.AuditVerification:
    """The chain, its anchors and the proposals' states (``store.audit.verify``)."""
    return audit.verify(deps.engine, forge_anchors(deps))
