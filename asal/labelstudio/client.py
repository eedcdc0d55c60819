"""The dozen calls of Label Studio's REST API that push and pull need, on `requests` alone.

Why not label-studio-sdk: it would pin its own pydantic and httpx into asal's environment
for a dozen plain HTTP calls. The calls and their quirks were checked against Label Studio
1.23.2 (docs/label-studio.md):

- A token is either a legacy token (`Authorization: Token <t>`) or a personal access token,
  a JWT that is exchanged for a five-minute access token at /api/token/refresh (renewed
  here when it expires).
- PATCHing a project with show_collab_predictions=false also clears its model_version, so
  `update_project` sends the version along; a model_version is accepted only once a
  prediction of it exists.
- The browser's labeling stream follows the data manager's tab order, not the project's
  sampling: `ensure_least_sure_view` orders the tabs by prediction score.

Every failure is an AsalError of one sentence: no server at the URL, a refused token, or
what the server answered.
"""

from __future__ import annotations

import json
import os

import requests

from asal.errors import AsalError

UNCERTAINTY = "Uncertainty sampling"
LEAST_SURE_FIRST = ["tasks:predictions_score"]   # ascending: the lowest confidence first
NO_FILTERS = {"conjunction": "and", "items": []}


class LabelStudioRefused(AsalError):
    """The server answered a request with an error status (kept in `status`, `detail`)."""

    def __init__(self, sentence: str, status: int, detail: str):
        super().__init__(sentence)
        self.status, self.detail = status, detail


