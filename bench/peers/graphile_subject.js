// graphile-worker 0.17.3 (Node.js, npm) as a subject of the `queue` scenario
// (bench/PROTOCOL.md), on the same PostgreSQL as ours. bench/run.py installs it from the npm
// registry into bench/.node (`npm install graphile-worker@0.17.3 pg@8`); 0.17.3 is the newest
// release that supports Node 20 (0.18 needs Node >= 22.18).
//
//   node graphile_subject.js --scenario queue --tasks 20000 --workers 1 --database postgres://...
//   node graphile_subject.js --scenario queue --latency 200 --database postgres://...
//
// Settings (queue-anchors.md §2, upstream's perfTest):
// * the perfTest preset: `concurrentJobs` 10 per process, `localQueue` {size 500,
//   refetchDelay 10 ms}, `completeJobBatchDelay` 0, `failJobBatchDelay` 0, `maxPoolSize` 11,
//   `pollInterval` 2,000 ms (the default); with `--batching 0`, the library defaults instead
//   (no local queue, no batched completion).
// * Throughput: the jobs are added with one `graphile_worker.add_jobs(...)` call (as
//   upstream's init.js), timed apart; then `--workers` Node processes each run
//   `runOnce` (upstream's `graphile-worker --once`: work until the queue is empty, then
//   exit), and the drain is timed from their spawn until the last exits (Node's start-up
//   included: upstream's "raw" figure). Each process prints the job numbers it ran;
//   afterwards every job must have run exactly once and the jobs table must be empty
//   (graphile-worker deletes a job when it completes).
// * Latency: as upstream's latencyTest.js, the worker (`run`, concurrency 10) runs in this
//   process and is woken through LISTEN/NOTIFY on its own connection; jobs are added one
//   at a time (`graphile_worker.add_job`, one transaction each), one every 20 ms, and
//   each body notes the wall clock when it starts.
"use strict";

const path = require("path");
const { spawn } = require("child_process");
const { performance } = require("perf_hooks");

const NODE_MODULES = path.join(__dirname, "..", ".node", "node_modules");
const { run, runOnce, runMigrations } = require(path.join(NODE_MODULES, "graphile-worker"));
const { Client } = require(path.join(NODE_MODULES, "pg"));

function args() {
  const a = { scenario: "", tasks: 20000, workers: 1, latency: 0, batching: 1, database: "", role: "driver" };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    switch (flag) {
      case "--scenario": a.scenario = value; break;
      case "--tasks": a.tasks = Number(value); break;
      case "--workers": a.workers = Number(value); break;
      case "--latency": a.latency = Number(value); break;
      case "--batching": a.batching = Number(value); break;
      case "--database": a.database = value; break;
      case "--role": a.role = value; break;
      case "--seconds": case "--poll-ms": break;
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  return a;
}

function preset(a) {
  const worker = {
    connectionString: a.database,
    concurrentJobs: 10,
    maxPoolSize: 11,
    pollInterval: 2000,
  };
  if (a.batching) {
    worker.localQueue = { size: 500, refetchDelay: { durationMs: 10 } };
    worker.completeJobBatchDelay = 0;
    worker.failJobBatchDelay = 0;
  }
  return { worker };
}

const wallMs = () => performance.timeOrigin + performance.now();
const emit = (event) => process.stdout.write(JSON.stringify(event) + "\n");
const noLogs = () => () => {};

async function worker(a) {
  const ran = [];
  const { Logger } = require(path.join(NODE_MODULES, "graphile-worker"));
  await runOnce({
    connectionString: a.database,
    preset: preset(a),
    logger: new Logger(noLogs),
    taskList: { job: async (payload) => { ran.push(payload.id); } },
  });
  process.stdout.write(JSON.stringify({ ran }) + "\n");
}

function child(a) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename, "--role", "worker", "--database", a.database,
      "--batching", String(a.batching)], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d) => { out += d; });
    p.on("error", reject);
    p.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`a worker exited with ${code}`));
      try { resolve(JSON.parse(out.trim().split("\n").pop()).ran); } catch (e) { reject(e); }
    });
  });
}

async function throughput(a, client) {
  const specs = [];
  for (let i = 0; i < a.tasks; i++) specs.push({ identifier: "job", payload: { id: i } });
  let t = performance.now();
  await client.query(
    "select graphile_worker.add_jobs(array(select json_populate_recordset(null::graphile_worker.job_spec, $1::json)))",
    [JSON.stringify(specs)]);
  const enqueue_s = (performance.now() - t) / 1000;
  t = performance.now();
  const ran = await Promise.all(Array.from({ length: a.workers }, () => child(a)));
  const drain_s = (performance.now() - t) / 1000;
  const runs = new Uint32Array(a.tasks);
  for (const ids of ran) for (const id of ids) runs[id]++;
  const lost = runs.filter((r) => r === 0).length;
  const twice = runs.filter((r) => r > 1).length;
  const left = Number((await client.query("select count(*) from graphile_worker._private_jobs")).rows[0].count);
  const ok = lost === 0 && twice === 0 && left === 0;
  if (!ok) throw new Error(`not every job ran once: ${lost} never, ${twice} more than once, ${left} left in the table`);
  return {
    event: "result", jobs: a.tasks, workers: a.workers,
    enqueue_api: "graphile_worker.add_jobs (one call)",
    enqueue_s, drain_s, jobs_per_second: a.tasks / drain_s,
    end_to_end_jobs_per_second: a.tasks / (enqueue_s + drain_s),
    counted: { ok, lost, run_twice: twice, left_in_table: left },
  };
}

async function latency(a, client) {
  const started = new Map();
  const waiters = new Map();
  const runner = await run({
    connectionString: a.database,
    preset: preset(a),
    logger: new (require(path.join(NODE_MODULES, "graphile-worker")).Logger)(noLogs),
    taskList: {
      job: async (payload) => {
        started.set(payload.id, wallMs());
        const w = waiters.get(payload.id);
        if (w) w();
      },
    },
  });
  await new Promise((r) => setTimeout(r, 500));
  const sent = [];
  const done = [];
  for (let i = 0; i < a.latency; i++) {
    done.push(new Promise((r) => waiters.set(i, r)));
    const t0 = wallMs();
    await client.query("select graphile_worker.add_job('job', $1::json)", [JSON.stringify({ id: i })]);
    const t1 = wallMs();
    sent.push([i, t0, t1]);
    await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.race([Promise.all(done), new Promise((_, rej) => setTimeout(() => rej(new Error("jobs did not start in 60 s")), 60000))]);
  await runner.stop();
  return {
    event: "result", workers: 1,
    latency_from_call_ms: sent.map(([i, t0]) => started.get(i) - t0),
    latency_from_commit_ms: sent.map(([i, , t1]) => started.get(i) - t1),
    counted: { ok: started.size === a.latency },
  };
}

async function main() {
  const a = args();
  if (a.role === "worker") return worker(a);
  if (a.scenario !== "queue") {
    emit({ event: "unsupported", why: "graphile-worker is a subject of the queue scenario only" });
    return;
  }
  await runMigrations({ connectionString: a.database, logger: new (require(path.join(NODE_MODULES, "graphile-worker")).Logger)(noLogs) });
  const client = new Client({ connectionString: a.database });
  await client.connect();
  try {
    emit(a.latency > 0 ? await latency(a, client) : await throughput(a, client));
  } finally {
    await client.end();
  }
}

main().then(() => process.exit(0), (e) => {
  emit({ event: "failed", why: String(e && e.message || e) });
  process.exit(1);
});
