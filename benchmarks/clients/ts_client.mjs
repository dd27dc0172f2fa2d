// Benchmark driver for the official TypeScript client (rivetkit/client on Node 22): one workload, one
// JSON line on stdout, with the same fields as the Python drivers (see clients/common.py).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { importRivetkitClient } from "./rivetkit_path.mjs";

const { values: a } = parseArgs({
	options: {
		endpoint: { type: "string" },
		encoding: { type: "string" },
		workload: { type: "string" },
		key: { type: "string" },
		n: { type: "string" },
		concurrency: { type: "string", default: "1" },
		warmup: { type: "string", default: "10" },
		timeout: { type: "string", default: "60" },
		"server-pids": { type: "string", default: "" },
	},
});
const n = Number(a.n);
const concurrency = Number(a.concurrency);
const warmup = Number(a.warmup);
const timeoutMs = Number(a.timeout) * 1000;
const TICK = 100; // USER_HZ on Linux

function serverCpu() {
	let total = 0;
	for (const pid of a["server-pids"].split(",").filter(Boolean)) {
		try {
			const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(")").pop().trim().split(/\s+/);
			total += Number(fields[11]) + Number(fields[12]);
		} catch {}
	}
	return total / TICK;
}

function meterStart() {
	return { s: serverCpu(), c: process.cpuUsage(), w: performance.now() };
}
function meterStop(m) {
	const c = process.cpuUsage(m.c);
	return {
		wall_s: (performance.now() - m.w) / 1000,
		cpu_s: (c.user + c.system) / 1e6,
		server_cpu_s: serverCpu() - m.s,
	};
}
function split(total, parts) {
	const base = Math.floor(total / parts);
	const extra = total % parts;
	return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}
const withTimeout = (p, ms) =>
	Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout after ${ms} ms`)), ms))]);

const { createClient } = await importRivetkitClient();
const client = createClient({ endpoint: a.endpoint, encoding: a.encoding });
const handle = client.counter.getOrCreate([a.key]);
const out = { client: "ts", workload: a.workload, encoding: a.encoding, errors: 0 };

async function run(invoke) {
	const lat = [];
	const worker = async (count) => {
		for (let i = 0; i < count; i++) {
			const t = performance.now();
			try {
				await invoke();
			} catch {
				out.errors++;
				continue;
			}
			lat.push((performance.now() - t) / 1000);
		}
	};
	const m = meterStart();
	await Promise.all(split(n, concurrency).map(worker));
	Object.assign(out, meterStop(m), { ops: n, lat_ms: lat.map((x) => Math.round(x * 1e6) / 1000) });
}

if (a.workload === "http_seq" || a.workload === "http_conc") {
	for (let i = 0; i < warmup; i++) await handle.increment(1);
	await run(() => handle.increment(1));
} else if (a.workload === "ws_seq" || a.workload === "ws_pipe") {
	const conn = handle.connect();
	await withTimeout(conn.ready, 30000);
	for (let i = 0; i < warmup; i++) await conn.increment(1);
	await run(() => conn.increment(1));
	await conn.dispose();
} else if (a.workload === "burst") {
	const conn = handle.connect();
	await withTimeout(conn.ready, 30000);
	let received = 0;
	let last = 0;
	conn.on("burst", () => {
		received++;
		last = performance.now();
	});
	await conn.getCount(); // the subscription is on the wire before the burst
	const m = meterStart();
	const t0 = performance.now();
	// A stalled stream (no event for STALL_MS) means the server's runner link broke: stop waiting.
	const STALL_MS = 8000;
	let stallTimer;
	const stalled = new Promise((_, rej) => {
		stallTimer = setInterval(() => {
			if (performance.now() - Math.max(last, t0) > STALL_MS) rej(new Error("stalled: no event for 8 s"));
		}, 500);
	});
	try {
		await withTimeout(Promise.race([conn.burst(n), stalled]), timeoutMs);
		out.response = true;
	} catch (e) {
		out.response = false;
		out.error = String(e);
	}
	clearInterval(stallTimer);
	Object.assign(out, meterStop(m), {
		ops: received,
		expected: n,
		received,
		events_wall_s: received ? (last - t0) / 1000 : null,
	});
	conn.dispose().catch(() => {});
} else {
	throw new Error(`unknown workload ${a.workload}`);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
client.dispose().catch(() => {});
setTimeout(() => process.exit(0), 50);
