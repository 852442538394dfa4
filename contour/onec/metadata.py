"""The service document and ``$metadata`` (EDMX 1.0, OData v3) generated from :mod:`contour.onec.schema`."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from contour.onec.schema import ENUMS, NS, SETS, VIRTUAL, EntitySet

CONTAINER = "EnterpriseV8"


def service_document(root_url: str) -> dict:
    names = [name for name in SETS if name != "AccountingRegister_Хозрасчетный_Movement"]
    return {"odata.metadata": f"{root_url}$metadata", "value": [{"name": n, "url": n} for n in names]}


def _property(prop_name: str, edm: str, nullable: bool = True, size: int | None = None) -> str:
    extra = f' MaxLength="{size}"' if size else ""
    return f'<Property Name={quoteattr(prop_name)} Type="{edm}" Nullable="{str(nullable).lower()}"{extra}/>'


def _row_type(es: EntitySet) -> str:
    props = "".join(_property(p.name, p.edm, p.name != "LineNumber", p.size) for p in es.props)
    return f"<ComplexType Name={quoteattr(es.name + '_RowType')}>{props}</ComplexType>"


def _entity_type(es: EntitySet, associations: list[tuple[str, str, str]]) -> str:
    keys = "".join(f"<PropertyRef Name={quoteattr(k)}/>" for k in es.keys)
    parts = [f'<EntityType Name={quoteattr(es.name)} OpenType="true"><Key>{keys}</Key>']
    for p in es.props:
        if p.kind == "coll":
            row_type = (
                f"{es.name}_RowType"
                if es.kind == "AccountingRegister"
                else f"{es.tabular[p.name].name}_RowType"
            )
            parts.append(
                f'<Property Name={quoteattr(p.name)} Type="Collection({NS}.{row_type})" Nullable="false"/>'
            )
        else:
            parts.append(_property(p.name, p.edm, p.name not in es.keys, p.size))
    for p in es.props:
        if p.nav and p.target in SETS:
            assoc = f"{es.name}_{p.nav}"
            associations.append((assoc, es.name, p.target))
            parts.append(
                f"<NavigationProperty Name={quoteattr(p.nav)} Relationship={quoteattr(NS + '.' + assoc)} "
                f'FromRole="Begin" ToRole="End"/>'
            )
    parts.append("</EntityType>")
    return "".join(parts)


def _functions() -> str:
    out = []
    for es in SETS.values():
        if es.kind == "Document" and es.posting:
            for name in ("Post", "Unpost"):
                out.append(
                    f'<FunctionImport Name="{name}" IsBindable="true" IsSideEffecting="true" '
                    'm:IsBindable="true">'
                    f'<Parameter Name="bindingParameter" Type="{NS}.{es.name}"/>'
                    '<Parameter Name="PostingModeOperational" Type="Edm.Boolean"/></FunctionImport>'
                )
    register = f"{NS}.AccountingRegister_Хозрасчетный"
    for name, params in (
        ("Balance", ("Period", "AccountCondition", "Condition")),
        ("Turnovers", ("StartPeriod", "EndPeriod", "AccountCondition", "Condition")),
        ("RecordsWithExtDimensions", ("StartPeriod", "EndPeriod", "Condition")),
    ):
        ps = "".join(
            f'<Parameter Name="{p}" Type="{"Edm.DateTime" if "Period" in p else "Edm.String"}"/>'
            for p in params
        )
        out.append(
            f'<FunctionImport Name="{name}" IsBindable="true" m:IsBindable="true" '
            f'ReturnType="Collection({NS}.AccountingRegister_Хозрасчетный_{name})">'
            f'<Parameter Name="bindingParameter" Type="Collection({register})"/>{ps}</FunctionImport>'
        )
    for register in (f"{NS}.{es.name}" for es in SETS.values() if es.dimensions):
        for name in ("SliceLast", "SliceFirst"):
            out.append(
                f'<FunctionImport Name="{name}" IsBindable="true" m:IsBindable="true" '
                f'ReturnType="Collection({register})"><Parameter Name="bindingParameter" '
                f'Type="Collection({register})"/><Parameter Name="Period" Type="Edm.DateTime"/>'
                '<Parameter Name="Condition" Type="Edm.String"/></FunctionImport>'
            )
    return "".join(out)


def metadata_xml() -> str:
    associations: list[tuple[str, str, str]] = []
    types = []
    for es in SETS.values():
        for row in es.tabular.values():
            if es.kind != "AccountingRegister":
                types.append(_row_type(row))
        types.append(_entity_type(es, associations))
    types.append(
        _row_type(SETS["AccountingRegister_Хозрасчетный_RecordType"]).replace(
            "_RecordType_RowType", "_RowType"
        )
    )
    for name, es in VIRTUAL.items():
        if name.endswith("_Movement"):
            continue
        props = "".join(_property(p.name, p.edm, True, p.size) for p in es.props)
        types.append(f"<ComplexType Name={quoteattr(name)}>{props}</ComplexType>")
    enums = "".join(
        f'<EnumType Name={quoteattr(name)} UnderlyingType="Edm.Int32">'
        + "".join(f'<Member Name={quoteattr(v)} Value="{i}"/>' for i, v in enumerate(values))
        + "</EnumType>"
        for name, values in ENUMS.items()
    )
    assoc_xml = "".join(
        f"<Association Name={quoteattr(a)}>"
        f'<End Role="Begin" Type={quoteattr(NS + "." + src)} Multiplicity="*"/>'
        f'<End Role="End" Type={quoteattr(NS + "." + dst)} Multiplicity="0..1"/></Association>'
        for a, src, dst in associations
    )
    sets = "".join(f"<EntitySet Name={quoteattr(n)} EntityType={quoteattr(NS + '.' + n)}/>" for n in SETS)
    assoc_sets = "".join(
        f"<AssociationSet Name={quoteattr(a)} Association={quoteattr(NS + '.' + a)}>"
        f'<End Role="Begin" EntitySet={quoteattr(src)}/><End Role="End" EntitySet={quoteattr(dst)}/>'
        "</AssociationSet>"
        for a, src, dst in associations
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" Version="1.0">'
        '<edmx:DataServices xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" '
        'm:DataServiceVersion="3.0" m:MaxDataServiceVersion="3.0">'
        f'<Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm" Namespace="{NS}">'
        f"{''.join(types)}{enums}{assoc_xml}"
        f'<EntityContainer Name="{CONTAINER}" m:IsDefaultEntityContainer="true">{sets}{assoc_sets}'
        f"{_functions()}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
    )
