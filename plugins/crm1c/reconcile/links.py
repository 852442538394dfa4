"""Links from a report into both systems, built from the clients' base URLs (never with credentials).

* CRM: ``https://<portal>/crm/company/details/<ID>/``, ``…/crm/deal/details/<ID>/``, a smart invoice
  ``…/crm/type/31/details/<ID>/``;
* 1C web client: ``https://<server>/<publication>/#e1cib/data/Справочник.Контрагенты?ref=<32 hex>`` (a
  document: ``Документ.<Name>``), the ref being the Ref_Key's groups in 1C's storage order (4, 5, 3, 2, 1);
* 1C OData: ``<OData root>Catalog_Контрагенты(guid'<Ref_Key>')`` (asks for the 1C login).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

ODATA_SUFFIX = "/odata/standard.odata/"
#: OData entity-set prefix → the metadata class in 1C navigation links.
_METADATA_CLASS = {"Catalog": "Справочник", "Document": "Документ"}


def without_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` dropped, query and fragment too (only scheme, host, path stay)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def navigation_ref(ref_key: str) -> str:
    """The ``ref=`` of a 1C navigation link for a Ref_Key (``51012ccc-397d-11de-b595-00055d80a2b9`` →
    ``b59500055d80a2b911de397d51012ccc``)."""
    g1, g2, g3, g4, g5 = str(uuid.UUID(ref_key)).split("-")
    return g4 + g5 + g3 + g2 + g1


@dataclass(frozen=True)
class SystemLinks:
    """Where the records live; None leaves that system's links out."""

    crm_portal: str | None = None
    onec_odata: str | None = None

    @classmethod
    def of(cls, crm_base: str | None, onec_base: str | None) -> SystemLinks:
        """From the clients' ``base_url`` s (the portal, the OData root)."""
        odata = without_credentials(onec_base) if onec_base else None
        if odata is not None and not odata.endswith("/"):
            odata += "/"
        return cls(without_credentials(crm_base).rstrip("/") if crm_base else None, odata)

    def crm_company(self, company_id: str) -> tuple[tuple[str, str], ...]:
        if self.crm_portal is None:
            return ()
        return (("CRM", f"{self.crm_portal}/crm/company/details/{quote(company_id)}/"),)

    def crm_deal(self, deal_id: str) -> tuple[tuple[str, str], ...]:
        if self.crm_portal is None:
            return ()
        return (("CRM", f"{self.crm_portal}/crm/deal/details/{quote(deal_id)}/"),)

    def crm_smart_invoice(self, item_id: str) -> tuple[tuple[str, str], ...]:
        if self.crm_portal is None:
            return ()
        return (("CRM", f"{self.crm_portal}/crm/type/31/details/{quote(item_id)}/"),)

    def onec_object(self, entity_set: str, ref_key: str) -> tuple[tuple[str, str], ...]:
        """The web-client link (when the OData root sits in a publication) and the OData URL."""
        if self.onec_odata is None:
            return ()
        guid = str(uuid.UUID(ref_key))
        links = []
        prefix, _, name = entity_set.partition("_")
        if self.onec_odata.endswith(ODATA_SUFFIX) and prefix in _METADATA_CLASS:
            publication = self.onec_odata.removesuffix(ODATA_SUFFIX)
            target = quote(f"{_METADATA_CLASS[prefix]}.{name}", safe=".")
            links.append(("1С", f"{publication}/#e1cib/data/{target}?ref={navigation_ref(guid)}"))
        links.append(("OData", f"{self.onec_odata}{quote(entity_set, safe='_')}(guid'{guid}')"))
        return tuple(links)
