"""What every HTML page the app serves shares: its Content-Security-Policy.

The pages (GraphiQL, the SPARQL editor, the landing page) load nothing from anywhere but this
origin, and no inline script; an inline `<style>` is allowed only by the hash of its exact text.

>>> content_security_policy(app=False, inline_styles=["p{}"]).split("; ")[:2]
["default-src 'none'", "style-src 'sha256-gG2yISYereRMiG2lMXrbiUgi0Ubw9p7QCeWcroOvy9Y='"]
>>> "script-src 'self'" in content_security_policy(app=True)
True
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

__all__ = ["content_security_policy", "style_hash"]


def style_hash(text: str) -> str:
    """The CSP source that admits one inline `<style>` with exactly this text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(
    *, app: bool, inline_styles: Sequence[str] = (), forms: bool = False
) -> str:
    """A page's policy: `app` pages (an in-browser IDE) run scripts, load styles and fonts, and
    send requests to this origin only; other pages run nothing at all. Images may be this
    origin's or data: URIs; the page cannot be framed or change its base. It submits no forms,
    unless `forms`: then only to this origin (the web pages' GET filter forms).

    >>> "form-action 'self'" in content_security_policy(app=False, forms=True)
    True
    """
    styles = " ".join(["'self'" if app else "", *map(style_hash, inline_styles)]).strip()
    directives = ["default-src 'none'"]
    if app:
        directives += ["script-src 'self'"]
    if styles:
        directives += [f"style-src {styles}"]
    if app:
        directives += ["connect-src 'self'", "font-src 'self' data:"]
    form_action = "'self'" if forms else "'none'"
    directives += ["img-src 'self' data:", "base-uri 'none'", f"form-action {form_action}"]
    directives += ["frame-ancestors 'none'"]
    return "; ".join(directives)
