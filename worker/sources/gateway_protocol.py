"""The gateway's WebSocket protocol, as far as the worker speaks it: frames, handshake, methods, errors.

From the docs in the OpenClaw package (`docs/gateway/protocol.md`, `docs/gateway/protocol/*.md`,
`docs/gateway/clients.md`) and ClawdBot's (`docs/gateway/protocol.md`, `dist/gateway/protocol/schema`):
- JSON text frames. Request `{type:"req", id, method, params}` → response `{type:"res", id, ok,
  payload|error}` with `error = {code, message, details?, retryable?, retryAfterMs?}`; events
  `{type:"event", event, payload, seq?}`.
- The gateway opens with the event `connect.challenge` `{nonce, ts}`; the first request must be `connect`
  with `minProtocol`/`maxProtocol` (ClawdBot 2026.1 speaks 3, OpenClaw 2026.9 speaks 4 and requires it in
  the range: we offer 3-4 and the answer's `protocol` says which), `client`, `role`, `scopes`, `auth` and a
  `device` identity signed over the challenge (see `device_auth_payload`). The answer is `hello-ok` with the
  negotiated protocol, `features.methods` / `features.events` and `policy.tickIntervalMs`.
- Client identity: `gateway-client` in mode `backend`, the reference client's defaults, and the only id and
  mode both gateways accept for a third-party automation client.
- Role `operator` with the narrowest scopes that list, run and read runs: `cron.list`, `cron.runs` need
  `operator.read`; `cron.run` needs `operator.admin` in both gateways (OpenClaw's method-scope table,
  ClawdBot's `server-methods`). No `operator.write`, `operator.pairing`, `operator.approvals`. Both
  gateways let `operator.admin` pass every method check, so no narrower set can run a job.

Every method is declared once as a `Method[Params, Result]`, so `GatewayClient.call(CRON_RUN, {...})` is
type-checked; methods for later work (edit, enable, add, remove, cancel) are declared with their params as
the schemas define them, see docs/worker-sources.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, NotRequired, TypedDict, TypeVar

PROTOCOL_MIN = 3
PROTOCOL_MAX = 4
CLIENT_ID = "gateway-client"
CLIENT_MODE = "backend"
ROLE = "operator"
READ_SCOPE = "operator.read"
ADMIN_SCOPE = "operator.admin"
SCOPES = (READ_SCOPE, ADMIN_SCOPE)
#: Largest frame we accept from the gateway: a listing of thousands of jobs with long prompts.
MAX_FRAME_BYTES = 32 * 1024 * 1024


class GatewayRpcError(Exception):
    """The gateway answered a request with `ok: false`."""

    def __init__(self, method: str, error: object) -> None:
        shape = error if isinstance(error, dict) else {"message": str(error)}
        self.method = method
        self.code = str(shape.get("code") or "")
        self.message = str(shape.get("message") or "no message")
        details = shape.get("details")
        self.details: dict[str, Any] = details if isinstance(details, dict) else {}
        self.retryable = shape.get("retryable") is True
        retry_after = shape.get("retryAfterMs")
        self.retry_after_ms = retry_after if isinstance(retry_after, int) else None
        super().__init__(f"{method}: {self.message}")

    @property
    def detail_code(self) -> str:
        """The structured reason (`MISSING_SCOPE`, `CRON_JOB_NOT_FOUND`, `PAIRING_REQUIRED`...), if given."""
        return str(self.details.get("code") or "")

    @property
    def unknown_job(self) -> bool:
        text = self.message.lower()
        return (
            self.detail_code == "CRON_JOB_NOT_FOUND"
            or "unknown cron job id" in text
            or "automation not found" in text
        )

    @property
    def missing_scope(self) -> bool:
        return self.detail_code == "MISSING_SCOPE" or self.message.startswith("missing scope")


class GatewayRpcTimeout(Exception):
    """No answer to a request within its deadline (the gateway may still be working on it)."""


class GatewayDisconnected(Exception):
    """The connection closed before the answer came."""


def device_auth_payload(
    *, device_id: str, scopes: tuple[str, ...], signed_at_ms: int, token: str | None, nonce: str
) -> str:
    """The `v2` device-auth payload both gateways verify (`buildDeviceAuthPayload`): the device, client,
    role, scopes and shared token, bound to the challenge's `ts` and `nonce`. Signed with Ed25519."""
    fields = ["v2", device_id, CLIENT_ID, CLIENT_MODE, ROLE, ",".join(scopes), str(signed_at_ms)]
    return "|".join([*fields, token or "", nonce])


