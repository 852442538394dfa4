"""What watches a sync run and tells on-call (plain Python, no Airflow import).

* :mod:`~crm1c.watch.run`: at the end of a run, quarantine growth (:mod:`~crm1c.watch.quarantine`) and the
  Bitrix24 rate budget (:mod:`~crm1c.watch.budget`);
* :mod:`~crm1c.watch.breaker`: the mass-change circuit breaker between plan and the loads.

Each returns a :class:`~crm1c.watch.message.Message` for :func:`crm1c.notify.alerts.send_alert`; the
thresholds are ``include/mappings/alerts.yaml``'s ``thresholds`` (:class:`crm1c.notify.config.Thresholds`).
"""
