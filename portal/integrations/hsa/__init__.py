"""The 医疗保障信息平台 (national medical-insurance information platform): one package for the
registry queries, the Weihai personal account and the settlement feed, all in the platform's
signed envelope (``envelope.py``, SM2/SM3 in ``sm.py``), with its settings (``conf.py``) and its
simulator (``simulator/``, mounted under ``/sim/hsa/`` outside production). README: "The
medical-insurance platform".
"""