def _detail(response: requests.Response) -> str:
    """The server's own words for an error: its `detail`, and its first validation error."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason
    if not isinstance(body, dict):
        return str(body)[:200]
    detail = str(body.get("detail") or response.reason).rstrip(".")
    errors = body.get("validation_errors")
    if isinstance(errors, dict) and errors:
        field, said = next(iter(errors.items()))
        detail += f": {field}: {said[0] if isinstance(said, list) and said else said}"
    return detail


def _short(err: requests.RequestException) -> str:
    """Why a connection failed, in a few words."""
    text = str(err)
    if isinstance(err, requests.Timeout):
        return "no answer in time"
    for words in ("Connection refused", "Name or service not known", "No route to host",
                  "Network is unreachable", "Temporary failure in name resolution"):
        if words in text:
            return words.lower()
    return type(err).__name__


class LabelStudio:
    """One server, one user: the user whose token is in the environment variable
    `token_env` (named in the sentences that refuse it)."""

    def __init__(self, url: str, token: str, *, token_env: str = "LABEL_STUDIO_TOKEN",
                 timeout: float = 60):
        self.url, self.token, self.token_env = url.rstrip("/"), token.strip(), token_env
        self.timeout = timeout
        self.session = requests.Session()
        self.personal = self.token.count(".") == 2      # a JWT: a personal access token
        if not self.personal:
            self.session.headers["Authorization"] = f"Token {self.token}"

    # ------------------------------------------------------------------ transport
    def refused_token(self, status: int, detail: str) -> AsalError:
        return AsalError(f"Label Studio at {self.url} refused the token in ${self.token_env} "
                         f"({status} {detail}); copy the token from Account & Settings into "
                         "it.")

    def _send(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", self.timeout)
        try:
            return self.session.request(method, self.url + path, **kw)
        except requests.RequestException as err:
            raise AsalError(f"No Label Studio answers at {self.url} ({_short(err)}); start "
                            "it (docs/label-studio.md) or pass --url.") from None

    def _access(self) -> None:
        """Exchange the personal access token for an access token."""
        r = self._send("POST", "/api/token/refresh", json={"refresh": self.token})
        try:
            access = r.json().get("access") if r.status_code == 200 else None
        except (ValueError, AttributeError):
            access = None
        if not access:
            raise self.refused_token(r.status_code, _detail(r))
        self.session.headers["Authorization"] = f"Bearer {access}"

    def request(self, method: str, path: str, *, missing_ok: bool = False, **kw):
        """The answer's JSON (or bytes for a file); None for a 404 when `missing_ok`."""
        if self.personal and "Authorization" not in self.session.headers:
            self._access()
        r = self._send(method, path, **kw)
        if r.status_code == 401 and self.personal:      # the access token expired
            self._access()
            r = self._send(method, path, **kw)
        if r.status_code == 404 and missing_ok:
            return None
        if r.status_code == 401:
            raise self.refused_token(401, _detail(r))
        if r.status_code >= 400:
            detail = _detail(r)
            raise LabelStudioRefused(f"Label Studio at {self.url} refused {method} {path} "
                                     f"({r.status_code} {detail}); see its log for why.",
                                     r.status_code, detail)
        if not r.content:
            return None
        if "json" in r.headers.get("Content-Type", ""):
            return r.json()
        return r.content

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, body=None, **kw):
        return self.request("POST", path, json=body, **kw)

    def patch(self, path: str, body=None, **kw):
        return self.request("PATCH", path, json=body, **kw)

    def delete(self, path: str, body=None, **kw):
        return self.request("DELETE", path, json=body, **kw)

    def check(self) -> dict:
        """The token's user; refuses a URL where something other than Label Studio answers."""
        who = self.get("/api/current-user/whoami", missing_ok=True)
        if not isinstance(who, dict) or "email" not in who:
            raise AsalError(f"{self.url} answers, but not as Label Studio does (no user at "
                            "/api/current-user/whoami); pass the URL of Label Studio itself, "
                            "such as http://localhost:8080.")
        return who

    # ------------------------------------------------------------------- projects
    def find_project(self, title: str) -> dict | None:
        """The project of exactly this title (the API's filter matches parts of titles)."""
        page = 1
        while True:
            found = self.get("/api/projects/", params={"title": title, "page": page,
                                                       "page_size": 100}, missing_ok=True)
            for project in (found or {}).get("results", []):
                if project["title"] == title:
                    return project
            if not found or not found.get("next"):
                return None
            page += 1

    def create_project(self, title: str, label_config: str, *, description: str = "") -> dict:
        """A project that serves the least sure task first and shows no model guess."""
        return self.post("/api/projects/", {
            "title": title, "label_config": label_config, "description": description,
            "sampling": UNCERTAINTY, "show_collab_predictions": False})

    def update_project(self, project: int, **fields) -> dict:
        """PATCH a project; show_collab_predictions=false goes with the model_version, or
        the server clears the version (and the least-sure order with it)."""
        if fields.get("show_collab_predictions") is False and "model_version" not in fields:
            version = self.get(f"/api/projects/{project}/").get("model_version")
            if version:
                fields["model_version"] = version
        return self.patch(f"/api/projects/{project}/", fields)

    def ensure_least_sure_view(self, project: int) -> None:
        """Order every data-manager tab of this user by prediction score (or make one):
        the browser asks the tab for its next task, not the project's sampling."""
        views = self.get("/api/dm/views/", params={"project": project}) or []
        for view in views:
            if view["data"].get("ordering") != LEAST_SURE_FIRST:
                self.patch(f"/api/dm/views/{view['id']}/", {
                    "project": project, "data": {**view["data"], "ordering": LEAST_SURE_FIRST}})
        if not views:
            self.post("/api/dm/views/", {"project": project, "data": {
                "title": "Least sure first", "ordering": LEAST_SURE_FIRST,
                "filters": NO_FILTERS}})

    def ensure_local_storage(self, project: int, folder: str, *, title: str) -> dict:
        """A local-files storage on `folder`, without which the server serves none of its
        files (no sync: tasks name the files themselves)."""
        folder = os.path.abspath(folder)
        for storage in self.get("/api/storages/localfiles", params={"project": project}):
            if storage["path"].rstrip("/") == folder:
                return storage
        return self.post("/api/storages/localfiles", {
            "project": project, "path": folder, "use_blob_urls": False, "title": title})

    # ---------------------------------------------------------- tasks, predictions
    def tasks(self, project: int, page_size: int = 500) -> list[dict]:
        """Every task of a project, with its predictions and annotation counts."""
        found, page = [], 1
        while True:
            got = self.get("/api/tasks", params={"project": project, "page": page,
                                                 "page_size": page_size, "fields": "all"},
                           missing_ok=True)          # 404 past the last page
            batch = (got or {}).get("tasks", []) if isinstance(got, dict) else got or []
            found += batch
            if len(batch) < page_size:
                return found
            page += 1

    def import_tasks(self, project: int, tasks: list[dict]) -> list[int]:
        """The new tasks' ids, in order (the server does not de-duplicate)."""
        if not tasks:
            return []
        done = self.post(f"/api/projects/{project}/import", tasks,
                         params={"return_task_ids": "true"})
        return done.get("task_ids", [])

    def update_task_data(self, task: int, data: dict) -> None:
        self.patch(f"/api/tasks/{task}/", {"data": data})

    def delete_task(self, task: int) -> None:
        self.delete(f"/api/tasks/{task}/")

    def add_predictions(self, project: int, predictions: list[dict]) -> int:
        """Predictions {task, result, score, model_version}, in one request."""
        if not predictions:
            return 0
        return self.post(f"/api/projects/{project}/import/predictions", predictions)["created"]

    def model_versions(self, project: int) -> dict[str, int]:
        """Predictions per model_version."""
        return self.get(f"/api/projects/{project}/model-versions/") or {}

    def drop_model_version(self, project: int, version: str) -> None:
        self.delete(f"/api/projects/{project}/model-versions/", {"model_version": version})

    def export(self, project: int) -> list[dict]:
        """Every annotated task with all its annotations, skips included (the JSON export;
        JSON_MIN leaves skipped tasks out)."""
        got = self.get(f"/api/projects/{project}/export", params={"exportType": "JSON"})
        return json.loads(got) if isinstance(got, bytes) else got

    def file(self, url: str) -> bytes:
        """A file the server serves, by the URL a task names (/data/local-files/?d=...)."""
        got = self.get(url)
        return got if isinstance(got, bytes) else json.dumps(got).encode()
