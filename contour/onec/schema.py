"""The published BP 3.0 metadata (protocols.md B), as data.

Each entity set is a list of compact property specs ``"Name:kind"``:

* ``s`` / ``s50`` string (max length), ``n`` Edm.Double, ``i`` Edm.Int64, ``b`` boolean, ``d`` Edm.DateTime,
* ``g`` Edm.Guid without navigation, ``>Catalog_X`` reference (``Name_Key`` + navigation ``Name``),
* ``e:ИмяПеречисления`` enumeration (value name as string), ``c`` composite (``Name`` + ``Name_Type``).

Tabular sections are ``(name, [specs])``; their rows also form sets ``<Set>_<Section>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NS = "StandardODATA"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
UNDEFINED_TYPE = f"{NS}.Undefined"

ENUMS: dict[str, tuple[str, ...]] = {
    "ЮридическоеФизическоеЛицо": ("ЮридическоеЛицо", "ФизическоеЛицо"),
    "СтавкиНДС": (
        "НДС22",
        "НДС22_122",
        "НДС20",
        "НДС20_120",
        "НДС18",
        "НДС18_118",
        "НДС10",
        "НДС10_110",
        "НДС7",
        "НДС7_107",
        "НДС5",
        "НДС5_105",
        "НДС0",
        "БезНДС",
    ),
    "ВидыСтавокНДС": (  # the dump's six, plus the УСН kinds of the 2025–26 releases (domain.md §3)
        "Общая",
        "ОбщаяРасчетная",
        "Пониженная",
        "ПониженнаяРасчетная",
        "Нулевая",
        "БезНДС",
        "ОбщаяУСН",
        "ПониженнаяУСН",
    ),
    "ВидыДоговоровКонтрагентов": (
        "СПокупателем",
        "СПоставщиком",
        "СКомитентом",
        "СКомиссионером",
        "СКомитентомНаЗакупку",
        "СКомиссионеромНаЗакупку",
        "СФакторинговойКомпанией",
        "СТранспортнойКомпанией",
        "Прочее",
    ),
    "ВидыОперацийСчетаПокупателю": ("ТоварыИУслуги", "ОсновныеСредства"),
    "ВидыОперацийРеализацияТоваров": (
        "Товары",
        "Услуги",
        "ПродажаКомиссия",
        "Оборудование",
        "ПередачаТоваров",
        "ОтгрузкаБезПереходаПраваСобственности",
        "ВыкупТоваровКомиссионером",
        "СтроительныеРаботы",
    ),
    "ВидыОперацийПоступлениеДенежныхСредств": (  # all 21 of the BP 3.0 dump, in its order
        "ОплатаПокупателя",
        "ВозвратОтПоставщика",
        "РасчетыПоКредитамИЗаймам",
        "ПолучениеЗайма",
        "ПолучениеКредита",
        "ВозвратЗаймаКонтрагентом",
        "ВозвратОтПодотчетногоЛица",
        "ВозвратНалога",
        "ПрочиеРасчетыСКонтрагентами",
        "ОплатаОтФакторинговойКомпании",
        "ПереводСДругогоСчета",
        "Депозит",
        "ВзносНаличными",
        "Инкассация",
        "ПриобретениеИностраннойВалюты",
        "ПоступленияОтПродажиИностраннойВалюты",
        "ПоступленияОтПродажПоПлатежнымКартамИБанковскимКредитам",
        "ВозвратЗаймаРаботником",
        "ЛичныеСредстваПредпринимателя",
        "ВзносВУставныйКапитал",
        "ПрочееПоступление",
    ),
    "СпособыПогашенияЗадолженности": ("Автоматически", "ПоДокументу", "НеПогашать"),
    "СпособыЗачетаАвансов": ("Автоматически", "ПоДокументу", "НеЗачитывать"),
    "СпособыУстановкиКурсаВалюты": ("РучнойВвод", "ЗагрузкаИзИнтернета", "НаценкаНаКурсДругойВалюты"),
    "ТипыКонтактнойИнформации": ("Адрес", "Телефон", "АдресЭлектроннойПочты", "ВебСтраница", "Другое"),
    "ВидСчета": ("Active", "Passive", "ActivePassive"),
    "ПорядкиОкругления": (
        "Окр0_01",
        "Окр0_05",
        "Окр0_1",
        "Окр0_5",
        "Окр1",
        "Окр5",
        "Окр10",
        "Окр50",
        "Окр100",
    ),
}

# ------------------------------------------------------------ entity sets

_CATALOG_HEAD = ["Ref_Key:g", "DataVersion:s", "DeletionMark:b"]
_CATALOG_TAIL = ["Predefined:b", "PredefinedDataName:s"]
_DOCUMENT_HEAD = ["Ref_Key:g", "DataVersion:s", "DeletionMark:b", "Number:s11", "Date:d", "Posted:b"]

_CONTACT_INFO = (
    "КонтактнаяИнформация",
    [
        "Тип:e:ТипыКонтактнойИнформации",
        "Вид_Key:g",
        "Представление:s500",
        "ЗначенияПолей:s",
        "Страна:s100",
        "Регион:s50",
        "Город:s50",
        "АдресЭП:s100",
        "НомерТелефона:s20",
        "Значение:s",
    ],
)

_SERVICE_ROW = [  # the head of a sale's services and agency-services rows
    "Номенклатура_Key:>Catalog_Номенклатура",
    "Содержание:s1000",
    "Количество:n",
    "Цена:n",
    "Сумма:n",
    "СтавкаНДС:e:СтавкиНДС",
    "СуммаНДС:n",
]
_SALE_ROW_TAIL = [
    "СчетДоходов_Key:>ChartOfAccounts_Хозрасчетный",
    "Субконто:c",
    "СчетУчетаНДСПоРеализации_Key:>ChartOfAccounts_Хозрасчетный",
    "СчетРасходов_Key:>ChartOfAccounts_Хозрасчетный",
    "СчетНаОплатуПокупателю_Key:>Document_СчетНаОплатуПокупателю",
    "ИдентификаторСтроки:s36",
]

SPECS: dict[str, dict] = {
    "Catalog_Контрагенты": {
        "kind": "Catalog",
        "code_len": 9,
        "desc_len": 100,
        "hierarchical": True,
        "props": [
            "НаименованиеПолное:s550",
            "ЮридическоеФизическоеЛицо:e:ЮридическоеФизическоеЛицо",
            "ИНН:s12",
            "КПП:s9",
            "КодПоОКПО:s10",
            "ГоловнойКонтрагент_Key:>Catalog_Контрагенты",
            "ОбособленноеПодразделение:b",
            "ОсновнойБанковскийСчет_Key:>Catalog_БанковскиеСчета",
            "ОсновнойДоговорКонтрагента_Key:>Catalog_ДоговорыКонтрагентов",
            "ОсновноеКонтактноеЛицо_Key:g",
            "СтранаРегистрации_Key:g",
            "ИндивидуальныйПредприниматель:b",
            "Самозанятый:b",
            "ГосударственныйОрган:b",
            "РегистрационныйНомер:s50",
            "НалоговыйНомер:s50",
            "ДатаРегистрации:d",
            "ДатаСоздания:d",
            "Комментарий:s",
            "ДополнительнаяИнформация:s",
            "ИННВведенКорректно:b",
            "КППВведенКорректно:b",
        ],
        "tabular": [_CONTACT_INFO, ("ИсторияКПП", ["Период:d", "КПП:s9"])],
        "required": ["Description"],
    },
    "Catalog_ДоговорыКонтрагентов": {
        "kind": "Catalog",
        "code_len": 9,
        "desc_len": 150,
        "hierarchical": True,
        "owner": "Catalog_Контрагенты",
        "props": [
            "Организация_Key:>Catalog_Организации",
            "ВидДоговора:e:ВидыДоговоровКонтрагентов",
            "ВалютаВзаиморасчетов_Key:>Catalog_Валюты",
            "РасчетыВУсловныхЕдиницах:b",
            "Номер:s50",
            "Дата:d",
            "СрокДействия:d",
            "УстановленСрокОплаты:b",
            "СрокОплаты:n",
            "ТипЦен_Key:>Catalog_ТипыЦенНоменклатуры",
            "ВидВзаиморасчетов_Key:g",
            "Сумма:n",
            "СуммаВключаетНДС:b",
            "СтавкаНДС:e:СтавкиНДС",
            "СуммаНДС:n",
            "ДоговорЗакрыт:b",
            "Комментарий:s",
            "ДоговорПодписан:b",
        ],
        "required": ["Description", "Owner_Key"],
    },
    "Catalog_Номенклатура": {
        "kind": "Catalog",
        "code_len": 11,
        "desc_len": 100,
        "hierarchical": True,
        "props": [
            "Артикул:s25",
            "НаименованиеПолное:s1000",
            "ВидНоменклатуры_Key:g",
            "ЕдиницаИзмерения_Key:>Catalog_КлассификаторЕдиницИзмерения",
            "Услуга:b",
            "НоменклатурнаяГруппа_Key:g",
            "СтранаПроисхождения_Key:g",
            "НомерГТД_Key:g",
            "КодТНВЭД_Key:g",
            "КодОКПД2_Key:g",
            "ВидСтавкиНДС:e:ВидыСтавокНДС",
            "УдалитьСтавкаНДС:e:СтавкиНДС",
            "Комментарий:s",
            "Описание:s",
            "ПризнакПредметаРасчета:s",
        ],
        "tabular": [("ИсторияВидаСтавкиНДС", ["Период:d", "ВидСтавкиНДС:e:ВидыСтавокНДС"])],
        "required": ["Description"],
    },
    "Catalog_КлассификаторЕдиницИзмерения": {
        "kind": "Catalog",
        "code_len": 4,
        "desc_len": 25,
        "autocode": False,
        "props": ["НаименованиеПолное:s100", "МеждународноеСокращение:s3"],
        "required": ["Code", "Description"],
    },
    "Catalog_Пользователи": {  # BSP users (no code): addressees of per-user change-prohibition dates
        "kind": "Catalog",
        "code_len": 0,
        "desc_len": 100,
        "props": ["ИдентификаторПользователяИБ:g", "Недействителен:b", "Служебный:b", "Комментарий:s"],
        "required": ["Description"],
        "writable": False,
    },
    "Catalog_ТипыЦенНоменклатуры": {
        "kind": "Catalog",
        "code_len": 9,
        "desc_len": 25,
        "props": [
            "ВалютаЦены_Key:>Catalog_Валюты",
            "ЦенаВключаетНДС:b",
            "ПорядокОкругления:e:ПорядкиОкругления",
            "ОкруглятьВБольшуюСторону:b",
            "Комментарий:s",
        ],
        "required": ["Description"],
        "writable": False,
    },
    "Catalog_Валюты": {
        "kind": "Catalog",
        "code_len": 3,
        "desc_len": 10,
        "autocode": False,
        "props": [
            "НаименованиеПолное:s50",
            "ОсновнаяВалюта_Key:>Catalog_Валюты",
            "СпособУстановкиКурса:e:СпособыУстановкиКурсаВалюты",
            "Наценка:n",
            "ПараметрыПрописи:s200",
        ],
        "required": ["Code", "Description"],
    },
    "Catalog_Организации": {
        "kind": "Catalog",
        "code_len": 9,
        "desc_len": 100,
        "props": [
            "НаименованиеПолное:s1000",
            "НаименованиеСокращенное:s200",
            "ИНН:s12",
            "КПП:s9",
            "ОГРН:s15",
            "ЮридическоеФизическоеЛицо:e:ЮридическоеФизическоеЛицо",
            "ОсновнойБанковскийСчет_Key:>Catalog_БанковскиеСчета",
            "ГоловнаяОрганизация_Key:>Catalog_Организации",
            "ОбособленноеПодразделение:b",
            "Префикс:s2",
        ],
        "required": ["Description"],
    },
    "Catalog_БанковскиеСчета": {
        "kind": "Catalog",
        "code_len": 9,
        "desc_len": 100,
        "owner": "composite",
        "props": [
            "НомерСчета:s70",
            "Банк_Key:g",
            "ВалютаДенежныхСредств_Key:>Catalog_Валюты",
            "Валютный:b",
            "СчетБанк_Key:>ChartOfAccounts_Хозрасчетный",
            "ДатаОткрытия:d",
            "ДатаЗакрытия:d",
        ],
        "required": ["Description"],
    },
    "ChartOfAccounts_Хозрасчетный": {
        "kind": "ChartOfAccounts",
        "code_len": 8,
        "desc_len": 120,
        "hierarchical": True,
        "autocode": False,
        "props": [
            "Order:s8",
            "Type:e:ВидСчета",
            "OffBalance:b",
            "Валютный:b",
            "Количественный:b",
            "НалоговыйУчет:b",
            "УчетПоПодразделениям:b",
            "Забалансовый:b",
        ],
        "tabular": [
            (
                "ExtDimensionTypes",
                [
                    "ExtDimensionType_Key:g",
                    "TurnoversOnly:b",
                    "Суммовой:b",
                    "Валютный:b",
                    "Количественный:b",
                    "НалоговыйУчет:b",
                ],
            )
        ],
        "required": ["Code"],
        "writable": False,
    },
    "Document_СчетНаОплатуПокупателю": {
        "kind": "Document",
        "posting": True,
        "props": [
            "ВидОперации:e:ВидыОперацийСчетаПокупателю",
            "Организация_Key:>Catalog_Организации",
            "Контрагент_Key:>Catalog_Контрагенты",
            "ДоговорКонтрагента_Key:>Catalog_ДоговорыКонтрагентов",
            "ВалютаДокумента_Key:>Catalog_Валюты",
            "КурсВзаиморасчетов:n",
            "КратностьВзаиморасчетов:n",
            "СуммаВключаетНДС:b",
            "СуммаДокумента:n",
            "СуммаСкидки:n",
            "ДокументБезНДС:b",
            "ТипЦен_Key:>Catalog_ТипыЦенНоменклатуры",
            "СтруктурнаяЕдиница_Key:>Catalog_БанковскиеСчета",
            "Склад_Key:g",
            "Ответственный_Key:g",
            "Комментарий:s",
            "ДокументОснование:c",
            "СсылочныйИдентификатор:s36",
        ],
        "tabular": [
            (
                "Товары",
                [
                    "Номенклатура:c",
                    "Содержание:s1000",
                    "Количество:n",
                    "Цена:n",
                    "Сумма:n",
                    "ПроцентСкидки:n",
                    "СуммаСкидки:n",
                    "СтавкаНДС:e:СтавкиНДС",
                    "СуммаНДС:n",
                    "КлючКалькуляцииРасходов:g",
                ],
            ),
            (
                "ВозвратнаяТара",
                ["Номенклатура_Key:>Catalog_Номенклатура", "Количество:n", "Цена:n", "Сумма:n"],
            ),
        ],
        "required": ["Date"],
    },
    "Document_РеализацияТоваровУслуг": {
        "kind": "Document",
        "posting": True,
        "props": [
            "ВидОперации:e:ВидыОперацийРеализацияТоваров",
            "Организация_Key:>Catalog_Организации",
            "Склад_Key:g",
            "Контрагент_Key:>Catalog_Контрагенты",
            "ДоговорКонтрагента_Key:>Catalog_ДоговорыКонтрагентов",
            "СчетНаОплатуПокупателю_Key:>Document_СчетНаОплатуПокупателю",
            "ВалютаДокумента_Key:>Catalog_Валюты",
            "КурсВзаиморасчетов:n",
            "КратностьВзаиморасчетов:n",
            "СуммаВключаетНДС:b",
            "ДокументБезНДС:b",
            "СуммаДокумента:n",
            "СпособЗачетаАвансов:e:СпособыЗачетаАвансов",
            "СчетУчетаРасчетовСКонтрагентом_Key:>ChartOfAccounts_Хозрасчетный",
            "СчетУчетаРасчетовПоАвансам_Key:>ChartOfAccounts_Хозрасчетный",
            "ТипЦен_Key:>Catalog_ТипыЦенНоменклатуры",
            "БанковскийСчетОрганизации_Key:>Catalog_БанковскиеСчета",
            "Грузоотправитель_Key:>Catalog_Контрагенты",
            "Грузополучатель_Key:>Catalog_Контрагенты",
            "АдресДоставки:s",
            "ЭтоУниверсальныйДокумент:b",
            "Ответственный_Key:g",
            "Комментарий:s",
            "РучнаяКорректировка:b",
        ],
        "tabular": [
            (
                "Товары",
                [
                    "Номенклатура_Key:>Catalog_Номенклатура",
                    "ЕдиницаИзмерения_Key:>Catalog_КлассификаторЕдиницИзмерения",
                    "Коэффициент:n",
                    "Количество:n",
                    "Цена:n",
                    "Сумма:n",
                    "СтавкаНДС:e:СтавкиНДС",
                    "СуммаНДС:n",
                    "СчетУчета_Key:>ChartOfAccounts_Хозрасчетный",
                    *_SALE_ROW_TAIL,
                    "НомерГТД_Key:g",
                    "СтранаПроисхождения_Key:g",
                    "НалоговаяБазаНДС:n",
                ],
            ),
            (
                "Услуги",
                [
                    *_SERVICE_ROW,
                    *_SALE_ROW_TAIL,
                ],
            ),
            ("ЗачетАвансов", ["ДокументАванса:c", "СуммаЗачета:n"]),
            (
                "АгентскиеУслуги",
                [
                    *_SERVICE_ROW,
                    "Контрагент_Key:>Catalog_Контрагенты",
                    "ДоговорКонтрагента_Key:>Catalog_ДоговорыКонтрагентов",
                    "СчетРасчетов_Key:>ChartOfAccounts_Хозрасчетный",
                    "СчетНаОплатуПокупателю_Key:>Document_СчетНаОплатуПокупателю",
                    "ИдентификаторСтроки:s36",
                ],
            ),
            (
                "ВозвратнаяТара",
                [
                    "Номенклатура_Key:>Catalog_Номенклатура",
                    "Количество:n",
                    "Цена:n",
                    "Сумма:n",
                    "СчетУчета_Key:>ChartOfAccounts_Хозрасчетный",
                    "СчетНаОплатуПокупателю_Key:>Document_СчетНаОплатуПокупателю",
                ],
            ),
        ],
        "required": ["Date"],
    },
    "Document_ПоступлениеНаРасчетныйСчет": {
        "kind": "Document",
        "posting": True,
        "props": [
            "ВидОперации:e:ВидыОперацийПоступлениеДенежныхСредств",
            "Организация_Key:>Catalog_Организации",
            "СчетОрганизации_Key:>Catalog_БанковскиеСчета",
            "СчетБанк_Key:>ChartOfAccounts_Хозрасчетный",
            "Контрагент:c",
            "СчетКонтрагента_Key:>Catalog_БанковскиеСчета",
            "ДоговорКонтрагента_Key:>Catalog_ДоговорыКонтрагентов",
            "ВалютаДокумента_Key:>Catalog_Валюты",
            "СуммаДокумента:n",
            "НазначениеПлатежа:s210",
            "НомерВходящегоДокумента:s30",
            "ДатаВходящегоДокумента:d",
            "СчетУчетаРасчетовСКонтрагентом_Key:>ChartOfAccounts_Хозрасчетный",
            "СтатьяДвиженияДенежныхСредств_Key:g",
            "ДокументОснование:c",
            "Ответственный_Key:g",
            "Комментарий:s",
        ],
        "tabular": [
            (
                "РасшифровкаПлатежа",
                [
                    "ДоговорКонтрагента_Key:>Catalog_ДоговорыКонтрагентов",
                    "СпособПогашенияЗадолженности:e:СпособыПогашенияЗадолженности",
                    "Сделка:c",
                    "СуммаПлатежа:n",
                    "КурсВзаиморасчетов:n",
                    "КратностьВзаиморасчетов:n",
                    "СуммаВзаиморасчетов:n",
                    "СтавкаНДС:e:СтавкиНДС",
                    "СуммаНДС:n",
                    "СчетНаОплату_Key:>Document_СчетНаОплатуПокупателю",
                    "СтатьяДвиженияДенежныхСредств_Key:g",
                    "СчетУчетаРасчетовСКонтрагентом_Key:>ChartOfAccounts_Хозрасчетный",
                    "СчетУчетаРасчетовПоАвансам_Key:>ChartOfAccounts_Хозрасчетный",
                    "СубконтоКт1:c",
                    "СубконтоКт2:c",
                    "СубконтоКт3:c",
                    "СуммаВозврата:n",
                    "ДоходыУСН:n",
                ],
            )
        ],
        "required": ["Date"],
    },
    "Document_ОперацияБух": {
        "kind": "Document",
        "posting": False,
        "props": [
            "Организация_Key:>Catalog_Организации",
            "СуммаОперации:n",
            "Содержание:s250",
            "Комментарий:s",
            "Ответственный_Key:g",
            "ТиповаяОперация_Key:g",
            "СторнируемыйДокумент:c",
            "МежотчетныйПериод:b",
        ],
        "required": ["Date"],
    },
    "InformationRegister_КурсыВалют": {
        "kind": "InformationRegister",
        "dimensions": ["Валюта_Key"],  # periodic (day): SliceLast/SliceFirst per these
        "keys": ["Period", "Валюта_Key"],
        "props": ["Period:d", "Валюта_Key:>Catalog_Валюты", "Курс:n", "Кратность:n"],
        "writable": False,
    },
    # periodic (day), subordinate to the recorder УстановкаЦенНоменклатуры (not published): the rows are
    # addressed by (Recorder_Key, LineNumber); decision: this flat form is published under the register's
    # own name (real 1C also has the record-set form), SliceLast/SliceFirst per (ТипЦен, Номенклатура)
    "InformationRegister_ЦеныНоменклатуры": {
        "kind": "InformationRegister",
        "dimensions": ["ТипЦен_Key", "Номенклатура_Key"],
        "keys": ["Recorder_Key", "LineNumber"],
        "props": [
            "Recorder_Key:g",
            "Period:d",
            "LineNumber:i",
            "Active:b",
            "ТипЦен_Key:>Catalog_ТипыЦенНоменклатуры",
            "Номенклатура_Key:>Catalog_Номенклатура",
            "Валюта_Key:>Catalog_Валюты",
            "Цена:n",
        ],
        "writable": False,
    },
    "InformationRegister_ДатыЗапретаИзменения": {
        "kind": "InformationRegister",
        "keys": ["Раздел_Key", "Объект", "Объект_Type", "Пользователь", "Пользователь_Type"],
        "props": [
            "Раздел_Key:g",
            "Объект:c",
            "Пользователь:c",
            "ДатаЗапрета:d",
            "ОписаниеДатыЗапрета:s",
            "Комментарий:s",
        ],
        "writable": False,
    },
    "AccountingRegister_Хозрасчетный_RecordType": {
        "kind": "RecordType",
        "keys": ["Recorder", "Recorder_Type", "LineNumber"],
        "writable": False,
        "props": [
            "Recorder:c",
            "Period:d",
            "LineNumber:i",
            "Active:b",
            "AccountDr_Key:>ChartOfAccounts_Хозрасчетный",
            "AccountCr_Key:>ChartOfAccounts_Хозрасчетный",
            "Организация_Key:>Catalog_Организации",
            "ВалютаDr_Key:>Catalog_Валюты",
            "ВалютаCr_Key:>Catalog_Валюты",
            "ПодразделениеDr_Key:g",
            "ПодразделениеCr_Key:g",
            "Сумма:n",
            "ВалютнаяСуммаDr:n",
            "ВалютнаяСуммаCr:n",
            "КоличествоDr:n",
            "КоличествоCr:n",
            "СуммаНУDr:n",
            "СуммаНУCr:n",
            "СуммаПРDr:n",
            "СуммаПРCr:n",
            "СуммаВРDr:n",
            "СуммаВРCr:n",
            "Содержание:s150",
            "НеКорректироватьСтоимостьАвтоматически:b",
        ],
    },
}

_EXT = [f"ExtDimension{side}{i}:c" for side in ("Dr", "Cr") for i in (1, 2, 3)]
VIRTUAL_SPECS: dict[str, list[str]] = {
    # RecordsWithExtDimensions: the record row plus subconto (protocols B.9)
    "AccountingRegister_Хозрасчетный_RecordsWithExtDimensions": [
        *SPECS["AccountingRegister_Хозрасчетный_RecordType"]["props"],
        *_EXT,
    ],
    "AccountingRegister_Хозрасчетный_Balance": [
        "Account_Key:>ChartOfAccounts_Хозрасчетный",
        "Организация_Key:>Catalog_Организации",
        "ExtDimension1:c",
        "ExtDimension2:c",
        "ExtDimension3:c",
        "СуммаBalance:n",
        "СуммаBalanceDr:n",
        "СуммаBalanceCr:n",
    ],
    "AccountingRegister_Хозрасчетный_Turnovers": [
        "Account_Key:>ChartOfAccounts_Хозрасчетный",
        "Организация_Key:>Catalog_Организации",
        "ExtDimension1:c",
        "ExtDimension2:c",
        "ExtDimension3:c",
        "СуммаTurnover:n",
        "СуммаTurnoverDr:n",
        "СуммаTurnoverCr:n",
    ],
    # the rows Balance/Turnovers aggregate: one per side of a record
    "AccountingRegister_Хозрасчетный_Movement": [
        "Period:d",
        "Account_Key:>ChartOfAccounts_Хозрасчетный",
        "Организация_Key:>Catalog_Организации",
        "ExtDimension1:c",
        "ExtDimension2:c",
        "ExtDimension3:c",
        "Recorder:c",
    ],
}


# ------------------------------------------------------------ model


@dataclass(frozen=True)
class Prop:
    """One OData property. ``kind``: str num int bool date guid enum comp (composite value), type (its _Type),
    coll (a tabular section: a collection of row objects)."""

    name: str
    kind: str
    size: int | None = None
    target: str | None = None  # entity set a guid reference points to
    enum: str | None = None

    @property
    def nav(self) -> str | None:
        """The navigation property name of a reference (``Контрагент`` for ``Контрагент_Key``)."""
        if self.target and self.name.endswith("_Key"):
            return self.name[:-4]
        return None

    @property
    def edm(self) -> str:
        return {
            "str": "Edm.String",
            "num": "Edm.Double",
            "int": "Edm.Int64",
            "bool": "Edm.Boolean",
            "date": "Edm.DateTime",
            "guid": "Edm.Guid",
            "enum": "Edm.String",
            "comp": "Edm.String",
            "type": "Edm.String",
            "coll": "",
        }[self.kind]

    def empty(self):
        return {
            "str": "",
            "num": 0,
            "int": 0,
            "bool": False,
            "date": EMPTY_DATE,
            "guid": ZERO_GUID,
            "enum": "",
            "comp": "",
            "type": UNDEFINED_TYPE,
            "coll": [],
        }[self.kind]


@dataclass
class EntitySet:
    """A published entity set: its properties, keys, tabular sections and write rules."""

    name: str
    kind: str  # Catalog Document ChartOfAccounts InformationRegister RecordType Tabular Virtual ...
    props: list[Prop]
    keys: list[str] = field(default_factory=lambda: ["Ref_Key"])
    tabular: dict[str, EntitySet] = field(default_factory=dict)
    code_len: int = 0
    autocode: bool = True
    owner: str | None = None
    posting: bool = False
    required: list[str] = field(default_factory=list)
    writable: bool = True
    parent: str | None = None  # for tabular-row sets: the owner set
    dimensions: list[str] = field(default_factory=list)  # of a periodic information register (slices)

    def __post_init__(self) -> None:
        self.by_name = {p.name: p for p in self.props}

    def prop(self, name: str) -> Prop | None:
        return self.by_name.get(name)

    @property
    def is_object(self) -> bool:
        """Reference objects addressed by ``Ref_Key`` (catalogs, documents, charts)."""
        return self.kind in ("Catalog", "Document", "ChartOfAccounts")

    @property
    def type_name(self) -> str:
        return f"{NS}.{self.name}"


def parse_spec(spec: str) -> list[Prop]:
    """``"Name:kind"`` → properties (a composite gives two)."""
    name, _, kind = spec.partition(":")
    if kind.startswith(">"):
        return [Prop(name, "guid", target=kind[1:])]
    if kind.startswith("e:"):
        return [Prop(name, "enum", enum=kind[2:])]
    if kind == "c":
        return [Prop(name, "comp"), Prop(f"{name}_Type", "type")]
    base = {"s": "str", "n": "num", "i": "int", "b": "bool", "d": "date", "g": "guid"}[kind[:1] or "s"]
    size = int(kind[1:]) if kind[1:].isdigit() else None
    return [Prop(name, base, size=size)]


def _props(specs: list[str]) -> list[Prop]:
    return [p for spec in specs for p in parse_spec(spec)]


def _build(name: str, spec: dict) -> EntitySet:
    kind = spec["kind"]
    head: list[str]
    tail: list[str] = []
    if kind in ("Catalog", "ChartOfAccounts"):
        head = list(_CATALOG_HEAD)
        if spec.get("hierarchical"):
            head += [f"Parent_Key:>{name}", "IsFolder:b"]
        if spec.get("owner") == "composite":
            head += ["Owner:c"]
        elif spec.get("owner"):
            head += [f"Owner_Key:>{spec['owner']}"]
        if spec["code_len"]:
            head += [f"Code:s{spec['code_len']}"]
        head += [f"Description:s{spec['desc_len']}"]
        tail = list(_CATALOG_TAIL)
    elif kind == "Document":
        head = list(_DOCUMENT_HEAD)
    else:
        head = []
    tabular_specs = spec.get("tabular", [])
    tab_props = [Prop(t, "coll") for t, _ in tabular_specs]
    es = EntitySet(
        name=name,
        kind=kind,
        props=_props(head + spec["props"]) + tab_props + _props(tail),
        keys=spec.get("keys", ["Ref_Key"]),
        code_len=spec.get("code_len", 0),
        autocode=spec.get("autocode", True),
        owner=spec.get("owner"),
        posting=spec.get("posting", False),
        required=spec.get("required", []),
        writable=spec.get("writable", True),
        dimensions=spec.get("dimensions", []),
    )
    for tab_name, row_specs in tabular_specs:
        es.tabular[tab_name] = EntitySet(
            name=f"{name}_{tab_name}",
            kind="Tabular",
            props=_props(["Ref_Key:g", "LineNumber:i", *row_specs]),
            keys=["Ref_Key", "LineNumber"],
            parent=name,
            writable=False,
        )
    return es


def _build_all() -> dict[str, EntitySet]:
    sets: dict[str, EntitySet] = {}
    for name, spec in SPECS.items():
        es = _build(name, spec)
        sets[name] = es
        for row_set in es.tabular.values():
            sets[row_set.name] = row_set
    rec = sets["AccountingRegister_Хозрасчетный_RecordType"]
    sets["AccountingRegister_Хозрасчетный"] = EntitySet(
        name="AccountingRegister_Хозрасчетный",
        kind="AccountingRegister",
        props=[*_props(["Recorder:c"]), Prop("RecordSet", "coll")],
        keys=["Recorder", "Recorder_Type"],
        tabular={"RecordSet": rec},
        writable=True,
    )
    return sets


SETS: dict[str, EntitySet] = _build_all()
VIRTUAL: dict[str, EntitySet] = {
    name: EntitySet(name=name, kind="Virtual", props=_props(specs), keys=[])
    for name, specs in VIRTUAL_SPECS.items()
}


def entity_set(name: str) -> EntitySet | None:
    return SETS.get(name)


def set_of_type(type_name: str) -> str | None:
    """``StandardODATA.Catalog_X`` → ``Catalog_X`` when published."""
    short = type_name.removeprefix(f"{NS}.")
    return short if short in SETS else None


def tabular_names(es: EntitySet) -> set[str]:
    return set(es.tabular) if es.kind != "AccountingRegister" else set()
