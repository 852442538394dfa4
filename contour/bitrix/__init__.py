"""Bitrix24 REST emulator of the test contour.

URL: ``https://127.0.0.1:8082/rest/<webhook_user>/<webhook_token>/<method>[.json]`` — by default
``/rest/1/contour0webhook0token/``. GET query strings, JSON bodies and urlencoded/multipart forms are all
accepted (PHP-bracket names, case-insensitive top-level keys).

Knobs (``python -m contour knobs bitrix --set k=v``, ``POST /_contour/knobs`` or ``CONTOUR_BITRIX_<KNOB>``):
``webhook_user``, ``webhook_token``, ``rate_plan`` (standard | enterprise | off), ``operating_limit_s`` (480),
``operating_cost_s`` (0: extra seconds charged per call), ``event_handler_url`` (empty: no events),
``application_token``, ``event_names`` (comma list or ``*``), ``event_delay_ms``, ``portal_domain``,
``event_copies`` (duplicate deliveries), ``batch_fault_rate`` (failing batch sub-calls), the lost-answer
fault ``fault_lost_answer_next`` / ``fault_lost_answer_rate`` / ``fault_lost_answer_on`` (a write commits,
then the connection drops before its answer; ``_on`` names methods such as ``crm.deal.update``, ``batch``
or actions such as ``update``, ``set``; a batch is selected as ``batch``, not by its sub-calls), plus the
common ``latency_ms`` / ``fault_5xx_rate`` / ``fault_timeout_rate`` / ``fault_timeout_s`` / ``fault_seed``.

Admin: ``GET /_contour/stats`` (requests, 503/429 counts, per-method calls and operating seconds, max requests
in any second, events sent/failed), ``DELETE /_contour/stats`` resets it, ``POST /_contour/limits/reset``
empties the leaky bucket and the operating-time baskets.

Modules: ``phpparams`` decoding, ``fields``/``schemas`` field data, ``storage`` SQLite, ``query`` filters and
paging; methods: ``classic`` (generic CRUD), ``entities`` (companies, requisites, CRM products),
``requisites`` (bank details, addresses), ``deals`` (deals, product-row arithmetic per protocols.md C.9a,
``crm.deal.productrows.*``), ``productrows`` (``crm.item.productrow.*``), ``userfields`` (deal user fields),
``stagehistory``, ``items`` (smart invoices), ``catalog`` (catalogs, products, services, units, VAT rates),
``prices`` (price types, prices), ``dictionaries``; ``batch``, ``limits``, ``events``, ``app`` routing
and the lost-answer fault, ``seed``.
"""
