#!/usr/bin/env python3
"""A fake `clawdbot` / `openclaw` CLI: the documented `cron` outputs and exit codes, with state on disk.

Reproduces (see ../shared/docs/clawdbot-cron.md §4):
- clawdbot-2026.1.24: `cron run <id> [--force]`, due-only by default
  (`{"ok":true,"ran":false,"reason":"not-due"}`, exit 0), blocks until the job finished or `--timeout`
  (default 10000 ms) passed (`gateway timeout after <ms>ms`, exit 1 — the job still finishes, recorded).
- openclaw-2026.2.6: force by default, `--due` instead of `--force`; `--force` fails as commander fails it
  (`error: unknown option '--force'`, exit 1). `cron list` answers the paginated RPC shape.
- openclaw-enqueue (~2026.3): `cron run` answers at once `{"ok":true,"enqueued":true,"runId":"manual:..."}`.
Jobs run in a detached "gateway" process (this script with `__finish`), so they complete and are logged to
`<state>/cron/runs/<id>.jsonl` whatever happens to the CLI process, as with the real gateway.

Configuration: the JSON file named by $FAKE_GATEWAY_CONFIG (see tests/fakes/gateway.py), read on every call.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

DOWN_MESSAGE = "gateway connect failed: Error: connect ECONNREFUSED 127.0.0.1:18789"

VARIANTS: dict[str, dict[str, Any]] = {
    "clawdbot-2026.1.24": {"bin": "clawdbot", "version": "2026.1.24", "run_flag": "--force", "paged": False},
    "openclaw-2026.2.6": {"bin": "openclaw", "version": "2026.2.6", "run_flag": "--due", "paged": True},
    "openclaw-enqueue": {
        "bin": "openclaw",
        "version": "2026.3.8",
        "run_flag": "--due",
        "paged": True,
        "enqueue": True,
    },
}

RUN_HELP = """Usage: {bin} cron run [options] <id>

Run a cron job now (debug)

Options:
{flag}
  --url <url>         Gateway WebSocket URL (defaults to gateway.remote.url when configured)
  --token <token>     Gateway token (if required)
  --timeout <ms>      Timeout in ms (default: "10000")
  --expect-final      Wait for final response (agent) (default: false)
  -h, --help          display help for command
"""
FLAG_HELP = {
    "--force": "  --force             Run even if not due (default: false)",
    "--due": "  --due               Run only when due (default behavior in older versions) (default: false)",
}
LIST_HELP = """Usage: {bin} cron list [options]

List cron jobs

Options:
  --all               Include disabled jobs (default: false)
  --json              Output JSON (default: false)
{paging}  --url <url>         Gateway WebSocket URL
  --token <token>     Gateway token (if required)
  --timeout <ms>      Timeout in ms (default: "10000")
  -h, --help          display help for command
