"""Protocol pieces of the 1C OData emulator: errors, URL parsing, JSON serialization of entities."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contour.onec.filter import FilterError, datetime_literal, guid_literal
from contour.onec.schema import NS, SETS, EntitySet, Prop
from contour.web import Response

# internal codes (protocols.md A.13) with the platform's texts
MESSAGES = {
    "-1": "Произошла внутренняя ошибка OData сервиса.",
    "0": "Возможность не поддерживается",
    "2": "Неверный формат запроса",
    "3": "Запрошенный тип представления не поддерживается",
    "4": "Неверное значение свойства",
    "5": "Отсутствует обязательное значение свойства",
    "6": "Extra segments are found in a request to an entity container!",
    "8": "Тип сущности не найден",
    "9": "Экземпляр сущности не найден",
    "10": "Запрошенное свойство не найдено",
    "11": "Метод не найден",
    "13": "Cоздание строк табличной части напрямую не поддерживается",  # Latin C, as the platform writes it
    "14": "Ошибка разбора опций запроса",
    "15": "Сущность с таким ключом уже существует",
    "16": "Не удалось присвоить свойство",
    "19": "Использованный HTTP-метод запрещен в данном контексте",
    "20": "Нарушение прав доступа!",
}


class ODataFail(Exception):
    """An error answered in the ``odata.error`` shape."""

    def __init__(self, status: int, code: str, detail: str | None = None):
        self.status, self.code = status, code
        base = MESSAGES.get(code, "")
        plain = code in ("-1", "13") or status == 401
        self.message = f"{base}: {detail}" if detail and base and not plain else (detail or base)
        super().__init__(self.message)

    def response(self) -> Response:
        return error_response(self.status, self.code, self.message)


def error_response(status: int, code: str, message: str) -> Response:
    return Response.json(status, {"odata.error": {"code": code, "message": {"lang": "ru", "value": message}}})


def bad_query(exc: FilterError) -> ODataFail:
    return ODataFail(400, "14", str(exc))


# ------------------------------------------------------------ URL


@dataclass
class Route:
    set_name: str
    key: dict[str, Any] | None = None
    segment: str | None = None  # Post, Unpost, $count, a navigation property or a function name
    args: dict[str, str] = field(default_factory=dict)


_PAIR = re.compile(r"\s*([^\W\d]\w*)\s*=\s*(guid'[^']*'|datetime'[^']*'|'(?:[^']|'')*'|[^,]*)\s*(?:,|$)")
_ARG_NAME = re.compile(r"\s*([^\W\d]\w*)\s*=\s*")


def _closing(text: str, start: int) -> int:
    """Index of the parenthesis closing the one at ``start`` (quotes respected)."""
    depth, quoted = 0, False
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth == 0:
                return i
    raise ODataFail(400, "6", "не закрыта скобка в адресе")


def key_literal(raw: str) -> Any:
    raw = raw.strip()
    try:
        if raw.startswith("guid'"):
            return guid_literal(raw[5:-1])
        if raw.startswith("datetime'"):
            return datetime_literal(raw[9:-1])
    except FilterError as exc:
        raise ODataFail(400, "6", str(exc)) from exc
    if raw.startswith("'") and raw.endswith("'") and len(raw) >= 2:
        return raw[1:-1].replace("''", "'")
    if re.fullmatch(r"-?\d+(\.\d+)?", raw):
        return float(raw) if "." in raw else int(raw)
    if _is_guid(raw):
        return raw.lower()
    raise ODataFail(400, "6", f"неверное значение ключа {raw!r}")


def _is_guid(text: str) -> bool:
    return re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", text) is not None


def parse_key(text: str) -> dict[str, Any]:
    text = text.strip()
    if "=" not in text.split("'")[0]:
        return {"Ref_Key": key_literal(text)}
    pairs, pos = {}, 0
    while pos < len(text):
        m = _PAIR.match(text, pos)
        if not m or m.end() == pos:
            raise ODataFail(400, "7", f"неверный ключ ({text})")
        pairs[m.group(1)] = key_literal(m.group(2))
        pos = m.end()
    return pairs


def parse_args(text: str) -> dict[str, str]:
    """Named arguments of a virtual-table call; Condition='…' nests quotes unescaped (as clients send it)."""
    args: dict[str, str] = {}
    pos = 0
    while pos < len(text.rstrip()):
        m = _ARG_NAME.match(text, pos)
        if not m:
            raise ODataFail(400, "12", f"неверные аргументы функции ({text})")
        name, pos = m.group(1), m.end()
        if text.startswith("'", pos):
            end = next(
                (
                    j
                    for j in range(pos + 1, len(text))
                    if text[j] == "'" and re.match(r"\s*(,\s*[^\W\d]\w*\s*=|\s*$)", text[j + 1 :])
                ),
                None,
            )
            if end is None:
                raise ODataFail(400, "12", f"не закрыта кавычка аргумента {name}")
            args[name], pos = text[pos + 1 : end], end + 1
        else:
            m2 = re.compile(r"(guid'[^']*'|datetime'[^']*'|[^,]*)").match(text, pos)
            if m2 is None:
                raise ODataFail(400, "12", f"неверный аргумент {name}")
            args[name], pos = m2.group().strip(), m2.end()
        comma = re.compile(r"\s*,?").match(text, pos)
        pos = comma.end() if comma else pos
    return args


def parse_route(rest: str) -> Route:
    m = re.match(r"[^/(]+", rest)
    if not m:
        raise ODataFail(400, "6", rest)
    route, pos = Route(m.group()), m.end()
    if rest.startswith("(", pos):
        end = _closing(rest, pos)
        route.key = parse_key(rest[pos + 1 : end]) if rest[pos + 1 : end].strip() else None
        pos = end + 1
    if rest.startswith("/", pos):
        seg = rest[pos + 1 :]
        paren = seg.find("(")
        if paren > 0 and seg.endswith(")"):
            route.segment, route.args = seg[:paren], parse_args(seg[paren + 1 : -1])
        else:
            route.segment = seg.strip("/")
        if "/" in (route.segment or ""):
            raise ODataFail(400, "6")
    elif pos < len(rest):
        raise ODataFail(400, "6")
    return route


# ------------------------------------------------------------ JSON


def entity_key_text(es: EntitySet, data: dict[str, Any]) -> str:
    if es.keys == ["Ref_Key"]:
        return f"guid'{data['Ref_Key']}'"
    parts = []
    for k in es.keys:
        prop, value = es.prop(k), data.get(k)
        if prop is not None and prop.kind == "guid":
            parts.append(f"{k}=guid'{value}'")
        elif prop is not None and prop.kind == "date":
            parts.append(f"{k}=datetime'{value}'")
        elif prop is not None and prop.kind == "int":
            parts.append(f"{k}={value}")
        else:
            parts.append(f"{k}='{str(value).replace(chr(39), chr(39) * 2)}'")
    return ",".join(parts)


def wire_value(prop: Prop, value: Any) -> Any:
    if value is None:
        return prop.empty()
    if prop.kind == "int":
        return str(value)  # Edm.Int64 travels as a string in JSON light
    return value


def rows_json(
    row_es: EntitySet, rows: list[dict[str, Any]], ref: str, fields: set[str] | None = None
) -> list[dict]:
    out = []
    for row in rows:
        item: dict[str, Any] = {}
        for p in row_es.props:
            if fields is not None and p.name not in fields and p.name != "LineNumber":
                continue
            item[p.name] = ref if p.name == "Ref_Key" else wire_value(p, row.get(p.name))
        out.append(item)
    return out


DOC_TITLES = {
    "Document_СчетНаОплатуПокупателю": "Счет покупателю",
    "Document_РеализацияТоваровУслуг": "Реализация (акт, накладная, УПД)",
    "Document_ПоступлениеНаРасчетныйСчет": "Поступление на расчетный счет",
    "Document_ОперацияБух": "Операция",
}


def ru_datetime(value: str) -> str:
    return f"{value[8:10]}.{value[5:7]}.{value[0:4]} {value[11:19]}"


def presentation(set_name: str, data: dict[str, Any] | None) -> str:
    if not data:
        return ""
    if set_name in DOC_TITLES:
        return f"{DOC_TITLES[set_name]} {data.get('Number', '')} от {ru_datetime(data.get('Date', ''))}"
    return str(data.get("Description", ""))


Resolver = Callable[[str, str], dict | None]


class Serializer:
    """Turns stored rows into 1C's JSON light, honouring ``$select`` and ``$expand``."""

    def __init__(
        self,
        es: EntitySet,
        resolver: Resolver,
        select: list[tuple[str, ...]] | None = None,
        expand: list[str] | None = None,
        nav_links: bool = True,
    ):
        self.es, self.resolver, self.nav_links = es, resolver, nav_links
        self.expand = expand or []
        for name in self.expand:
            if self._nav_prop(name) is None:
                raise ODataFail(400, "14", f"неизвестное навигационное свойство {name} в $expand")
        self.select = select if select and ("*",) not in select else None
        if self.select:
            for path in self.select:
                self._check(path)

    def _nav_prop(self, name: str) -> Prop | None:
        prop = self.es.prop(f"{name}_Key")
        return prop if prop is not None and prop.target else None

    def _check(self, path: tuple[str, ...]) -> None:
        head = path[0]
        if head.endswith("____Presentation"):
            head = head.removesuffix("____Presentation")
            if head != "*" and self.es.prop(head) is None and self._nav_prop(head) is None:
                raise ODataFail(400, "14", f"неизвестное свойство {path[0]} в $select")
            return
        if self.es.prop(head) is None and (self._nav_prop(head) is None or head not in self.expand):
            raise ODataFail(400, "14", f"неизвестное свойство {'/'.join(path)} в $select")

    def _plan(self) -> None:
        es = self.es
        selected = None if self.select is None else {p[0] for p in self.select}
        self.sub: dict[str, set[str]] = {}
        for p in self.select or []:
            if len(p) > 1:
                self.sub.setdefault(p[0], set()).add(p[1])
        self.props = [p for p in es.props if selected is None or p.name in selected]
        self.links = [p for p in self.props if p.nav and p.target] if self.nav_links and es.is_object else []
        names = [
            p[0].removesuffix("____Presentation")
            for p in self.select or []
            if p[0].endswith("____Presentation")
        ]
        self.presented = [
            prop
            for name in names
            for prop in (es.props if name == "*" else [es.prop(name) or self._nav_prop(name)])
            if prop is not None and prop.kind != "coll"
        ]

    def entity(self, data: dict[str, Any]) -> dict[str, Any]:
        if not hasattr(self, "props"):
            self._plan()
        es = self.es
        out: dict[str, Any] = {}
        get = data.get
        for p in self.props:
            if p.kind == "coll":
                out[p.name] = rows_json(
                    es.tabular[p.name], get(p.name) or [], get("Ref_Key", ""), self.sub.get(p.name)
                )
            elif p.kind == "int":
                out[p.name] = wire_value(p, get(p.name))
            else:
                value = get(p.name)
                out[p.name] = p.empty() if value is None else value
        for prop in self.presented:
            out[f"{prop.nav or prop.name}____Presentation"] = self.present(prop, data)
        for name in self.expand:
            nav = self._nav_prop(name)
            if nav is None or not nav.target:
                continue
            target = self.resolver(nav.target, str(get(nav.name, "")))
            if target is None:
                out[name] = None
                continue
            nested = Serializer(
                SETS[nav.target],
                self.resolver,
                [(f,) for f in self.sub[name]] if name in self.sub else None,
                nav_links=False,
            )
            out[name] = nested.entity(target)
        if self.links:
            prefix = f"{es.name}({entity_key_text(es, data)})/"
            for p in self.links:
                out[f"{p.nav}@navigationLinkUrl"] = prefix + str(p.nav)
        return out

    def present(self, prop: Prop, data: dict[str, Any]) -> str:
        value = data.get(prop.name)
        if prop.kind == "guid" and prop.target:
            return presentation(prop.target, self.resolver(prop.target, str(value)))
        if prop.kind == "comp":
            set_name = str(data.get(f"{prop.name}_Type", "")).removeprefix(f"{NS}.")
            if set_name in SETS:
                return presentation(set_name, self.resolver(set_name, str(value)))
        if prop.kind == "date" and value:
            return ru_datetime(str(value))
        return "" if value is None else str(value)
