"""The ``rollback_switch``: a soft rollback of entities to ``read_only`` (or ``off``) and the way back.

Plain Python, no Airflow import. :mod:`.request` checks the parameters, :mod:`.history` reads the audit log
(what crm1c created in 1C since a moment; the mode before a rollback), :mod:`.compensate` puts deletion marks
on unposted objects (posted documents are listed, never touched), :mod:`.switch` runs the steps per entity
(the Airflow REST API behind a protocol) and :mod:`.report` writes what on-call reads.
"""
