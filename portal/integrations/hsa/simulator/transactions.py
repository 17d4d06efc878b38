"""The transactions the simulated platform answers, one handler per ``infno``.

A handler takes the request's ``input`` and the whole (verified) message and returns ``output``,
or raises :class:`Refused` (answered ``infcode`` -1 with its message).
"""

from __future__ import annotations

import secrets

from portal.integrations.hsa import envelope


class Refused(Exception):
    def __init__(self, err_msg: str):
        self.err_msg = err_msg
        super().__init__(err_msg)


def _data(input: dict, node: str = "data") -> dict:
    data = input.get(node)
    if not isinstance(data, dict):
        raise Refused(f"input.{node}：缺少交易输入节点")
    return data


def sign_in(input: dict, message: dict) -> dict:
    """9001 签到: a sign-in serial number for the operator (``sign_no`` of later requests)."""
    data = _data(input, "signIn")
    if not data.get("opter_no"):
        raise Refused("signIn.opter_no：操作员编号不能为空")
    return {"signinoutb": {"sign_time": envelope.now().strftime(envelope.TIME_FORMAT), "sign_no": secrets.token_hex(16)}}


HANDLERS = {
    "9001": sign_in,
}
