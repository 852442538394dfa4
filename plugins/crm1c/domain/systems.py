"""What each system's counterparty record holds (protocols.md B.1, C.6, C.7): names a mapping may use."""

from __future__ import annotations

#: Bitrix24 ``crm.company.*`` fields a mapping may write (read-only ones such as DATE_CREATE are left out).
COMPANY_FIELDS = frozenset(
    {"TITLE", "COMPANY_TYPE", "INDUSTRY", "EMPLOYEES", "CURRENCY_ID", "REVENUE", "OPENED", "COMMENTS"}
    | {"IS_MY_COMPANY", "ASSIGNED_BY_ID", "PHONE", "EMAIL", "WEB", "IM", "BANKING_DETAILS", "ORIGIN_VERSION"}
    | {"UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT", "UTM_TERM"}
)
#: Multi-value company fields: arrays of ``{"ID", "VALUE", "VALUE_TYPE"}``.
COMPANY_MULTIFIELDS = frozenset({"PHONE", "EMAIL", "WEB", "IM"})
#: Bitrix24 ``crm.requisite.*`` fields a mapping may write.
REQUISITE_FIELDS = frozenset(
    {"NAME", "ACTIVE", "XML_ID", "SORT", "RQ_NAME", "RQ_FIRST_NAME", "RQ_LAST_NAME", "RQ_SECOND_NAME"}
    | {"RQ_COMPANY_NAME", "RQ_COMPANY_FULL_NAME", "RQ_COMPANY_REG_DATE", "RQ_DIRECTOR", "RQ_ACCOUNTANT"}
    | {"RQ_CEO_NAME", "RQ_CEO_WORK_POS", "RQ_CONTACT", "RQ_EMAIL", "RQ_PHONE", "RQ_FAX", "RQ_INN", "RQ_KPP"}
    | {"RQ_OGRN", "RQ_OGRNIP", "RQ_OKPO", "RQ_OKTMO", "RQ_OKVED", "RQ_VAT_PAYER"}
)
#: Set by crm1c itself, never through ``fields``: name → the part of the mapping that decides it.
CRM_MANAGED = {
    "company.ID": "the record id",
    "company.COMPANY_TYPE": "legal_forms",
    "company.ORIGINATOR_ID": "links.crm",
    "company.ORIGIN_ID": "links.crm",
    "requisite.ID": "the record id",
    "requisite.PRESET_ID": "legal_forms",
    "requisite.ENTITY_TYPE_ID": "the company link",
    "requisite.ENTITY_ID": "the company link",
}
REQUISITE_ENTITY_TYPE_COMPANY = "4"

#: ``Catalog_Контрагенты`` text attributes and their length in BP 3.0.151 (0 = unlimited).
ONEC_TEXT_ATTRIBUTES = {
    "Description": 100,
    "НаименованиеПолное": 550,
    "ИНН": 50,
    "КПП": 9,
    "КодПоОКПО": 10,
    "Комментарий": 0,
    "ДополнительнаяИнформация": 0,
    "РегистрационныйНомер": 50,
    "НалоговыйНомер": 50,
    "ДокументУдостоверяющийЛичность": 250,
}
#: Other ``Catalog_Контрагенты`` attributes: known, but not text a field map could carry.
ONEC_OTHER_ATTRIBUTES = frozenset(
    {
        "Code",
        "Parent_Key",
        "IsFolder",
        "Predefined",
        "ОсновнойБанковскийСчет_Key",
        "ОсновноеКонтактноеЛицо_Key",
    }
    | {"СтранаРегистрации_Key", "Самозанятый", "ГосударственныйОрган", "ДатаРегистрации", "ДатаСоздания"}
    | {
        "ИННВведенКорректно",
        "КППВведенКорректно",
        "РасширенноеПредставлениеИНН",
        "РасширенноеПредставлениеКПП",
    }
)
ONEC_REF_KEY = "Ref_Key"
ONEC_DELETION_MARK = "DeletionMark"
ONEC_IS_FOLDER = "IsFolder"
ONEC_HEAD = "ГоловнойКонтрагент_Key"
ONEC_LEGAL_OR_PERSON = "ЮридическоеФизическоеЛицо"
ONEC_SOLE_PROPRIETOR = "ИндивидуальныйПредприниматель"
ONEC_BRANCH = "ОбособленноеПодразделение"
#: Set by crm1c itself or by 1C, never through ``fields``.
ONEC_MANAGED = {
    ONEC_REF_KEY: "the record id",
    "DataVersion": "1C",
    ONEC_DELETION_MARK: "tombstones",
    ONEC_HEAD: "the branch's head",
    ONEC_LEGAL_OR_PERSON: "legal_forms",
    ONEC_SOLE_PROPRIETOR: "legal_forms",
    ONEC_BRANCH: "legal_forms",
}
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
