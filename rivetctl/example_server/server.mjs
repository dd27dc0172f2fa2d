// Starts the test/example registry against a local Rivet Engine (port from RIVET_RUN_ENGINE_PORT).
import { registry } from "./registry.mjs";

const stop = () => process.exit(0);
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

registry.startAndWait().then(
	() => console.log("rivetctl-test-server: ready"),
	(error) => {
		console.error("rivetctl-test-server: failed to start:", error);
		process.exit(1);
	},
);
