#!/usr/bin/env python3
"""A fake `clawdbot` / `openclaw` CLI that prints what the real ones print, with its state on disk.

Every text it prints comes from the real CLIs' captured output in `gateway_captures/` (see its README.md):
help, version, errors with their trailer lines (`Gateway target…` … `Bind: loopback`), and the JSON shapes.
Variants:
- clawdbot-2026.1.24 (captured from 2026.1.24-3): `cron run <id> [--force]` runs only due jobs without
  `--force` (`{"ok":true,"ran":false,"reason":"not-due"}`, exit 0); with it, blocks until the job finished
  (`{"ok":true,"ran":true}`), or prints `Error: gateway timeout after <ms>ms` + trailer (exit 1) while the
  job goes on. One run at a time: a second run waits for the first, then runs (the gateway's cron lock).
  `--due` is an unknown option. A failed job still exits 0: the failure is only in the run log (oldest
  first). An unknown id is `Error: Error: unknown cron job id: <id>` (exit 1).
- openclaw-2026.9.6: `cron run` runs at once by default and answers `{"ok":true,"enqueued":true,"runId":…}`;
  already running → `{"ok":true,"ran":false,"reason":"already-running"}` **with exit 1**; `--due` when not
  due the same shape; `--force` → `OpenClaw does not recognize option "--force".` (exit 1). Errors go to
  stderr *and* as `{"ok":false,"error":{…}}` to stdout. Run-log entries newest first, with `runId`,
  `completionStatus` and `deliveryStatus`; `cron list` answers the paged shape.
Jobs run in a detached "gateway" process (this script with `__finish`), so they complete and are logged to
`<state>/cron/runs/<id>.jsonl` whatever happens to the CLI process, as with the real gateway.
Changes (both variants, as captured): `cron enable|disable <id>` and `cron edit <id>` with `--name`, `--cron`
(+ `--tz`), `--every`, `--at` (also as `--opt=value`) print the changed job as JSON (indent 2) and exit 0;
an unknown id, a gateway that is down or a minute field over 59 print the captured failure. OpenClaw keeps
the job's zone when `--cron` comes without `--tz`, adds `anchorMs` to an `every` schedule, stores `at` as
ISO text and makes a job turned into an `at` job delete itself after it runs; ClawdBot replaces the whole
schedule (`atMs` for `at`).

Configuration: the JSON file named by $FAKE_GATEWAY_CONFIG (see tests/fakes/gateway.py), read on every call.
Knobs: down, wrong_token, start_failure, help_without_flags, timeout_ms_floor (a `--timeout` below it
times out), slow_ms / job_fail / delivery_fail per job id, page_size (a listing that reports more pages),
noise, garbage_list.
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

CAPTURES = Path(__file__).resolve().with_name("gateway_captures")

VARIANTS: dict[str, dict[str, Any]] = {
    "clawdbot-2026.1.24": {
        "bin": "clawdbot",
        "captures": "clawdbot-2026.1.24-3",
        "run_flag": "--force",
        "enqueue": False,
        "port": 18791,
        "config": "<RG>/home-cb/.clawdbot/clawdbot.json",
    },
    "openclaw-2026.9.6": {
        "bin": "openclaw",
        "captures": "openclaw-2026.9.6",
        "run_flag": "--due",
        "enqueue": True,
        "port": 18792,
        "config": "<RG>/home-oc/.openclaw/openclaw.json",
    },
}
PROCESS_INSTANCE = "7c506a18-4752-46cf-93dd-e91452b4fea3"
UNKNOWN_ID_IN_CAPTURE = "00000000-0000-0000-0000-000000000000"
DELIVERY_ERROR = (
    "Channel is required (no configured channels detected). Run openclaw channels add to configure one, "
    "or pass --channel <channel> after enabling a channel. Use openclaw channels list --all to see available "
    "channel ids. Set delivery.channel explicitly or use a main session with a previous channel."
)


def now_ms() -> int:
    return int(time.time() * 1000)


def duration_ms(text: str) -> int:
    """`--every`: a number and ms|s|m|h|d, as both CLIs' parseDurationMs reads it."""
    units = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    for unit in ("ms", "s", "m", "h", "d"):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return round(float(text[: -len(unit)]) * units[unit])
    sys.exit("Error: Invalid --every")


