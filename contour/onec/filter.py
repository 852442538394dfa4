"""The OData v3 ``$filter`` language of 1C: tokenizer, recursive-descent parser, and two back ends.

``parse(text)`` gives an AST of tuples; ``to_sql`` compiles it to an SQLite expression with bound parameters
(values are never pasted into SQL); ``to_python`` compiles it to a predicate over decoded rows (used for
tabular-row sets and register virtual tables). Both resolve navigation (``Контрагент/ИНН``) through the
referenced entity, lambdas over tabular sections (``Товары/any(d: d/Цена gt 10)``), and the functions of
protocols.md A.10. Text functions (substringof, startswith, endswith, like) compare case-insensitively, as
1C's ПОДОБНО does; ``eq`` on strings is exact.

Literals are typed as real 1C types them (protocols.md A.10) and both back ends refuse a comparison of
incompatible types with code 14 / HTTP 400 ("ошибка разбора опций запроса"): a reference key compared with a
plain string (``Ref_Key eq '…'`` instead of ``guid'…'``), a number with a string (``Сумма eq '100'``,
``ИНН eq 7707083893``), a date with a string instead of ``datetime'…'``. Decision: 1C answers these with a
parse/type error of the query options; code 14 is our reading of it (the exact platform text is not known).
Composite values (``Recorder``, ``Контрагент`` of a receipt) travel as strings and compare with either a
string or a ``guid'…'``; ``null`` compares with anything. ``datetime'…'`` with fractional seconds is refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from contour.onec.schema import NS, SETS, EntitySet, Prop


class FilterError(ValueError):
    """A query option that does not parse or names an unknown property (1C internal code 14)."""


_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<typed>(?:guid|datetime|datetimeoffset|time)'(?:[^']|'')*')"
    r"|(?P<str>'(?:[^']|'')*')"
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)"
    r"|(?P<ident>[^\W\d]\w*)"
    r"|(?P<op>[()/,:*-])"
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$")
_CMP = {"eq", "ne", "gt", "ge", "lt", "le"}
_ARITH = {"add": "+", "sub": "-", "mul": "*", "div": "/", "mod": "%"}
_BOOL_FUNCS = {"substringof", "startswith", "endswith", "like", "isof"}
_ARITY = {
    "substringof": (2,),
    "startswith": (2,),
    "endswith": (2,),
    "like": (2,),
    "length": (1,),
    "indexof": (2,),
    "tolower": (1,),
    "toupper": (1,),
    "trim": (1,),
    "concat": (2,),
    "substring": (2, 3),
    "year": (1,),
    "month": (1,),
    "day": (1,),
    "hour": (1,),
    "minute": (1,),
    "second": (1,),
    "round": (1,),
    "floor": (1,),
    "ceiling": (1,),
    "isof": (2,),
    "cast": (2,),
}


def datetime_literal(raw: str) -> str:
    """Normalise a ``datetime'…'`` body to ``YYYY-MM-DDTHH:MM:SS`` (fractional seconds rejected, as by 1C)."""
    m = _DATETIME.match(raw.strip())
    if not m:
        raise FilterError(f"Неверный литерал даты: datetime'{raw}'")
    y, mo, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 60):
        raise FilterError(f"Неверный литерал даты: datetime'{raw}'")
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"


def guid_literal(raw: str) -> str:
    if not _GUID.match(raw.strip()):
        raise FilterError(f"Неверный литерал GUID: guid'{raw}'")
    return raw.strip().lower()


# ------------------------------------------------------------ tokens, parser


def tokenize(text: str) -> list[tuple[str, Any, int]]:
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise FilterError(f"Синтаксическая ошибка в позиции {pos + 1}: {text[pos : pos + 20]!r}")
        kind, value = m.lastgroup, m.group()
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "typed":
            prefix, _, body = value.partition("'")
            body = body[:-1].replace("''", "'")
            if prefix == "guid":
                tokens.append(("lit", ("guid", guid_literal(body)), m.start()))
            elif prefix == "datetime":
                tokens.append(("lit", ("date", datetime_literal(body)), m.start()))
            else:
                raise FilterError(f"Литерал {prefix}'…' не поддерживается")
        elif kind == "str":
            tokens.append(("lit", ("str", value[1:-1].replace("''", "'")), m.start()))
        elif kind == "num":
            try:
                number = Decimal(value.rstrip("mMdDfFlL"))
            except InvalidOperation as exc:
                raise FilterError(f"Неверное число {value}") from exc
            tokens.append(("lit", ("num", number), m.start()))
        elif kind == "ident" and value in ("true", "false"):
            tokens.append(("lit", ("bool", value == "true"), m.start()))
        elif kind == "ident" and value == "null":
            tokens.append(("lit", ("null", None), m.start()))
        else:
            tokens.append((kind or "op", value, m.start()))
    tokens.append(("end", None, len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, Any, int]:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def take(self) -> tuple[str, Any, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_word(self, *words: str) -> bool:
        kind, value, _ = self.peek()
        return kind == "ident" and value in words

    def expect(self, op: str) -> None:
        kind, value, pos = self.take()
        if kind != "op" or value != op:
            raise FilterError(f"Ожидался '{op}' в позиции {pos + 1}")

    def parse(self) -> tuple:
        node = self.or_expr()
        kind, value, pos = self.peek()
        if kind != "end":
            raise FilterError(f"Лишний фрагмент в позиции {pos + 1}: {value!r}")
        return node

    def or_expr(self) -> tuple:
        node = self.and_expr()
        while self.is_word("or"):
            self.take()
            node = ("or", _logical(node), _logical(self.and_expr()))
        return node

    def and_expr(self) -> tuple:
        node = self.comparison()
        while self.is_word("and"):
            self.take()
            node = ("and", _logical(node), _logical(self.comparison()))
        return node

    def comparison(self) -> tuple:
        node = self.additive()
        if self.is_word(*_CMP):
            op = self.take()[1]
            node = ("cmp", op, node, self.additive())
        return node

    def additive(self) -> tuple:
        node = self.multiplicative()
        while self.is_word("add", "sub"):
            node = ("arith", self.take()[1], node, self.multiplicative())
        return node

    def multiplicative(self) -> tuple:
        node = self.unary()
        while self.is_word("mul", "div", "mod"):
            node = ("arith", self.take()[1], node, self.unary())
        return node

    def unary(self) -> tuple:
        if self.is_word("not"):
            self.take()
            return ("not", _logical(self.unary()))
        kind, value, _ = self.peek()
        if kind == "op" and value == "-":
            self.take()
            return ("neg", self.unary())
        return self.primary()

    def primary(self) -> tuple:
        kind, value, pos = self.take()
        if kind == "lit":
            return ("lit", value[0], value[1])
        if kind == "op" and value == "(":
            node = self.or_expr()
            self.expect(")")
            return node
        if kind == "ident":
            nxt = self.peek()
            if nxt[0] == "op" and nxt[1] == "(":
                return self.call(value, pos)
            return self.path(value)
        raise FilterError(f"Неожиданный элемент в позиции {pos + 1}: {value!r}")

    def call(self, name: str, pos: int) -> tuple:
        if name not in _ARITY:
            raise FilterError(f"Неизвестная функция {name} в позиции {pos + 1}")
        self.expect("(")
        args = [self.or_expr()]
        while self.peek()[0] == "op" and self.peek()[1] == ",":
            self.take()
            args.append(self.or_expr())
        self.expect(")")
        if len(args) not in _ARITY[name]:
            raise FilterError(f"Неверное число аргументов функции {name}")
        return ("call", name, args)

    def path(self, first: str) -> tuple:
        segments = [first]
        while self.peek()[0] == "op" and self.peek()[1] == "/":
            self.take()
            kind, value, pos = self.take()
            if kind != "ident":
                raise FilterError(f"Ожидалось имя свойства в позиции {pos + 1}")
            if value in ("any", "all") and self.peek()[1] == "(":
                self.expect("(")
                var_kind, var, vpos = self.take()
                if var_kind != "ident":
                    raise FilterError(f"Ожидалась переменная лямбда-выражения в позиции {vpos + 1}")
                self.expect(":")
                body = _logical(self.or_expr())
                self.expect(")")
                return ("lambda", value, tuple(segments), var, body)
            segments.append(value)
        return ("path", tuple(segments))


def _logical(node: tuple) -> tuple:
    """Operands of and/or/not must be boolean: a string or number there is an error, not 'always true'."""
    if node[0] == "lit" and node[1] not in ("bool",):
        raise FilterError(f"Ожидалось логическое выражение, а не литерал {node[2]!r}")
    if node[0] in ("arith", "neg") or (node[0] == "call" and node[1] not in _BOOL_FUNCS):
        raise FilterError("Ожидалось логическое выражение")
    return node


def parse(text: str) -> tuple:
    if not text.strip():
        raise FilterError("Пустое выражение отбора")
    return _logical(_Parser(text).parse())


# ------------------------------------------------------------ functions


def _ci(value: Any) -> str:
    return str(value).casefold()


def _like(value: Any, pattern: Any) -> bool:
    regex = ""
    i, text = 0, str(pattern)
    while i < len(text):
        ch = text[i]
        if ch == "%":
            regex += ".*"
        elif ch == "_":
            regex += "."
        elif ch == "[":
            end = text.find("]", i)
            if end < 0:
                regex += re.escape(ch)
            else:
                regex += "[" + text[i + 1 : end].replace("\\", "\\\\") + "]"
                i = end
        else:
            regex += re.escape(ch)
        i += 1
    return re.fullmatch(regex, str(value), re.IGNORECASE | re.DOTALL) is not None


def _date_part(index: int) -> Callable[[Any], int]:
    return lambda v: int(str(v)[[0, 5, 8, 11, 14, 17][index] :][: 4 if index == 0 else 2])


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "substringof": lambda needle, hay: _ci(needle) in _ci(hay),
    "startswith": lambda hay, prefix: _ci(hay).startswith(_ci(prefix)),
    "endswith": lambda hay, suffix: _ci(hay).endswith(_ci(suffix)),
    "like": _like,
    "length": lambda s: len(str(s)),
    "indexof": lambda s, sub: str(s).find(str(sub)),
    "tolower": lambda s: str(s).lower(),
    "toupper": lambda s: str(s).upper(),
    "trim": lambda s: str(s).strip(),
    "concat": lambda a, b: f"{a}{b}",
    "substring": lambda s, start, length=None: (
        str(s)[int(start) :] if length is None else str(s)[int(start) : int(start) + int(length)]
    ),
    "year": _date_part(0),
    "month": _date_part(1),
    "day": _date_part(2),
    "hour": _date_part(3),
    "minute": _date_part(4),
    "second": _date_part(5),
    "round": lambda x: float(Decimal(str(x)).quantize(Decimal(1), rounding="ROUND_HALF_UP")),
    "floor": lambda x: math.floor(x),
    "ceiling": lambda x: math.ceil(x),
}


def sql_function(name: str, *args: Any) -> Any:
    """The ``odata_fn`` SQLite function: the same semantics as the Python back end."""
    if any(a is None for a in args):
        return None
    result = FUNCTIONS[name](*args)
    return int(result) if isinstance(result, bool) else result


# ------------------------------------------------------------ resolution


def _find_prop(es: EntitySet, name: str) -> Prop:
    prop = es.prop(name)
    if prop is None and es.prop(f"{name}_Key") is not None:  # «Валюта eq guid'…'» compares the key
        prop = es.prop(f"{name}_Key")
    if prop is None:
        raise FilterError(f"Неизвестное свойство '{name}' у '{es.name}'")
    return prop


def _nav_target(es: EntitySet, name: str, next_name: str) -> tuple[Prop, EntitySet | None]:
    """The reference property behind navigation segment ``name`` and its target set (None if composite)."""
    ref = es.prop(f"{name}_Key")
    if ref is not None and ref.target:
        return ref, SETS[ref.target]
    comp = es.prop(name)
    if comp is not None and comp.kind == "comp":
        return comp, None
    raise FilterError(f"Неизвестное навигационное свойство '{name}' у '{es.name}'")


def _composite_candidates(prop_name: str) -> EntitySet:
    for es in SETS.values():
        if es.is_object and es.prop(prop_name) is not None:
            return es
    raise FilterError(f"Неизвестное свойство '{prop_name}'")


_TYPE_CLASS = {
    "str": "str",
    "enum": "str",
    "type": "str",
    "comp": "comp",
    "num": "num",
    "int": "num",
    "bool": "bool",
    "date": "date",
    "guid": "guid",
}
_NUM_FUNCS = {
    "length",
    "indexof",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "round",
    "floor",
    "ceiling",
}
_STR_FUNCS = {"tolower", "toupper", "trim", "concat", "substring"}
_TYPE_NAMES = {"str": "строка", "num": "число", "bool": "булево", "date": "дата", "guid": "ссылка (guid)"}


def _type_of(node: tuple, prop_of: Callable[[tuple[str, ...]], Prop]) -> str | None:
    """The type class of an operand (None: not known statically, e.g. ``cast``)."""
    kind = node[0]
    if kind == "lit":
        return str(node[1])
    if kind == "path":
        return _TYPE_CLASS.get(prop_of(node[1]).kind)
    if kind in ("arith", "neg"):
        return "num"
    if kind == "call":
        return "num" if node[1] in _NUM_FUNCS else "str" if node[1] in _STR_FUNCS else None
    return "bool" if kind in ("and", "or", "not", "cmp", "lambda") else None


def check_comparison(node: tuple, prop_of: Callable[[tuple[str, ...]], Prop]) -> None:
    """Refuse ``a op b`` when the operands' types cannot be compared (see the module docstring)."""
    left, right = _type_of(node[2], prop_of), _type_of(node[3], prop_of)
    if left is None or right is None or left == right or "null" in (left, right):
        return
    if "comp" in (left, right) and {left, right} - {"comp"} <= {"str", "guid"}:
        return
    names = (_TYPE_NAMES.get(left, left), _TYPE_NAMES.get(right, right))
    raise FilterError(f"Несовместимые типы в операции {node[1]}: {names[0]} и {names[1]}")


