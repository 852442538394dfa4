"""Emulator of 1С:Бухгалтерия 3.0's standard OData interface (OData v3, JSON light), for the test contour.

Base URL ``https://127.0.0.1:8081/accounting/odata/standard.odata/`` (service document, ``$metadata``, sets).
HTTP Basic auth, credentials decoded as UTF-8. Users:

* ``Интеграция`` / ``contour`` — reads everything; writes catalogs, documents, ОперацияБух record sets; posts.
  Login and password are the knobs ``user``/``password`` (env ``CONTOUR_ONEC_USER``,
  ``CONTOUR_ONEC_PASSWORD``).
* ``Бухгалтер`` / ``accountant`` — the same rights as the integration (a second writer: per-user dates).
* ``Наблюдатель`` / ``observer`` — reads Контрагенты, Номенклатура, Валюты, units; sees legal entities only
  (RLS: other rows → 403 code 20 unless ``allowedOnly=true``).

Knobs (``/_contour/knobs``, env ``CONTOUR_ONEC_<KNOB>``): ``prohibition_date`` (``YYYY-MM-DD``,
``КонецПрошлогоМесяца[+N]`` and the other BSP relative dates, ``""`` = none, unset = as seeded) and
``prohibition_user_dates`` (``{login: value}`` per user), kept in ``InformationRegister_ДатыЗапретаИзменения``
(see ``prohibition``), plus the common latency/fault
knobs and ``fault_lost_answer_rate``/``_next``/``_on`` (a write is made, then its answer is lost: ``faults``).
``$inlinecount=allpages`` with ``$top``/``$skip`` gives ``odata.count`` of the whole filtered set and only the
page of rows (decision on protocols.md E.4; the 1C docs' "ignores $skip and $top" is read as about the count).
``GET /_contour/requests?limit=N`` returns the request log. Modules: ``schema`` (metadata as data), ``filter``
($filter parser and back ends), ``storage`` (SQLite), ``posting`` (posting rules), ``writes``, ``registers``,
``odata`` (URLs, errors, JSON), ``metadata`` ($metadata), ``app`` (routing), ``seed``, ``documents`` (BP's
BeforeWrite of documents: totals, sections), ``prohibition`` (change-prohibition dates), ``faults`` (lost
answers), ``nomenclature`` (1C-only seed data: price types, prices, demo items, daily rates).
Deviations: JSON only (``$format=atom`` → 400 code 3); DELETE and Post/Unpost answer 200 with an empty body.
"""
