// Locates the official client (`rivetkit/client`) inside the project's own Node install (tests/server),
// whatever the current directory: ESM imports ignore NODE_PATH, so we import it by absolute path.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const serverDir = process.env.RIVETCTL_SERVER_DIR ?? resolve(here, "..", "..", "tests", "server");

export async function importRivetkitClient() {
	const pkgDir = join(serverDir, "node_modules", "rivetkit");
	const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
	const entry = pkg.exports["./client"].import.default;
	return import(pathToFileURL(join(pkgDir, entry)).href);
}
