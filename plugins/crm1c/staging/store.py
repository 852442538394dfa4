"""The staging repository: one small, transactional method per operation the sync engine needs.

Every method runs in its own transaction unless given ``conn=`` (from :meth:`Staging.transaction` or any
``engine.begin()``), in which case it joins that transaction and commits with it::

    staging = Staging(make_engine(url))
    intent = staging.open_intent("counterparty", "onec", "create", "crm", "42", payload, match_key="inn:…")
    ...  # external write; on success:
    staging.complete_intent_and_link(intent.id, ref_key, base=canonical, crm_hash=h, onec_hash=h)
"""

from __future__ import annotations

from crm1c.staging.repo.audit import AuditLog
from crm1c.staging.repo.control import Control
from crm1c.staging.repo.outbox import Outbox
from crm1c.staging.repo.review import Review
from crm1c.staging.repo.seen import SeenRecords
from crm1c.staging.repo.state import Bookkeeping


class Staging(SeenRecords, Outbox, Review, Control, AuditLog, Bookkeeping):
    """Repository over the staging DB (seen records, xref, outbox, quarantine, conflicts, audit, state)."""
