"""The simulated 医疗保障信息平台: one service address answering each ``infno`` in the signed
envelope, from the registry roster (``portal.simulators``) the staff import."""
