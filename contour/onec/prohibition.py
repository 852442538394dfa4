"""Change-prohibition dates as BSP keeps and applies them (``ДатыЗапретаИзменения``, protocols.md A.17).

The dates are rows of ``InformationRegister_ДатыЗапретаИзменения`` (dimensions ``Раздел``, ``Объект``,
``Пользователь``; resource ``ДатаЗапрета``; attribute ``ОписаниеДатыЗапрета``), as in BSP:

* ``Пользователь`` = ``ДляВсехПользователей`` (``_Type`` ``StandardODATA.ВидыНазначенияДатЗапрета``) is the
  common date; a user's own row has ``Пользователь`` = the user's ``Catalog_Пользователи`` Ref_Key (``_Type``
  ``StandardODATA.Catalog_Пользователи``). BSP's priority: if the writing user has a row of their own, only
  their rows count (even if earlier than the common date, or empty: then nothing is closed for them), else the
  common rows. User groups are not modelled.
* ``Объект`` empty applies to every document; ``Объект`` = an organisation (``Catalog_Организации``) applies
  to that organisation's documents and wins over the empty one. ``Раздел`` is always empty here (rows with a
  section are ignored).
* ``ОписаниеДатыЗапрета`` empty: ``ДатаЗапрета`` is the date. Otherwise it is BSP's relative date (its
  ``ДатаЗапретаПоОписанию``): the first line is ``КонецПрошлогоГода``, ``КонецПрошлогоКвартала``,
  ``КонецПрошлогоМесяца``, ``КонецПрошлойНедели`` or ``ПредыдущийДень``, the optional second line the grace
  days: while today is within that many days after the end of the last period, the period before it is the
  closed one (e.g. ``"КонецПрошлогоМесяца\\n5"``: until the 5th the month before last is closed, then last
  month). Today is the machine's date.

Knob forms (``prohibition_date``, and per user ``prohibition_user_dates`` = ``{login: value}``): ``""`` none,
``YYYY-MM-DD`` a date, ``КонецПрошлогоМесяца`` or ``КонецПрошлогоМесяца+5`` a relative one.

The check (:meth:`Rules.check`) runs on create, update, deletion mark, delete, Post and Unpost, against the
old and the new version of a document; it fails with HTTP 500, code -1 and BSP's text inside the platform's
wrapper (clients match a substring). Data-load mode skips it for writes (Post/Unpost always check).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from contour.onec.odata import DOC_TITLES, ODataFail, ru_datetime
from contour.onec.schema import EMPTY_DATE, NS, UNDEFINED_TYPE, ZERO_GUID

REGISTER = "InformationRegister_ДатыЗапретаИзменения"
FOR_ALL = "ДляВсехПользователей"
FOR_ALL_TYPE = f"{NS}.ВидыНазначенияДатЗапрета"
USER_TYPE = f"{NS}.Catalog_Пользователи"
ORG_TYPE = f"{NS}.Catalog_Организации"
VARIANTS = (
    "КонецПрошлогоГода",
    "КонецПрошлогоКвартала",
    "КонецПрошлогоМесяца",
    "КонецПрошлойНедели",
    "ПредыдущийДень",
)
_KNOB = re.compile(rf"^({'|'.join(VARIANTS)})(?:\+(\d+))?$")


def _period_start(variant: str, day: dt.date) -> dt.date:
    if variant == "КонецПрошлогоГода":
        return day.replace(month=1, day=1)
    if variant == "КонецПрошлогоКвартала":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    if variant == "КонецПрошлогоМесяца":
        return day.replace(day=1)
    if variant == "КонецПрошлойНедели":
        return day - dt.timedelta(days=day.weekday())
    return day  # ПредыдущийДень


def by_description(description: str, absolute: dt.date | None, today: dt.date) -> dt.date | None:
    """BSP ``ДатаЗапретаПоОписанию``: the date a relative description gives today (unknown: far future)."""
    if not description.strip():
        return absolute
    lines = description.split("\n")
    variant, days = lines[0].strip(), (lines[1].strip() if len(lines) > 1 else "")
    if variant not in VARIANTS:
        return dt.date(3999, 3, 3)  # BSP: «Неизвестный формат» closes everything
    current = _period_start(variant, today) - dt.timedelta(days=1)
    previous = _period_start(variant, current) - dt.timedelta(days=1)
    grace = int(days) if days.isdigit() else 0
    return previous if today <= current + dt.timedelta(days=grace) else current


def parse_setting(value: Any) -> tuple[dt.date | None, str]:
    """A knob value → (``ДатаЗапрета``, ``ОписаниеДатыЗапрета``); raises ValueError when malformed."""
    text = str(value or "").strip()
    if not text:
        return None, ""
    m = _KNOB.match(text)
    if m:
        return None, m.group(1) + (f"\n{m.group(2)}" if m.group(2) else "")
    return dt.date.fromisoformat(text), ""


def register_row(value: Any, user: str | None = None, organisation: str | None = None) -> dict[str, Any]:
    """The register row of a knob value for everyone (or ``user``'s Ref_Key), all or one organisation."""
    date, description = parse_setting(value)
    return {
        "Раздел_Key": ZERO_GUID,
        "Объект": organisation or "",
        "Объект_Type": ORG_TYPE if organisation else UNDEFINED_TYPE,
        "Пользователь": user or FOR_ALL,
        "Пользователь_Type": USER_TYPE if user else FOR_ALL_TYPE,
        "ДатаЗапрета": f"{date.isoformat()}T00:00:00" if date else EMPTY_DATE,
        "ОписаниеДатыЗапрета": description or ("Произвольная дата" if date else ""),
        "Комментарий": "",
    }


def _row_date(row: dict[str, Any], today: dt.date) -> dt.date | None:
    raw = str(row.get("ДатаЗапрета") or EMPTY_DATE)
    absolute = None if raw.startswith(EMPTY_DATE[:10]) else dt.date.fromisoformat(raw[:10])
    description = str(row.get("ОписаниеДатыЗапрета") or "")
    if description == "Произвольная дата":  # BSP's label of an absolute date
        description = ""
    return by_description(description, absolute, today)


@dataclass(frozen=True)
class Closure:
    """The date in force for one write and where it comes from (for BSP's text)."""

    date: dt.date
    user: str | None  # the user's name when their own row applies
    organisation: str | None  # the organisation's name when its row applies


class Rules:
    """The register's rows as they apply to one writing user."""

    def __init__(self, rows: list[dict[str, Any]], user_ref: str, user_name: str, names: dict[str, str]):
        self.user_name, self.names = user_name, names
        rows = [r for r in rows if str(r.get("Раздел_Key") or ZERO_GUID) == ZERO_GUID]
        own = [
            r for r in rows if r.get("Пользователь_Type") == USER_TYPE and r.get("Пользователь") == user_ref
        ]
        self.own = bool(own)
        self.rows = own or [r for r in rows if r.get("Пользователь") == FOR_ALL]

    def closure(self, organisation: str, today: dt.date | None = None) -> Closure | None:
        today = today or dt.date.today()
        by_org = [
            r for r in self.rows if r.get("Объект_Type") == ORG_TYPE and r.get("Объект") == organisation
        ]
        general = [r for r in self.rows if not r.get("Объект")]
        chosen = by_org or general
        date = _row_date(chosen[0], today) if chosen else None
        if date is None:
            return None
        return Closure(
            date,
            self.user_name if self.own else None,
            self.names.get(organisation) if by_org else None,
        )

    def check(self, set_name: str, data: dict[str, Any], handler: str = "ПередЗаписью") -> None:
        """BSP ``ПроверитьДатыЗапретаИзмененияДанных`` for a document: raises HTTP 500, code -1."""
        date = str(data.get("Date") or "")
        if not date or date.startswith(EMPTY_DATE[:10]):
            return
        closure = self.closure(str(data.get("Организация_Key") or ZERO_GUID))
        if closure is None or dt.date.fromisoformat(date[:10]) > closure.date:
            return
        raise ODataFail(500, "-1", wrap(handler, bsp_text(closure, set_name, data)))


def bsp_text(closure: Closure, set_name: str, data: dict[str, Any]) -> str:
    closed = closure.date.strftime("%d.%m.%Y")
    day = ru_datetime(str(data["Date"]))[:10]
    title = (
        f"{DOC_TITLES.get(set_name, set_name)} {data.get('Number', '')} от {ru_datetime(str(data['Date']))}"
    )
    if closure.user and closure.organisation:
        who = f'Пользователю "{closure.user}" недоступно изменение по объекту "{closure.organisation}",'
    elif closure.user:
        who = f'Пользователю "{closure.user}" недоступно изменение документа «{title}»,'
    elif closure.organisation:
        who = f'Изменение по объекту "{closure.organisation}" недоступно,'
    else:
        who = f"Для всех пользователей недоступно изменение документа «{title}»,"
    where = (
        f'(запрет установлен на объект "{closure.organisation}")'
        if closure.organisation
        else "(установлена общая дата запрета)"
    )
    return (
        f"Запрещено изменять данные с датой ранее {closed} (включительно).\n\nПодробнее:\n"
        f"{who} поскольку дата {day} входит в запрещенный период по {closed} {where}."
    )


def wrap(handler: str, text: str) -> str:
    """The platform's wrapper of an exception raised in an object's event handler, as OData returns it."""
    return (
        f"Ошибка при выполнении обработчика - '{handler}'\nпо причине:\n"
        f"{{ОбщийМодуль.ДатыЗапретаИзменения.Модуль(575)}}: {text}"
    )
