// Starts the portable example actors (basic.mjs) on one RivetKit version of the compatibility matrix, in the
// shape RIVETCTL_COMPAT_MODE names (tests/compat/rig.py sets it and copies this file next to basic.mjs):
//   fs      the file-system driver: one Node process serving its own HTTP API on 127.0.0.1:RIVETCTL_COMPAT_PORT
//           (the default shape of RivetKit 2.0-2.2);
//   runner  a runner connecting to the engine at RIVET_ENDPOINT (RivetKit 2.0-2.2 behind a 2.3 engine);
//   engine  registry.startAndWait(): RivetKit 2.3 spawns its own engine on RIVET_RUN_ENGINE_PORT, exactly as the
//           example server does (rivetctl/example_server/server.mjs).
// Prints "rivetctl-test-server: ready" once started; the rig then waits for the actor names to be listed.
import { readFileSync } from "node:fs";
import * as rivetkit from "rivetkit";
import { chatRoom, counter, secure, timeouts, withInput } from "./basic.mjs";

const mode = process.env.RIVETCTL_COMPAT_MODE ?? "engine";
const port = Number(process.env.RIVETCTL_COMPAT_PORT ?? "6420");
const endpoint = process.env.RIVET_ENDPOINT;
const use = { counter, chatRoom, withInput, secure, timeouts };
const version = JSON.parse(readFileSync(new URL("./node_modules/rivetkit/package.json", import.meta.url))).version;

const stop = () => process.exit(0);
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

const fail = (error) => {
	console.error(`rivetctl-test-server: failed to start (rivetkit ${version}, ${mode}):`, error);
	process.exit(1);
};
const ready = () => console.log(`rivetctl-test-server: ready (rivetkit ${version}, ${mode})`);

// RivetKit 2.0 has no startRunner(): registry.start(runConfig) takes the server options instead of setup(). (No
// feature probe on a registry: from 2.1 on, a registry starts preparing its runtime as soon as it is set up.)
const legacyStart = version.startsWith("2.0.");

async function untilAnswers(url, timeoutMs = 60_000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		try {
			const response = await fetch(url);
			await response.arrayBuffer();
			return;
		} catch (error) {
			if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms: ${error}`);
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
	}
}

async function main() {
	console.log(`rivetctl-test-server: starting rivetkit ${version} (${mode})`);
	if (mode === "engine") {
		const registry = rivetkit.setup({ use, noWelcome: true });
		if (typeof registry.startAndWait !== "function") throw new Error(`rivetkit ${version} has no startAndWait()`);
		await registry.startAndWait();
	} else if (mode === "fs") {
		if (legacyStart) {
			rivetkit.setup({ use }).start({ defaultServerPort: port });
		} else {
			// serveManager: served even when NODE_ENV=production (the default is "in development only").
			const registry = rivetkit.setup({ use, managerPort: port, managerHost: "127.0.0.1", serveManager: true });
			registry.startRunner();
		}
		await untilAnswers(`http://127.0.0.1:${port}/metadata`);
	} else if (mode === "runner") {
		if (!endpoint) throw new Error("RIVET_ENDPOINT is not set");
		if (legacyStart) {
			rivetkit.setup({ use }).start({ endpoint, defaultServerPort: port });
		} else {
			const registry = rivetkit.setup({ use, endpoint, managerPort: port });
			registry.startRunner();
		}
	} else {
		throw new Error(`unknown RIVETCTL_COMPAT_MODE ${JSON.stringify(mode)} (fs, runner or engine)`);
	}
}

main().then(ready, fail);