# -- methods --------------------------------------------------------------------------------------------

P = TypeVar("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Method(Generic[P, R]):
    """One RPC method: its wire name, the scope it needs, and which gateways offer it."""

    name: str
    scope: str
    #: e.g. {"clawdbot": "2026.1.24", "openclaw": "2026.9.6"}: the versions checked against the real thing.
    offered_by: dict[str, str] = field(default_factory=dict)


BOTH = {"clawdbot": "2026.1.24", "openclaw": "2026.9.6"}
OPENCLAW_ONLY = {"openclaw": "2026.9.6"}

RunMode = Literal["due", "force", "if-enabled"]


class CronListParams(TypedDict, total=False):
    includeDisabled: bool
    #: OpenClaw only (1-200, with `offset`); ClawdBot's schema rejects both.
    limit: int
    offset: int


class CronListResult(TypedDict, total=False):
    jobs: list[dict[str, Any]]
    #: OpenClaw's paging: present when the gateway pages.
    total: int
    hasMore: bool
    nextOffset: int | None


class CronRunParams(TypedDict):
    id: str
    #: "force" runs it now whatever its schedule; ClawdBot's default is "due". "if-enabled": OpenClaw only.
    mode: NotRequired[RunMode]


class CronRunResult(TypedDict, total=False):
    ok: bool
    #: ClawdBot: the run finished before the answer (`ran: true`) or did not happen (`ran: false, reason`).
    ran: bool
    reason: str
    #: OpenClaw: queued; follow it with the `cron` finished event or `cron.runs {runId}`.
    enqueued: bool
    runId: str


class CronRunsParams(TypedDict):
    id: str
    limit: NotRequired[int]
    #: OpenClaw only: one run, newest first, paged.
    runId: NotRequired[str]
    offset: NotRequired[int]
    sortDir: NotRequired[Literal["asc", "desc"]]


class CronRunsResult(TypedDict, total=False):
    entries: list[dict[str, Any]]
    total: int
    hasMore: bool
    nextOffset: int | None


class CronUpdateParams(TypedDict):
    id: str
    #: name, description, enabled, schedule, sessionTarget, wakeMode, payload, ... (the job's own fields).
    patch: dict[str, Any]
    #: OpenClaw only: reject the patch when the job changed since this `configRevision`.
    expectedConfigRevision: NotRequired[str]


class CronRemoveParams(TypedDict):
    id: str


class CronRemoveResult(TypedDict, total=False):
    ok: bool
    removed: bool


class TasksCancelParams(TypedDict):
    """OpenClaw's task ledger: a running cron run is a task (`task` events, `tasks.list`)."""

    taskId: str
    reason: NotRequired[str]


CRON_LIST: Method[CronListParams, CronListResult] = Method("cron.list", READ_SCOPE, BOTH)
CRON_STATUS: Method[dict[str, Any], dict[str, Any]] = Method("cron.status", READ_SCOPE, BOTH)
CRON_RUNS: Method[CronRunsParams, CronRunsResult] = Method("cron.runs", READ_SCOPE, BOTH)
CRON_RUN: Method[CronRunParams, CronRunResult] = Method("cron.run", ADMIN_SCOPE, BOTH)
CRON_ADD: Method[dict[str, Any], dict[str, Any]] = Method("cron.add", ADMIN_SCOPE, BOTH)
CRON_UPDATE: Method[CronUpdateParams, dict[str, Any]] = Method("cron.update", ADMIN_SCOPE, BOTH)
CRON_REMOVE: Method[CronRemoveParams, CronRemoveResult] = Method("cron.remove", ADMIN_SCOPE, BOTH)
TASKS_CANCEL: Method[TasksCancelParams, dict[str, Any]] = Method(
    "tasks.cancel", "operator.write", OPENCLAW_ONLY
)
#: What the worker needs a gateway to offer before it uses the native client.
REQUIRED_METHODS = (CRON_LIST.name, CRON_RUN.name, CRON_RUNS.name)
