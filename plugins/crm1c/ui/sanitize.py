"""A stored reconciliation report's HTML, reduced to the tables and text it is made of.

The report is produced by crm1c itself, but it is shown inside Airflow's UI, so it is treated as untrusted
text: only an allow-list of tags and attributes is kept, everything else (``script``, ``style``, event
handlers, ``javascript:`` links, …) is dropped, every text is escaped and scrubbed of credentials.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

from crm1c.redaction import scrub_credentials

#: Tags kept, with the attributes kept on each.
ALLOWED: dict[str, frozenset[str]] = {
    **dict.fromkeys(("h2", "h3", "h4", "p", "b", "i", "em", "strong", "code", "ul", "ol", "li"), frozenset()),
    **dict.fromkeys(("table", "thead", "tbody", "tr", "br"), frozenset()),
    "th": frozenset({"colspan", "rowspan", "align"}),
    "td": frozenset({"colspan", "rowspan", "align"}),
    "a": frozenset({"href"}),
}
#: Tags dropped together with everything inside them.
DROPPED = frozenset({"script", "style", "iframe", "object", "embed", "template", "noscript", "svg", "math"})
VOID = frozenset({"br"})
SCHEMES = ("http://", "https://", "mailto:")


def sanitize(text: str) -> str:
    """The report's allowed markup, every text escaped and scrubbed; ``a`` links open in a new tab."""
    cleaner = _Cleaner()
    cleaner.feed(text)
    cleaner.close()
    return cleaner.result()


class _Cleaner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping or tag in DROPPED:
            if tag in DROPPED:
                self.skipping.append(tag)
            return
        if tag not in ALLOWED:
            return
        kept = "".join(_attribute(tag, name, value) for name, value in attrs if name in ALLOWED[tag])
        if tag == "a":
            kept += ' target="_blank" rel="noopener noreferrer"'
        self.out.append(f"<{tag}{kept}>")
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in DROPPED:
            self.handle_starttag(tag, attrs)
            if tag in self.open and self.open[-1] == tag:
                self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag in self.open:  # close what was left open inside it, then it
            while self.open:
                last = self.open.pop()
                self.out.append(f"</{last}>")
                if last == tag:
                    break

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(html.escape(scrub_credentials(data), quote=False))

    def result(self) -> str:
        return "".join(self.out) + "".join(f"</{tag}>" for tag in reversed(self.open))


def _attribute(tag: str, name: str, value: str | None) -> str:
    value = scrub_credentials((value or "").strip())
    if tag == "a" and name == "href" and not value.lower().startswith(SCHEMES):
        return ""
    return f' {name}="{html.escape(value)}"'
