"""A channel's failure in Chinese, for the test buttons and 通知记录: what went wrong and where,
with the original error kept in brackets for whoever debugs it."""

from __future__ import annotations

import smtplib
import socket
import ssl
import urllib.error


def explain(exc: BaseException, where: str) -> str:
    """`where` names the other end, e.g. "SMTP 服务器 smtp.zj.gov.cn:465"."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"{where}答复 HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        return explain(exc.reason, where)
    if isinstance(exc, RuntimeError):  # ours, already in Chinese
        return str(exc)
    original = f"（{type(exc).__name__}: {exc}）"
    if isinstance(exc, socket.gaierror):
        return f"找不到{where}：域名无法解析{original}"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where}拒绝连接：端口未开放或服务未运行{original}"
    if isinstance(exc, TimeoutError):
        return f"连接{where}超时{original}"
    if isinstance(exc, ssl.SSLError):
        return f"与{where}建立加密连接失败，请检查加密方式和端口{original}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{where}拒绝登录：用户名或密码错误{original}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"{where}拒收这个收件地址{original}"
    if isinstance(exc, smtplib.SMTPException | OSError):
        return f"与{where}通信失败{original}"
    return f"{type(exc).__name__}: {exc}"