def parse_at_ms(text: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class Fake:
    def __init__(self) -> None:
        self.config_path = Path(os.environ["FAKE_GATEWAY_CONFIG"])
        self.cfg: dict[str, Any] = json.loads(self.config_path.read_text())
        self.variant = VARIANTS[self.cfg["variant"]]
        self.state = Path(self.cfg["state_dir"])
        self.store = self.state / "cron" / "jobs.json"
        self.openclaw = self.variant["bin"] == "openclaw"

    # -- captured texts --
    def captured(self, name: str, stream: str) -> str:
        """A capture's stdout/stderr with this fake's port, config path and (placeholder) values."""
        text = (CAPTURES / self.variant["captures"] / f"{name}.{stream}").read_text()
        port = str(self.cfg.get("port") or 18789)
        config = str(self.state / f"{self.variant['bin']}.json")
        return text.replace(str(self.variant["port"]), port).replace(self.variant["config"], config)

    def fail_captured(self, name: str, **subs: str) -> NoReturn:
        """Print a captured failure (stdout and stderr) with `subs` replaced, exit with its code."""
        out, err = self.captured(name, "stdout"), self.captured(name, "stderr")
        for old, new in subs.items():
            out = out.replace(old, json.dumps(new)[1:-1])  # stdout is JSON: keep it valid
            err = err.replace(old, new)
        sys.stdout.write(out)
        sys.stderr.write(err)
        sys.exit(int(self.captured(name, "rc").strip() or 1))

    # -- state (the gateway's own files) --
    @contextlib.contextmanager
    def locked(self, name: str = ".fake-lock") -> Any:
        self.store.parent.mkdir(parents=True, exist_ok=True)
        with open(self.store.parent / name, "w") as lock:
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
    def emit(self, payload: Any, code: int = 0) -> None:
        if self.cfg.get("noise"):
            sys.stdout.write(self.cfg["noise"])
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        if code:
            sys.exit(code)

    # -- commands --
    def main(self, argv: list[str]) -> None:
        self.log_call(argv)
        if self.cfg.get("start_failure"):
            sys.stderr.write(self.captured("start-failure", "stderr"))
            sys.exit(1)
        if argv == ["--version"]:
            sys.stdout.write(self.captured("version", "stdout"))
            return
        if len(argv) < 2 or argv[0] != "cron":
            sys.exit(f"error: unknown command '{argv[0] if argv else ''}'")
        sub, rest = argv[1], argv[2:]
        if "--help" in rest or "-h" in rest:
            self.help(sub)
            return
        opts, args = self.parse(sub, rest)
        timeout_ms = int(opts.get("--timeout", 10000 if not self.openclaw else 30000))
        if self.cfg.get("down"):
            if sub in ("enable", "disable", "edit"):
                self.fail_captured("down-disable")
            self.fail_captured("down-run" if self.openclaw and sub == "run" else "down-list")
        if (
            self.cfg.get("wrong_token") and not self.openclaw
        ):  # OpenClaw's CLI was not refused (real-gateway tier)
            self.fail_captured("list-wrong-token")
        if timeout_ms < int(self.cfg.get("timeout_ms_floor", 0)):
            self.fail_captured("list-timeout-1ms", **{"after 1ms": f"after {timeout_ms}ms"})
        getattr(self, f"cmd_{sub}")(opts, args, timeout_ms)

    def log_call(self, argv: list[str]) -> None:
        if self.cfg.get("log"):
            with open(self.cfg["log"], "a") as handle:
                handle.write(json.dumps(argv) + "\n")

    def parse(self, sub: str, rest: list[str]) -> tuple[dict[str, Any], list[str]]:
        spec: dict[str, bool] = {"--url": True, "--token": True, "--timeout": True, "--expect-final": False}
        edit = {"--name": True, "--cron": True, "--tz": True, "--every": True, "--at": True}
        edit.update({"--enable": False, "--disable": False, "--keep-after-run": False})
        spec.update(
            {
                "list": {"--all": False, "--json": False},
                "run": {self.variant["run_flag"]: False},
                "runs": {"--id": True, "--limit": True},
                "status": {"--json": False},
                "edit": edit,
            }.get(sub, {})
        )
        if self.openclaw:
            spec.update({"--json": False, "--port": True, "--password": True})
        opts: dict[str, Any] = {}
        args: list[str] = []
        i = 0
        while i < len(rest):
            token = rest[i]
            if token.startswith("--") and "=" in token:  # commander's `--option=value`
                name, value = token.split("=", 1)
                if not spec.get(name):
                    self.bad_option(sub, name)
                opts[name] = value
                i += 1
                continue
            if token.startswith("-") and len(token) > 1:
                if token not in spec:
                    self.bad_option(sub, token)
                if spec[token]:
                    opts[token] = rest[i + 1]
                    i += 2
                    continue
                opts[token] = True
            else:
                args.append(token)
            i += 1
        return opts, args

    def bad_option(self, sub: str, option: str) -> NoReturn:
        if self.openclaw:
            self.fail_captured("run-force-option", **{'"--force"': f'"{option}"', "cron run": f"cron {sub}"})
        self.fail_captured("run-bad-option", **{"'--due'": f"'{option}'"})

    def help(self, sub: str) -> None:
        if sub in ("enable", "disable", "edit", "rm"):
            sys.stdout.write(self.captured(f"cron-{sub}-help", "stdout"))
        elif sub == "run":
            text = self.captured("cron-run-help", "stdout")
            if self.cfg.get("help_without_flags"):  # an older or newer CLI that names neither flag
                lines = text.splitlines(keepends=True)
                text = "".join(
                    line for i, line in enumerate(lines)
                    if self.variant["run_flag"] not in line
                    and not (i and self.variant["run_flag"] in lines[i - 1] and line.startswith("     "))
                )  # fmt: skip
            sys.stdout.write(text)
        else:
            print(f"Usage: {self.variant['bin']} cron {sub} [options]")

    def cmd_status(self, opts: dict[str, Any], args: list[str], timeout_ms: int) -> None:
        self.emit({"enabled": True, "storePath": str(self.store), "jobs": len(self.load())})

    def cmd_list(self, opts: dict[str, Any], args: list[str], timeout_ms: int) -> None:
        if self.cfg.get("garbage_list"):
            print("[plugins] loaded 2 plugins\nthis is {not json at all")
            return
        jobs = [j for j in self.load() if opts.get("--all") or j.get("enabled", True)]
        jobs.sort(key=lambda j: j.get("state", {}).get("nextRunAtMs") or 0)
        if not self.openclaw:
            self.emit({"jobs": jobs})
            return
        for job in jobs:
            state = job.get("state", {})
            job["status"] = (
                "disabled"
                if not job.get("enabled", True)
                else "running"
                if state.get("runningAtMs")
                else "idle"
            )
        limit = int(self.cfg.get("page_size") or 200)
        page = jobs[:limit]
        more = len(page) < len(jobs)
        self.emit(
            {
                "jobs": page,
                "snapshotRevision": "sha256:ipsx8rH5bD68zKFXksxAwu7yfvQbhj3hvpqkk3c9Uh8",
                "total": len(jobs),
                "offset": 0,
                "limit": limit,
                "hasMore": more,
                "nextOffset": len(page) if more else None,
            }
        )

    def cmd_runs(self, opts: dict[str, Any], args: list[str], timeout_ms: int) -> None:
        job_id = opts.get("--id") or (args[0] if args else "")
        limit = int(opts.get("--limit", 50))
        entries = self.runs(job_id)
        if not self.openclaw:
            self.emit({"entries": entries[-limit:]})
            return
        if not any(j.get("id") == job_id for j in self.load()):
            self.fail_captured("runs-unknown-id", **{UNKNOWN_ID_IN_CAPTURE: job_id})
        newest = list(reversed(entries))[:limit]
        self.emit(
            {"entries": newest, "total": len(entries), "offset": 0, "limit": limit,
             "hasMore": len(entries) > limit, "nextOffset": limit if len(entries) > limit else None}
        )  # fmt: skip

    def changed_job(self, job_id: str, change: Any) -> None:
        """Apply `change(job)` to the stored job and print it as the real CLIs print a changed job."""
        with self.locked():
            jobs = self.load()
            job = next((j for j in jobs if j.get("id") == job_id), None)
            if job is None:
                self.fail_captured("disable-unknown", **{UNKNOWN_ID_IN_CAPTURE: job_id})
            change(job)
            job["updatedAtMs"] = now_ms()
            self.save(jobs)
        print(json.dumps(job, indent=2))

    def cmd_enable(self, opts: dict[str, Any], args: list[str], timeout_ms: int) -> None:
        self.changed_job(args[0], lambda job: job.update(enabled=True))

    def cmd_disable(self, opts: dict[str, Any], args: list[str], timeout_ms: int) -> None:
        self.changed_job(args[0], lambda job: job.update(enabled=False))

    def cmd_edit(self, opts: dict[str, Any], args: list[str], timeout_ms: int) -> None:
        job_id = args[0]
        expr = opts.get("--cron")
        if expr is not None and any(f.isdigit() and int(f) > 59 for f in expr.split()[:1]):
            self.fail_captured("edit-bad-cron", **{": 61": f": {expr.split()[0]}"})

        def change(job: dict[str, Any]) -> None:
            if "--name" in opts:
                job["name"] = opts["--name"]
            if opts.get("--enable") or opts.get("--disable"):
                job["enabled"] = bool(opts.get("--enable"))
            old = job.get("schedule") or {}
            if expr is not None:
                schedule: dict[str, Any] = {"kind": "cron", "expr": expr}
                tz = opts.get("--tz") or (
                    old.get("tz") if self.openclaw and old.get("kind") == "cron" else None
                )
                if tz:
                    schedule["tz"] = tz
                job["schedule"] = schedule
            elif "--every" in opts:
                every = duration_ms(opts["--every"])
                job["schedule"] = {
                    "kind": "every",
                    "everyMs": every,
                    **({"anchorMs": now_ms()} if self.openclaw else {}),
                }
            elif "--at" in opts:
                when = parse_at_ms(opts["--at"])
                if self.openclaw:
                    iso = (
                        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when / 1000)) + f".{when % 1000:03d}Z"
                    )
                    if old.get("kind") in ("cron", "every") and not opts.get("--keep-after-run"):
                        job["deleteAfterRun"] = True
                    job["schedule"] = {"kind": "at", "at": iso}
                else:
                    job["schedule"] = {"kind": "at", "atMs": when}

        with self.locked():
            known = any(j.get("id") == job_id for j in self.load())
        if not known:
            self.fail_captured("edit-unknown", **{UNKNOWN_ID_IN_CAPTURE: job_id})
        self.changed_job(job_id, change)

    def cmd_run(self, opts: dict[str, Any], args: list[str], timeout_ms: int) -> None:
        if not args:
            sys.exit("error: missing required argument 'id'")
        job_id = args[0]
        force = bool(opts.get("--force")) if not self.openclaw else not opts.get("--due")
        request_ms = now_ms()
        with self.locked():
            jobs = self.load()
            job = next((j for j in jobs if j.get("id") == job_id), None)
            if job is None:
                self.fail_captured("run-unknown-id", **{UNKNOWN_ID_IN_CAPTURE: job_id})
            state = job.setdefault("state", {})
            due = job.get("enabled", True) and (state.get("nextRunAtMs") or 0) <= now_ms()
            if not force and not due:
                if self.openclaw:
                    self.emit(
                        {
                            "ok": True,
                            "ran": False,
                            "reason": "not-due",
                            "processInstanceId": PROCESS_INSTANCE,
                        },
                        1,
                    )
                self.emit({"ok": True, "ran": False, "reason": "not-due"})
                return
            if self.openclaw and state.get("runningAtMs"):
                self.emit(
                    {
                        "ok": True,
                        "ran": False,
                        "reason": "already-running",
                        "processInstanceId": PROCESS_INSTANCE,
                    },
                    1,
                )
            seq = int(state.get("fakeSeq", 0)) + 1
            state["fakeSeq"] = seq
            if self.openclaw:
                state["runningAtMs"] = request_ms
            self.save(jobs)
        run_id = f"manual:{job_id}:{request_ms}:{seq}"
        self.start_gateway_run(job_id, run_id)
        if self.openclaw:
            self.emit({"ok": True, "enqueued": True, "runId": run_id, "processInstanceId": PROCESS_INSTANCE})
            return
        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            if self.done_marker(run_id).exists():
                self.emit({"ok": True, "ran": True})
                return
            time.sleep(0.01)
        self.fail_captured("run-force-timeout-1ms", **{"after 1ms": f"after {timeout_ms}ms"})

    def done_marker(self, run_id: str) -> Path:
        """The fake's own bookkeeping (never printed): which `cron run` call a finished run answers."""
        return self.state / "cron" / ".fake-done" / run_id.replace(":", "_")

    def start_gateway_run(self, job_id: str, run_id: str) -> None:
        subprocess.Popen(
            [sys.executable, __file__, "__finish", job_id, run_id],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def finish(self, job_id: str, run_id: str) -> None:
        """The gateway's side: one run at a time (ClawdBot's cron lock), `slow_ms`, then the run log."""
        with self.locked(".fake-run-lock"):
            run_at = now_ms()
            with self.locked():
                jobs = self.load()
                job = next((j for j in jobs if j.get("id") == job_id), None)
                if job is None:
                    return
                job.setdefault("state", {})["runningAtMs"] = run_at
                self.save(jobs)
            time.sleep(self.cfg.get("slow_ms", {}).get(job_id, 0) / 1000)
            self.record(job_id, run_id, run_at)
            self.done_marker(run_id).parent.mkdir(parents=True, exist_ok=True)
            self.done_marker(run_id).touch()

    def record(self, job_id: str, run_id: str, run_at: int) -> None:
        failure = self.cfg.get("job_fail", {}).get(job_id)
        undelivered = job_id in self.cfg.get("delivery_fail", [])
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
            if failure:
                state["lastError"] = failure
            if self.openclaw:
                state["lastRunStatus"] = status
            every = job.get("schedule", {}).get("everyMs")
            if every:
                state["nextRunAtMs"] = run_at + every
            self.save(jobs)
            payload = job.get("payload", {})
            summary = payload.get("text") or self.cfg.get("summary", {}).get(job_id) or "model-reply: ok"
            entry: dict[str, Any] = {"ts": now_ms(), "jobId": job_id, "action": "finished", "status": status}
            if self.openclaw:
                entry["completionStatus"] = "failed" if failure or undelivered else "succeeded"
            if failure:
                entry["error"] = failure
            entry["summary"] = summary
            if self.openclaw:
                entry["runId"] = run_id
            entry.update({"runAtMs": run_at, "durationMs": duration, "nextRunAtMs": state.get("nextRunAtMs")})
            if self.openclaw:
                if undelivered:
                    entry.update(
                        {
                            "delivered": False,
                            "deliveryStatus": "not-delivered",
                            "deliveryError": DELIVERY_ERROR,
                        }
                    )
                else:
                    entry["deliveryStatus"] = "not-requested"
                entry["jobName"] = job.get("name")
            runs = self.state / "cron" / "runs"
            runs.mkdir(parents=True, exist_ok=True)
            with open(runs / f"{job_id}.jsonl", "a") as handle:
                handle.write(json.dumps(entry) + "\n")


if __name__ == "__main__":
    fake = Fake()
    if sys.argv[1:2] == ["__finish"]:
        fake.finish(sys.argv[2], sys.argv[3])
    else:
        fake.main(sys.argv[1:])
