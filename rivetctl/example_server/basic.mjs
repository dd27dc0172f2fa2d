// The portable part of rivetctl's example registry: actors that use nothing newer than RivetKit 2.0 (`actor`,
// `UserError`), so the same definitions run on every server of the compatibility matrix (tests/compat) as well as
// in registry.mjs. `RivetError` came with 2.3: before it, a forbidden connection is a UserError coded "forbidden".
import * as rivetkit from "rivetkit";

const { actor, UserError } = rivetkit;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const forbidden = () =>
	rivetkit.RivetError === undefined
		? new UserError("Forbidden", { code: "forbidden" })
		: new rivetkit.RivetError("auth", "forbidden", "Forbidden", { public: true, statusCode: 403 });

export const counter = actor({
	state: { count: 0 },
	actions: {
		increment: (c, amount = 1) => {
			c.state.count += amount;
			c.broadcast("newCount", c.state.count);
			return c.state.count;
		},
		getCount: (c) => c.state.count,
		setCount: (c, value) => {
			c.state.count = value;
			c.broadcast("newCount", c.state.count);
			return c.state.count;
		},
		echo: (_c, ...args) => args,
		slow: async (_c, ms = 1000) => {
			await sleep(ms);
			return ms;
		},
		multiEvent: (c, n = 3) => {
			for (let i = 0; i < n; i++) c.broadcast("tick", i, `tick-${i}`);
			return n;
		},
		burst: (c, n = 100) => {
			for (let i = 0; i < n; i++) c.broadcast("burst", i);
			return n;
		},
		connInfo: (c) => ({ id: c.conn.id, params: c.conn.params ?? null }),
		sendToMe: (c, message = "hello") => {
			c.conn.send("direct", message);
			return true;
		},
		kickMe: async (c, reason = "kicked") => {
			await c.conn.disconnect(reason);
			return true;
		},
		goToSleep: (c) => {
			c.sleep();
			return true;
		},
		destroyMe: (c) => {
			c.destroy();
			return true;
		},
		bigOutput: (_c, size = 1024 * 1024) => "x".repeat(size),
		types: () => ({
			bigint: 12345678901234567890n,
			bytes: new Uint8Array([0, 1, 2, 253, 254, 255]),
			undef: undefined,
			nul: null,
			set: new Set([1, "two", 3]),
			map: new Map([["a", 1], ["b", 2]]),
			date: new Date(1700000000000),
			nested: { list: [1, 2.5, { deep: [true, false] }], empty: {} },
			unicode: "héllo wörld ✓ 日本語 🎉",
			dollar: ["$fake", 1],
		}),
		jsonTypes: () => ({
			bigint: 12345678901234567890n,
			bytes: new Uint8Array([0, 1, 2, 253, 254, 255]),
			undef: undefined,
			nul: null,
			set: new Set([1, "two", 3]),
			nested: { list: [1, 2.5, { deep: [true, false] }], empty: {} },
			unicode: "héllo wörld ✓ 日本語 🎉",
			dollar: ["$fake", 1],
		}),
		dateValue: () => new Date(1700000000000),
		mapValue: () => new Map([["a", 1]]),
		describeArgs: (_c, ...args) =>
			args.map((a) => {
				if (a === undefined) return "undefined";
				if (a === null) return "null";
				if (typeof a === "bigint") return `bigint:${a}`;
				if (a instanceof Uint8Array) return `bytes:${Array.from(a).join(",")}`;
				if (a instanceof Set) return `set:${[...a].join(",")}`;
				if (a instanceof Map) return `map:${[...a.keys()].join(",")}`;
				if (a instanceof Date) return `date:${a.getTime()}`;
				if (Array.isArray(a)) return `array:${a.length}`;
				return `${typeof a}:${typeof a === "object" ? JSON.stringify(a) : String(a)}`;
			}),
		throwPlain: () => {
			throw new Error("secret internal detail");
		},
		throwUser: () => {
			throw new UserError("Something went wrong");
		},
		throwUserCode: () => {
			throw new UserError("nope", { code: "RATE_LIMITED" });
		},
		throwUserMeta: () => {
			throw new UserError("Custom failure message", {
				code: "custom_code",
				metadata: { reason: "because", n: 42 },
			});
		},
		throwForbidden: () => {
			throw forbidden();
		},
	},
});

export const chatRoom = actor({
	state: { messages: [] },
	actions: {
		sendMessage: (c, sender, text) => {
			const message = { sender, text, timestamp: Date.now() };
			c.state.messages.push(message);
			c.broadcast("newMessage", message);
			return message;
		},
		getHistory: (c) => c.state.messages,
		typing: (c, sender) => {
			c.broadcast("typing", sender);
			return true;
		},
	},
});

export const withInput = actor({
	createState: (_c, input) => ({ input: input ?? null, created: Date.now() }),
	actions: {
		getInput: (c) => c.state.input,
		getState: (c) => c.state,
	},
});

// Accepts connections whose params carry token "secret"; rejects others two different ways.
export const secure = actor({
	state: { visits: 0 },
	onBeforeConnect: (_c, params) => {
		if (params?.user === "banned") {
			throw new UserError("bad token", { code: "unauthorized", metadata: { hint: "use secret" } });
		}
		if (params?.token !== "secret") {
			throw forbidden();
		}
	},
	createConnState: (_c, params) => ({ user: params?.user ?? "anonymous" }),
	actions: {
		whoami: (c) => {
			c.state.visits += 1;
			return { user: c.conn.state.user, visits: c.state.visits };
		},
	},
});

export const timeouts = actor({
	state: {},
	options: { actionTimeout: 1000 },
	actions: {
		slow: async (_c, ms = 2000) => {
			await sleep(ms);
			return ms;
		},
		quick: () => "ok",
	},
});
