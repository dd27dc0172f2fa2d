// Fan-out with the official TypeScript client (rivetkit/client on Node 22): one action on every actor listed
// in a file, N calls in flight at once, as a user's script would do it. Keys (--keys FILE: one per line, a JSON
// array for a compound key) are addressed with getOrCreate (get with --no-create), ids (--ids FILE: one actor id
// per line) with getForId. Each result is one JSON line on stdout as it completes, {key|actor_id, ok, output|error, ms}; the
// summary is the last line on stderr: calls, ok, failed, wall_s (from the first call to the last answer),
// cpu_s (this process), server_cpu_s (the server's pids, from /proc), lat_ms, peak RSS.
import { createReadStream, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { importRivetkitClient } from "./rivetkit_path.mjs";

const { values: a } = parseArgs({
	options: {
		endpoint: { type: "string" },
		encoding: { type: "string", default: "bare" },
		name: { type: "string", default: "fleet" },
		keys: { type: "string" },
		ids: { type: "string" },
		action: { type: "string" },
		args: { type: "string", default: "[]" },
		concurrency: { type: "string", default: "16" },
		"no-create": { type: "boolean", default: false },
		timeout: { type: "string", default: "75" },
		"server-pids": { type: "string", default: "" },
	},
});
const TICK = 100; // USER_HZ on Linux
const concurrency = Number(a.concurrency);
const args = JSON.parse(a.args);
const byId = a.ids !== undefined;
// Each call is given up after --timeout seconds, as rivetctl's request timeout (75 s) does: the official client
// retries some gateway errors (an actor that never becomes ready) on its own, which would hold a pass forever.
const timeoutMs = Number(a.timeout) * 1000;
function deadline(promise) {
	let timer;
	const expired = new Promise((_, reject) => {
		timer = setTimeout(() => reject(Object.assign(new Error(`no answer in ${a.timeout} s`), { code: "timeout" })), timeoutMs);
	});
	return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

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

const { createClient } = await importRivetkitClient();
const client = createClient({ endpoint: a.endpoint, encoding: a.encoding });
const accessor = client[a.name];

// Lines are read as the calls go; one reader at a time takes the next line.
const lines = createInterface({ input: createReadStream(byId ? a.ids : a.keys), crlfDelay: Number.POSITIVE_INFINITY });
const iterator = lines[Symbol.asyncIterator]();
let chain = Promise.resolve();
function nextLine() {
	const next = chain.then(() => iterator.next());
	chain = next.then(
		() => {},
		() => {},
	);
	return next;
}

const summary = { client: "ts", calls: 0, ok: 0, failed: 0, errors: [], lat_ms: [] };
async function worker() {
	for (;;) {
		const { value, done } = await nextLine();
		if (done) return;
		const text = value.trim();
		if (!text) continue;
		const key = text.startsWith("[") ? JSON.parse(text) : [text];
		const handle = byId ? accessor.getForId(text) : a["no-create"] ? accessor.get(key) : accessor.getOrCreate(key);
		const t = performance.now();
		let record;
		try {
			const output = await deadline(handle[a.action](...args));
			record = { [byId ? "actor_id" : "key"]: byId ? text : key, ok: true, output };
			summary.ok++;
		} catch (e) {
			record = {
				[byId ? "actor_id" : "key"]: byId ? text : key,
				ok: false,
				error: { group: e?.group, code: e?.code, message: String(e?.message ?? e) },
			};
			summary.failed++;
			if (summary.errors.length < 5) summary.errors.push(record.error);
		}
		const ms = performance.now() - t;
		record.ms = Math.round(ms * 100) / 100;
		summary.calls++;
		summary.lat_ms.push(record.ms);
		process.stdout.write(`${JSON.stringify(record)}\n`);
	}
}

const s0 = serverCpu();
const c0 = process.cpuUsage();
const w0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
const c = process.cpuUsage(c0);
Object.assign(summary, {
	wall_s: (performance.now() - w0) / 1000,
	cpu_s: (c.user + c.system) / 1e6,
	server_cpu_s: serverCpu() - s0,
	max_rss_kb: process.resourceUsage().maxRSS,
});
process.stderr.write(`${JSON.stringify(summary)}\n`);
client.dispose().catch(() => {});
setTimeout(() => process.exit(0), 50);
