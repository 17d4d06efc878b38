"""The benefit rules: pure Python, ``Decimal`` in and out, no Django.

``engine.adjudicate_year`` computes a policy year; ``records.parse_settlement`` validates a
settlement record; ``report.year_result_to_dict`` gives the JSON shape of ``manage.py adjudicate``.
"""
