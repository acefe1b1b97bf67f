"""Signing in to a served console in Chromium, and checking a page with axe-core."""

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from fixtures.served import Served

AXE = (Path(__file__).parent.parent / "vendor" / "axe-core" / "axe.min.js").read_text()
ADMIN = "administrator@casegate"


def admin_password(served: Served) -> str:
    return str(served.demo["administrator"]["password"])


def sign_in(page: Page, served: Served) -> None:
    page.goto(served.url + "/admin/")
    page.get_by_label("Operator ID").fill(ADMIN)
    page.get_by_label("Password").fill(admin_password(served))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now. Evaluated through
    the DevTools protocol: the page's own CSP (no scripts at all) is left as it is."""
    page.evaluate(AXE + "\n;undefined")
    results = page.evaluate("async () => { const r = await axe.run(document); return {"
                            "passes: r.passes.length, violations: r.violations.map("
                            "v => ({id: v.id, impact: v.impact, nodes: v.nodes.map("
                            "n => n.target.join(' '))}))}; }")
    assert results["passes"] > 10  # axe did check the page
    return [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