def _literal_value(kind: str, value: Any) -> Any:
    if kind == "num":
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    return value


# ------------------------------------------------------------ SQL back end

ENTITY_COLUMNS = {
    "Ref_Key": "ref",
    "Code": "code",
    "Number": "number",
    "Date": "date",
    "ИНН": "inn",
    "КПП": "kpp",
    "Description": "description",
}


class SqlScope:
    """Where a path's properties live: an SQL alias over a table with a JSON ``data`` column."""

    def __init__(self, es: EntitySet, alias: str, columns: dict[str, str], json_expr: str | None = None):
        self.es, self.alias, self.columns = es, alias, columns
        self.json_expr = json_expr or f"{alias}.data"

    def field(self, prop: Prop) -> str:
        if prop.name in self.columns:
            return f"{self.alias}.{self.columns[prop.name]}"
        return f"json_extract({self.json_expr}, '$.\"{prop.name}\"')"


class SqlCompiler:
    def __init__(self, root: SqlScope):
        self.root = root
        self.counter = 0
        self.lambdas: dict[str, SqlScope] = {}

    def alias(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def compile(self, node: tuple) -> tuple[str, list[Any]]:
        kind = node[0]
        if kind == "lit":
            if node[1] == "null":
                return "NULL", []
            if node[1] == "bool":
                return ("1" if node[2] else "0"), []
            return "?", [_literal_value(node[1], node[2])]
        if kind == "path":
            return self.path(self.root, node[1])[0]
        if kind in ("and", "or"):
            (ls, lp), (rs, rp) = self.compile(node[1]), self.compile(node[2])
            return f"({ls} {kind.upper()} {rs})", lp + rp
        if kind == "not":
            s, p = self.compile(node[1])
            return f"(NOT coalesce({s}, 0))", p
        if kind == "neg":
            s, p = self.compile(node[1])
            return f"(-{s})", p
        if kind == "cmp":
            check_comparison(node, lambda segments: self.path(self.root, segments)[1])
            (ls, lp), (rs, rp) = self.compile(node[2]), self.compile(node[3])
            op = {"eq": "IS", "ne": "IS NOT", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}[node[1]]
            return f"({ls} {op} {rs})", lp + rp
        if kind == "arith":
            (ls, lp), (rs, rp) = self.compile(node[2]), self.compile(node[3])
            if node[1] == "div":
                return f"(CAST({ls} AS REAL) / {rs})", lp + rp
            return f"({ls} {_ARITH[node[1]]} {rs})", lp + rp
        if kind == "call":
            return self.call(node[1], node[2])
        if kind == "lambda":
            return self.lambda_(node)
        raise FilterError(f"Неподдерживаемое выражение {kind}")

    def call(self, name: str, args: list[tuple]) -> tuple[str, list[Any]]:
        if name == "cast":
            return self.compile(args[0])
        if name == "isof":
            return self.isof(args)
        parts = [self.compile(a) for a in args]
        sql = ", ".join(s for s, _ in parts)
        return f"odata_fn('{name}', {sql})", [p for _, ps in parts for p in ps]

    def isof(self, args: list[tuple]) -> tuple[str, list[Any]]:
        if args[0][0] != "path" or args[1][0] != "lit":
            raise FilterError("isof: ожидалось свойство составного типа и имя типа")
        type_name = str(args[1][2])
        type_name = type_name if type_name.startswith(f"{NS}.") else f"{NS}.{type_name}"
        last = args[0][1]
        (sql, _), _prop = self.path(self.root, (*last[:-1], f"{last[-1]}_Type"))
        return f"({sql} = ?)", [type_name]

    def scope_for(self, segments: tuple[str, ...], scope: SqlScope) -> tuple[SqlScope, tuple[str, ...]]:
        if segments[0] in self.lambdas:
            return self.lambdas[segments[0]], segments[1:]
        return scope, segments

    def path(self, scope: SqlScope, segments: tuple[str, ...]) -> tuple[tuple[str, list[Any]], Prop]:
        scope, segments = self.scope_for(segments, scope)
        if not segments:
            raise FilterError("Неполный путь к свойству")
        if len(segments) == 1:
            prop = _find_prop(scope.es, segments[0])
            if prop.kind == "coll":
                raise FilterError(f"Табличная часть '{prop.name}' не может быть операндом сравнения")
            return (scope.field(prop), []), prop
        ref, target = _nav_target(scope.es, segments[0], segments[1])
        alias = self.alias("n")
        if target is None:  # composite: the row's _Type names the set
            target = _composite_candidates(segments[1])
            type_prop = scope.es.prop(f"{ref.name}_Type")
            if type_prop is None:
                raise FilterError(f"'{ref.name}' не является свойством составного типа")
            where = (
                f"{alias}.set_name = substr({scope.field(type_prop)}, {len(NS) + 2}) "
                f"AND {alias}.ref = {scope.field(ref)}"
            )
        else:
            where = f"{alias}.set_name = '{target.name}' AND {alias}.ref = {scope.field(ref)}"
        (inner, params), prop = self.path(SqlScope(target, alias, ENTITY_COLUMNS), segments[1:])
        sql = f"(SELECT {inner} FROM entities {alias} WHERE {where})"  # noqa: S608 - names from the schema
        return (sql, params), prop

    def lambda_(self, node: tuple) -> tuple[str, list[Any]]:
        _, quantifier, segments, var, body = node
        scope, segments = self.scope_for(segments, self.root)
        if len(segments) != 1 or segments[0] not in scope.es.tabular:
            raise FilterError(f"'{'/'.join(segments)}' не является табличной частью")
        rows = scope.es.tabular[segments[0]]
        alias = self.alias("t")
        source = f"json_each({scope.json_expr}, '$.\"{segments[0]}\"') AS {alias}"
        self.lambdas[var] = SqlScope(rows, alias, {}, json_expr=f"{alias}.value")
        try:
            sql, params = self.compile(body)
        finally:
            del self.lambdas[var]
        if quantifier == "any":
            return f"EXISTS (SELECT 1 FROM {source} WHERE {sql})", params  # noqa: S608 - values are bound
        return f"NOT EXISTS (SELECT 1 FROM {source} WHERE NOT coalesce({sql}, 0))", params  # noqa: S608


def to_sql(node: tuple, scope: SqlScope) -> tuple[str, list[Any]]:
    compiler = SqlCompiler(scope)
    sql, params = compiler.compile(node)
    if node[0] == "path":
        (_, _), prop = compiler.path(scope, node[1])
        if prop.kind != "bool":
            raise FilterError("Ожидалось логическое выражение")
    return sql, params


def order_sql(keys: list[tuple[tuple[str, ...], bool]], scope: SqlScope) -> tuple[str, list[Any]]:
    compiler = SqlCompiler(scope)
    parts, params = [], []
    for segments, desc in keys:
        (sql, p), _ = compiler.path(scope, segments)
        parts.append(f"{sql} {'DESC' if desc else 'ASC'}")
        params += p
    return ", ".join(parts), params


# ------------------------------------------------------------ Python back end

Resolver = Callable[[str, str], dict | None]  # (set name, Ref_Key) → decoded entity or None


def _cmp(op: str, a: Any, b: Any) -> bool:
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if a is None or b is None:
        return False
    try:
        return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
    except TypeError:
        return False


def _norm(value: Any, prop: Prop | None) -> Any:
    if isinstance(value, str) and prop is not None and prop.kind == "guid":
        return value.lower()
    return value


class PyCompiler:
    def __init__(self, es: EntitySet, resolver: Resolver):
        self.es, self.resolver = es, resolver

    def compile(self, node: tuple, env: dict[str, EntitySet]) -> Callable[[dict, dict], Any]:
        kind = node[0]
        if kind == "lit":
            value = (
                None
                if node[1] == "null"
                else _literal_value(node[1], node[2])
                if node[1] == "num"
                else node[2]
            )
            return lambda row, vars_: value
        if kind == "path":
            return self.path(node[1], env)[0]
        if kind in ("and", "or"):
            left, right = self.compile(node[1], env), self.compile(node[2], env)
            if kind == "and":
                return lambda row, v: bool(left(row, v)) and bool(right(row, v))
            return lambda row, v: bool(left(row, v)) or bool(right(row, v))
        if kind == "not":
            inner = self.compile(node[1], env)
            return lambda row, v: not inner(row, v)
        if kind == "neg":
            inner = self.compile(node[1], env)
            return lambda row, v: None if inner(row, v) is None else -inner(row, v)
        if kind == "cmp":
            check_comparison(node, lambda segments: self.path(segments, env)[1])
            left, right, op = self.compile(node[2], env), self.compile(node[3], env), node[1]
            return lambda row, v: _cmp(op, left(row, v), right(row, v))
        if kind == "arith":
            return self.arith(node, env)
        if kind == "call":
            return self.call(node[1], node[2], env)
        if kind == "lambda":
            return self.lambda_(node, env)
        raise FilterError(f"Неподдерживаемое выражение {kind}")

    def arith(self, node: tuple, env: dict[str, EntitySet]) -> Callable[[dict, dict], Any]:
        left, right, op = self.compile(node[2], env), self.compile(node[3], env), node[1]

        def run(row: dict, v: dict) -> Any:
            a, b = left(row, v), right(row, v)
            if a is None or b is None:
                return None
            try:
                return {
                    "add": lambda: a + b,
                    "sub": lambda: a - b,
                    "mul": lambda: a * b,
                    "div": lambda: a / b,
                    "mod": lambda: a % b,
                }[op]()
            except (TypeError, ZeroDivisionError):
                return None

        return run

    def call(self, name: str, args: list[tuple], env: dict[str, EntitySet]) -> Callable[[dict, dict], Any]:
        if name == "cast":
            return self.compile(args[0], env)
        if name == "isof":
            if args[0][0] != "path" or args[1][0] != "lit":
                raise FilterError("isof: ожидалось свойство составного типа и имя типа")
            type_name = str(args[1][2])
            type_name = type_name if type_name.startswith(f"{NS}.") else f"{NS}.{type_name}"
            last = args[0][1]
            getter = self.path((*last[:-1], f"{last[-1]}_Type"), env)[0]
            return lambda row, v: getter(row, v) == type_name
        fns = [self.compile(a, env) for a in args]
        func = FUNCTIONS[name]

        def run(row: dict, v: dict) -> Any:
            values = [f(row, v) for f in fns]
            return None if any(x is None for x in values) else func(*values)

        return run

    def path(
        self, segments: tuple[str, ...], env: dict[str, EntitySet]
    ) -> tuple[Callable[[dict, dict], Any], Prop]:
        var = segments[0] if segments[0] in env else None
        es = env[var] if var else self.es
        rest = segments[1:] if var else segments
        if not rest:
            raise FilterError("Неполный путь к свойству")

        def source(row: dict, v: dict) -> dict | None:
            return v[var] if var else row

        return self._walk(es, rest, source)

    def _walk(
        self, es: EntitySet, segments: tuple[str, ...], source: Callable[[dict, dict], dict | None]
    ) -> tuple[Callable[[dict, dict], Any], Prop]:
        if len(segments) == 1:
            prop = _find_prop(es, segments[0])
            name = prop.name

            def get(row: dict, v: dict) -> Any:
                obj = source(row, v)
                return None if obj is None else _norm(obj.get(name), prop)

            return get, prop
        ref, target = _nav_target(es, segments[0], segments[1])
        resolver = self.resolver
        if target is None:
            target_es = _composite_candidates(segments[1])

            def follow(row: dict, v: dict) -> dict | None:
                obj = source(row, v)
                if obj is None:
                    return None
                set_name = str(obj.get(f"{ref.name}_Type", "")).removeprefix(f"{NS}.")
                return resolver(set_name, str(obj.get(ref.name, "")).lower()) if set_name in SETS else None
        else:
            target_es, target_name = target, target.name

            def follow(row: dict, v: dict) -> dict | None:
                obj = source(row, v)
                return None if obj is None else resolver(target_name, str(obj.get(ref.name, "")).lower())

        return self._walk(target_es, segments[1:], follow)

    def lambda_(self, node: tuple, env: dict[str, EntitySet]) -> Callable[[dict, dict], Any]:
        _, quantifier, segments, var, body = node
        outer = segments[0] if segments[0] in env else None
        es = env[outer] if outer else self.es
        rest = segments[1:] if outer else segments
        if len(rest) != 1 or rest[0] not in es.tabular:
            raise FilterError(f"'{'/'.join(segments)}' не является табличной частью")
        section = rest[0]
        inner = self.compile(body, {**env, var: es.tabular[section]})
        test = any if quantifier == "any" else all

        def run(row: dict, v: dict) -> bool:
            obj = v[outer] if outer else row
            return test(bool(inner(row, {**v, var: r})) for r in (obj or {}).get(section) or [])

        return run


def to_python(node: tuple, es: EntitySet, resolver: Resolver) -> Callable[[dict], bool]:
    compiler = PyCompiler(es, resolver)
    if node[0] == "path" and compiler.path(node[1], {})[1].kind != "bool":
        raise FilterError("Ожидалось логическое выражение")
    fn = compiler.compile(node, {})
    return lambda row: bool(fn(row, {}))


def order_python(
    keys: list[tuple[tuple[str, ...], bool]], es: EntitySet, resolver: Resolver, rows: list[dict]
) -> list[dict]:
    compiler = PyCompiler(es, resolver)
    for segments, desc in reversed(keys):
        getter = compiler.path(segments, {})[0]

        def sort_key(r: dict, g: Callable[[dict, dict], Any] = getter) -> tuple[bool, Any]:
            value = g(r, {})
            return (value is not None, value if value is not None else 0)

        rows.sort(key=sort_key, reverse=desc)
    return rows


# ------------------------------------------------------------ other options


def parse_orderby(text: str) -> list[tuple[tuple[str, ...], bool]]:
    keys = []
    for part in _split_commas(text):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise FilterError(f"Неверный элемент $orderby: {part!r}")
        path = tuple(seg.strip() for seg in words[0].split("/"))
        if not all(re.fullmatch(r"[^\W\d]\w*", seg) for seg in path):
            raise FilterError(f"Неверный путь в $orderby: {words[0]!r}")
        keys.append((path, len(words) == 2 and words[1].lower() == "desc"))
    return keys


def _split_commas(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def parse_select(text: str) -> list[tuple[str, ...]]:
    items = []
    for part in _split_commas(text):
        path = tuple(seg.strip() for seg in part.split("/"))
        if not all(
            seg == "*" or seg.endswith("____Presentation") or re.fullmatch(r"[^\W\d]\w*", seg) for seg in path
        ):
            raise FilterError(f"Неверный элемент $select: {part!r}")
        items.append(path)
    return items
