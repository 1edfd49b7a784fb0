"""The dialer's HTTP operator API (`/api/operator/...`) as an `OperatorDesk`.

Standalone operator phones (`dialer sim operators --api URL --campaign NAME`)
use it so their people log in, go ready, pause, wrap calls up and log out
through the same API the operators' web page uses. Each simulated operator is
a web user of the same name (role operator) with the given password.
"""

from __future__ import annotations

from typing import Any


class DeskRefused(Exception):
    """The API refused an operator action; the message has the path, status and error."""


class HttpDesk:
    def __init__(self, base_url: str, campaign: str, password: str, *, timeout: float = 10.0):
        import httpx  # only the standalone CLI needs it

        self.campaign = campaign
        self.password = password
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)
        self._tokens: dict[str, str] = {}

    async def _post(self, operator: str, path: str, body: dict | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self._tokens.get(operator, '')}"}
        response = await self._client.post(path, json=body or {}, headers=headers)
        if response.status_code >= 400:
            try:
                error = response.json().get("error", response.text)
            except ValueError:
                error = response.text
            raise DeskRefused(f"{operator}: POST {path}: {response.status_code} {error}")
        return response.json()

    async def login(self, operator: str) -> Any:
        response = await self._client.post("/api/login", json={"name": operator, "password": self.password})
        if response.status_code != 200:
            raise DeskRefused(f"{operator}: POST /api/login: {response.status_code} {response.text}")
        self._tokens[operator] = response.json()["token"]
        self._client.cookies.clear()  # one client, many users: authenticate with the header only
        return await self._post(operator, "/api/operator/login", {"campaign": self.campaign})

    async def ready(self, operator: str) -> Any:
        return await self._post(operator, "/api/operator/ready")

    async def pause(self, operator: str, reason: str = "break") -> Any:
        return await self._post(operator, "/api/operator/pause", {"reason": reason})

    async def wrap(self, operator: str, code: str, notes: str | None = None) -> Any:
        body = {"code": code}
        if notes:
            body["notes"] = notes
        return await self._post(operator, "/api/operator/wrap", body)

    async def logout(self, operator: str) -> Any:
        return await self._post(operator, "/api/operator/logout")

    async def aclose(self) -> None:
        await self._client.aclose()
