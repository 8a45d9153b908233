// The real gateway's next-run code as a batch oracle for tests/test_schedule_gateway.py.
//
// Usage: node schedule_reference.mjs <openclaw package dir> <cases.json>  > answers.json
// Imports the installed gateway's own `computeJobNextRunAtMs` (dist/jobs-scheduling-*.mjs, whose export
// names are minified, so the name is looked up in the module's export list) and, for each case, asks it
// for the next run after `now`, then again after that run, `count` times, as the gateway does after each
// run. Every-jobs get `state.lastRunAtMs` = the previous run. Nothing here computes a time itself.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const pkgDir = process.argv[2];
const dist = join(pkgDir, "dist");

async function importExport(prefix, name) {
  for (const file of readdirSync(dist).filter((f) => f.startsWith(prefix) && f.endsWith(".mjs"))) {
    const text = readFileSync(join(dist, file), "utf8");
    const match = text.match(new RegExp(`\\b${name} as (\\w+)`));
    if (match && text.includes(`function ${name}(`)) {
      const mod = await import(pathToFileURL(join(dist, file)).href);
      return mod[match[1]];
    }
  }
  throw new Error(`${name} not found in ${dist}/${prefix}*.mjs`);
}

const computeJobNextRunAtMs = await importExport("jobs-scheduling-", "computeJobNextRunAtMs");
const version = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")).version;
const cases = JSON.parse(readFileSync(process.argv[3], "utf8"));

function jobFor(c, lastRunAtMs) {
  const schedule =
    c.kind === "every"
      ? { kind: "every", everyMs: c.everyMs, ...(c.anchorMs == null ? {} : { anchorMs: c.anchorMs }) }
      : { kind: "cron", expr: c.expr, tz: c.tz, ...(c.staggerMs == null ? {} : { staggerMs: c.staggerMs }) };
  return {
    id: c.id,
    name: c.id,
    enabled: true,
    createdAtMs: c.createdAtMs ?? 0,
    updatedAtMs: c.createdAtMs ?? 0,
    schedule,
    sessionTarget: "main",
    wakeMode: "now",
    payload: { kind: "systemEvent", text: "x" },
    state: lastRunAtMs == null ? {} : { lastRunAtMs },
  };
}

const answers = cases.map((c) => {
  const runs = [];
  try {
    let now = c.now;
    let last = c.lastRunAtMs;
    for (let i = 0; i < c.count; i++) {
      const next = computeJobNextRunAtMs(jobFor(c, last), now);
      if (next === undefined) break;
      runs.push(next);
      now = next;
      last = next;
    }
    return { runs };
  } catch (err) {
    return { runs, error: String(err && err.message ? err.message : err) };
  }
});

process.stdout.write(
  JSON.stringify({ openclaw: version, node: process.versions.node, tz: process.versions.tz, answers }),
);