"""


def now_ms() -> int:
    return int(time.time() * 1000)


class Fake:
    def __init__(self) -> None:
        self.config_path = Path(os.environ["FAKE_GATEWAY_CONFIG"])
        self.cfg: dict[str, Any] = json.loads(self.config_path.read_text())
        self.variant = VARIANTS[self.cfg["variant"]]
        self.state = Path(self.cfg["state_dir"])
        self.store = self.state / "cron" / "jobs.json"

    # -- state (the gateway's own files) --
    @contextlib.contextmanager
    def locked(self) -> Any:
        self.store.parent.mkdir(parents=True, exist_ok=True)
        with open(self.store.parent / ".fake-lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def load(self) -> list[dict[str, Any]]:
        try:
            return json.loads(self.store.read_text()).get("jobs", [])
        except FileNotFoundError:
            return []

    def save(self, jobs: list[dict[str, Any]]) -> None:
        tmp = self.store.with_name(f"jobs.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"version": 1, "jobs": jobs}, indent=2))
        os.replace(tmp, self.store)

    def runs(self, job_id: str) -> list[dict[str, Any]]:
        path = self.state / "cron" / "runs" / f"{job_id}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    # -- output --
    def emit(self, payload: Any) -> None:
        if self.cfg.get("noise"):
            sys.stdout.write(self.cfg["noise"])
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")

    def fail(self, message: str, code: int = 1) -> NoReturn:
        sys.stderr.write(message + "\n")
        sys.exit(code)

    # -- commands --
    def main(self, argv: list[str]) -> None:
        self.log_call(argv)
        if argv == ["--version"]:
            print(self.cfg.get("version") or self.variant["version"])
            return
        if len(argv) < 2 or argv[0] != "cron":
            self.fail(f"error: unknown command '{argv[0] if argv else ''}'")
        sub, rest = argv[1], argv[2:]
        if "--help" in rest or "-h" in rest:
            self.help(sub)
            return
        spec = self.options(sub)
        opts, args = self.parse(rest, spec)
        if self.cfg.get("down"):
            self.fail(DOWN_MESSAGE)
        getattr(self, f"cmd_{sub}")(opts, args)

    def log_call(self, argv: list[str]) -> None:
        if self.cfg.get("log"):
            with open(self.cfg["log"], "a") as handle:
                handle.write(json.dumps(argv) + "\n")

    def options(self, sub: str) -> dict[str, bool]:
        common = {"--url": True, "--token": True, "--timeout": True, "--expect-final": False}
        per_sub: dict[str, dict[str, bool]] = {
            "list": {"--all": False, "--json": False},
            "run": {self.variant["run_flag"]: False},
            "runs": {"--id": True, "--limit": True},
            "status": {"--json": False},
        }
        if sub not in per_sub:
            self.fail(f"error: unknown command '{sub}'")
        if sub == "list" and self.cfg.get("list_paging_flags"):
            per_sub["list"].update({"--limit": True, "--offset": True})
        return {**common, **per_sub[sub]}

    def parse(self, rest: list[str], spec: dict[str, bool]) -> tuple[dict[str, Any], list[str]]:
        opts: dict[str, Any] = {}
        args: list[str] = []
        i = 0
        while i < len(rest):
            token = rest[i]
            if token == "--":
                args += rest[i + 1 :]
                break
            if token.startswith("-") and len(token) > 1:
                if token not in spec:
                    self.fail(f"error: unknown option '{token}'")
                if spec[token]:
                    if i + 1 >= len(rest):
                        self.fail(f"error: option '{token} <value>' argument missing")
                    opts[token] = rest[i + 1]
                    i += 2
                    continue
                opts[token] = True
            else:
                args.append(token)
            i += 1
        return opts, args

    def help(self, sub: str) -> None:
        if sub == "run":
            flag = "" if self.cfg.get("help_without_flags") else FLAG_HELP[self.variant["run_flag"]]
            print(RUN_HELP.format(bin=self.variant["bin"], flag=flag))
        elif sub == "list":
            paging = ""
            if self.cfg.get("list_paging_flags"):
                paging = (
                    "  --limit <n>         Page size (max 200)\n  --offset <n>        Skip the first n jobs\n"
                )
            print(LIST_HELP.format(bin=self.variant["bin"], paging=paging))
        else:
            print(f"Usage: {self.variant['bin']} cron {sub} [options]")

    def cmd_status(self, opts: dict[str, Any], args: list[str]) -> None:
        self.emit({"enabled": True, "storePath": str(self.store), "jobs": len(self.load())})

    def cmd_list(self, opts: dict[str, Any], args: list[str]) -> None:
        if self.cfg.get("garbage_list"):
            print("[plugins] loaded 2 plugins\nthis is {not json at all")
            return
        jobs = [j for j in self.load() if opts.get("--all") or j.get("enabled", True)]
        jobs.sort(key=lambda j: j.get("state", {}).get("nextRunAtMs") or 0)
        if not opts.get("--json"):
            for job in jobs:
                print(f"{job['id']:<38} {job['name']:<20}")
            return
        if not self.variant["paged"]:
            self.emit({"jobs": jobs})
            return
        offset = int(opts.get("--offset", 0))
        limit = int(opts.get("--limit", self.cfg.get("page_size") or max(len(jobs), 1)))
        page = jobs[offset : offset + limit]
        more = offset + len(page) < len(jobs)
        self.emit(
            {
                "jobs": page,
                "total": len(jobs),
                "offset": offset,
                "limit": limit,
                "hasMore": more,
                "nextOffset": offset + len(page) if more else None,
            }
        )

    def cmd_runs(self, opts: dict[str, Any], args: list[str]) -> None:
        limit = int(opts.get("--limit", 50))
        self.emit({"entries": self.runs(opts.get("--id", ""))[-limit:]})

    def cmd_run(self, opts: dict[str, Any], args: list[str]) -> None:
        if not args:
            self.fail("error: missing required argument 'id'")
        job_id = args[0]
        timeout_ms = int(opts.get("--timeout", 10000))
        if job_id in self.cfg.get("cli_fail", {}):
            self.fail(f"Error: {self.cfg['cli_fail'][job_id]}")
        force = bool(opts.get("--force")) if self.variant["run_flag"] == "--force" else not opts.get("--due")
        with self.locked():
            jobs = self.load()
            job = next((j for j in jobs if j.get("id") == job_id), None)
            if job is None:
                self.fail(f"Error: unknown cron job id: {job_id}")
            state = job.setdefault("state", {})
            if state.get("runningAtMs"):
                self.emit({"ok": True, "ran": False, "reason": "already-running"})
                return
            due = job.get("enabled", True) and (state.get("nextRunAtMs") or 0) <= now_ms()
            if not force and not due:
                self.emit({"ok": True, "ran": False, "reason": "not-due"})
                return
            run_at = now_ms()
            state["runningAtMs"] = run_at
            self.save(jobs)
        run_id = f"manual:{job_id}:{run_at}"
        self.start_gateway_run(job_id, run_at, run_id)
        if self.variant.get("enqueue"):
            self.emit({"ok": True, "enqueued": True, "runId": run_id})
            return
        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            if any(e.get("runAtMs") == run_at for e in self.runs(job_id)):
                self.emit({"ok": True, "ran": True})
                return
            time.sleep(0.01)
        self.fail(f"Error: gateway timeout after {timeout_ms}ms")

    def start_gateway_run(self, job_id: str, run_at: int, run_id: str) -> None:
        subprocess.Popen(
            [sys.executable, __file__, "__finish", job_id, str(run_at), run_id],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def finish(self, job_id: str, run_at: int, run_id: str) -> None:
        """The gateway's side: the job runs for `slow_ms`, then is recorded in the run log and the state."""
        time.sleep(self.cfg.get("slow_ms", {}).get(job_id, 0) / 1000)
        failure = self.cfg.get("job_fail", {}).get(job_id)
        status = "error" if failure else "ok"
        with self.locked():
            jobs = self.load()
            job = next((j for j in jobs if j.get("id") == job_id), None)
            if job is None:
                return
            duration = now_ms() - run_at
            state = job.setdefault("state", {})
            state.pop("runningAtMs", None)
            state.update({"lastRunAtMs": run_at, "lastStatus": status, "lastDurationMs": duration})
            if self.variant["paged"]:
                state["lastRunStatus"] = status
            every = job.get("schedule", {}).get("everyMs")
            if every:
                state["nextRunAtMs"] = run_at + every
            self.save(jobs)
            entry: dict[str, Any] = {"ts": now_ms(), "jobId": job_id, "action": "finished", "status": status}
            if failure:
                entry["error"] = failure
            else:
                payload = job.get("payload", {})
                entry["summary"] = payload.get("text") or f"did: {payload.get('message', '')}"
            entry.update({"runAtMs": run_at, "durationMs": duration, "nextRunAtMs": state.get("nextRunAtMs")})
            if self.variant.get("enqueue"):
                entry["runId"] = run_id
            runs = self.state / "cron" / "runs"
            runs.mkdir(parents=True, exist_ok=True)
            with open(runs / f"{job_id}.jsonl", "a") as handle:
                handle.write(json.dumps(entry) + "\n")


if __name__ == "__main__":
    fake = Fake()
    if sys.argv[1:2] == ["__finish"]:
        fake.finish(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        fake.main(sys.argv[1:])
