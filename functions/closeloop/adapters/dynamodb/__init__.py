"""The surveys table (key design: docs/data.md), one store per domain port.

- ``items``: each record's key and item, mapped to and from its domain object;
- ``table``: ``SurveysTable``, the client, table name and retention every store shares, the reads
  several of them need, and ``write``, the one place a conditional write's refusal is read;
- ``planning``, ``sending``, ``deliverability``, ``answers``, ``reopening``: the store behind each of
  those domain services (``PlanningStore``, ``SendingStore``, ``DeliverabilityStore``, ``AnswerStore``,
  ``ReopenStore``);
- ``leads``: ``TeamLeadRepository``, the ``LeadDirectory`` and ``closeloop leads``.

Nothing is imported here, so a function loads only the store it uses.
"""
