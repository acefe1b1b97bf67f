"""Driving the console over HTTP as a browser does: the CSRF token read from a page's form,
posted back with the fields a person fills in."""

import re
from html import unescape

import httpx
from fastapi.testclient import TestClient

ADMIN = "administrator@casegate"
ADMIN_GROUP = "casegate:Administrators"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "console password 1"  # noqa: S105 (a test administrator's password)


class Browser:
    def __init__(self, http: TestClient) -> None:
        self.http = http
        http.follow_redirects = False  # each answer seen as the browser first gets it

    def csrf(self, path: str = "/admin/signin") -> str:
        page = self.http.get(path, follow_redirects=True)
        found = CSRF.search(page.text)
        assert found, page.text
        return found.group(1)

    def sign_in(self, operator: str = ADMIN, password: str = PASSWORD,
                next_page: str = "/admin/") -> httpx.Response:
        return self.http.post("/admin/signin", data={
            "csrf": self.csrf(), "username": operator, "password": password,
            "next": next_page})

    def post(self, path: str, data: dict[str, str] | None = None,
             form_page: str = "/admin/") -> httpx.Response:
        return self.http.post(path, data={"csrf": self.csrf(form_page), **(data or {})})


    def upload(self, path: str, data: dict[str, str], files: dict[str, tuple[str, bytes]],
               form_page: str = "/admin/") -> httpx.Response:
        """A form with file fields, posted as multipart/form-data as a browser posts it."""
        return self.http.post(path, data={"csrf": self.csrf(form_page), **data},
                              files={name: (filename, content, "application/octet-stream")
                                     for name, (filename, content) in files.items()})


def error_of(html: str, field: str) -> str:
    """The message shown next to a form field."""
    found = re.search(rf'<p class="error" id="e-{re.escape(field)}">([^<]*)</p>', html)
    assert found, f"no error next to {field}"
    return unescape(found.group(1))


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{re.escape(element_id)}"[^>]*>([^<]*)<', html)
    assert found, f"no element {element_id}"
    return unescape(found.group(1)).strip()
