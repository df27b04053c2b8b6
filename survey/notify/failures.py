"""A channel's failure in Chinese, for the test buttons and 通知记录: what went wrong and where.
Connection failures read as the outbound guard words them (one message for refused, timed out
and closed); an SMTP server's own code and message are shown, an unknown answer never."""

from __future__ import annotations

import smtplib
import socket
import ssl

from survey.outbound import connect_failed


def explain(exc: BaseException, where: str) -> str:
    """`where` names the other end, e.g. "SMTP 服务器 smtp.zj.gov.cn:465"."""
    if isinstance(exc, RuntimeError):  # ours (the outbound guard's too), already in Chinese
        return str(exc)
    if isinstance(exc, socket.gaierror):
        return f"找不到{where}：域名无法解析"
    if isinstance(exc, ssl.SSLError):
        return f"与{where}建立加密连接失败，请检查加密方式和端口"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{where}拒绝登录：用户名或密码错误（{_said(exc)}）"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"{where}拒收这个收件地址"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"{where}不支持所选的加密方式或登录（{exc}）"
    if isinstance(exc, smtplib.SMTPResponseException) and 200 <= exc.smtp_code < 600:
        return f"{where}答复 {_said(exc)}"
    if isinstance(exc, smtplib.SMTPException | OSError):
        return connect_failed(where)
    return f"{where}出错（{type(exc).__name__}）"


def _said(exc: smtplib.SMTPResponseException) -> str:
    """An SMTP server's code and its one-line message."""
    message = exc.smtp_error
    if isinstance(message, bytes):
        message = message.decode("utf-8", errors="replace")
    return f"{exc.smtp_code} {' '.join(str(message).split())[:200]}"
