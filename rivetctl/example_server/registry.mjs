// Test and example actor registry for rivetctl: one actor per behaviour the client must handle. The actors that
// run on older RivetKit servers too (counter, chatRoom, withInput, secure, timeouts) are in basic.mjs.
import { actor, queue, setup, UserError } from "rivetkit";
import { db } from "rivetkit/db";
import { Loop, workflow } from "rivetkit/workflow";
import { chatRoom, counter, secure, sleep, timeouts, withInput } from "./basic.mjs";

// A SQLite database (rivetkit/db): a table created on first start, actions that insert and select. The
// inspector's database routes show the table and its rows.
const notes = actor({
	db: db({
		onMigrate: async (db) => {
			await db.execute(
				"CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, tag TEXT, created_at INTEGER NOT NULL)",
			);
		},
	}),
	actions: {
		addNote: async (c, body, tag = null) => {
			if (typeof body !== "string" || body === "") throw new UserError("a note needs a body", { code: "empty_note" });
			const rows = await c.db.execute(
				"INSERT INTO notes (body, tag, created_at) VALUES (?, ?, ?) RETURNING id, body, tag, created_at",
				body,
				tag,
				Date.now(),
			);
			return rows[0];
		},
		listNotes: async (c, tag = null) =>
			tag === null
				? await c.db.execute("SELECT id, body, tag, created_at FROM notes ORDER BY id")
				: await c.db.execute("SELECT id, body, tag, created_at FROM notes WHERE tag = ? ORDER BY id", tag),
		deleteNote: async (c, id) => {
			const rows = await c.db.execute("DELETE FROM notes WHERE id = ? RETURNING id", id);
			return rows.length > 0;
		},
		countNotes: async (c) => (await c.db.execute("SELECT count(*) AS n FROM notes"))[0].n,
	},
});

// A queue: messages wait in the actor's "jobs" queue until `work` takes them, so the inspector's queue list
// shows the ones not taken yet. Clients can also send to "jobs" directly (the queue route).
const worker = actor({
	state: { done: [] },
	queues: { jobs: queue() },
	actions: {
		enqueue: async (c, ...bodies) => {
			for (const body of bodies) await c.queue.send("jobs", body);
			return bodies.length;
		},
		work: async (c, count = 1) => {
			const messages = await c.queue.tryNextBatch({ names: ["jobs"], count });
			for (const m of messages) c.state.done.push({ id: Number(m.id), body: m.body });
			return messages.map((m) => m.body);
		},
		getDone: (c) => c.state.done,
	},
});

// A workflow (rivetkit/workflow) that starts with the actor: steps, a loop of three rounds and a short
// sleep, so the inspector's workflow history has entries of each kind. Its progress is in the state.
const onboarding = actor({
	createState: (_c, input) => ({ user: input?.user ?? "guest", log: [], finished: false }),
	run: workflow(async (ctx) => {
		const user = await ctx.step("createAccount", async (s) => {
			s.state.log.push("createAccount");
			return s.state.user;
		});
		await ctx.loop({
			name: "sendEmails",
			state: 0,
			run: async (loop, sent) => {
				if (sent >= 3) return Loop.break(sent);
				await loop.step("sendEmail", async (s) => {
					s.state.log.push(`email ${sent + 1} to ${user}`);
				});
				return Loop.continue(sent + 1);
			},
		});
		await ctx.sleep("cooldown", 200);
		await ctx.step("finish", async (s) => {
			s.state.log.push("finish");
			s.state.finished = true;
		});
	}),
	actions: {
		getProgress: (c) => c.state,
	},
});

// A workflow that fails: its "chargeCard" step throws on every attempt (three attempts, a few ms apart), so the
// entry ends EXHAUSTED with the last error and the workflow "failed"; "sendReceipt" never runs.
const payment = actor({
	createState: (_c, input) => ({ amount: input?.amount ?? 42, attempts: 0 }),
	run: workflow(async (ctx) => {
		await ctx.step("reserveFunds", async (s) => s.state.amount);
		await ctx.step({
			name: "chargeCard",
			maxRetries: 2,
			retryBackoffBase: 10,
			retryBackoffMax: 50,
			run: async (s) => {
				s.state.attempts += 1;
				throw new Error(`card declined (attempt ${s.state.attempts})`);
			},
		});
		await ctx.step("sendReceipt", async () => "sent");
	}),
	actions: {
		getPayment: (c) => c.state,
	},
});

// A workflow that sleeps for a day after its first step: the history holds a PENDING sleep entry and the
// workflow is "sleeping" for as long as a test runs.
const reminder = actor({
	createState: (_c, input) => ({ note: input?.note ?? "water the plants", reminded: false }),
	run: workflow(async (ctx) => {
		await ctx.step("schedule", async (s) => s.state.note);
		await ctx.sleep("waitADay", 24 * 60 * 60 * 1000);
		await ctx.step("remind", async (s) => {
			s.state.reminded = true;
		});
	}),
	actions: {
		getReminder: (c) => c.state,
	},
});

// A workflow with a join (two branches run side by side, both awaited) and a race (the first branch to finish
// wins; the other one, asleep for an hour, loses and its entries are dropped), then a step recording both.
const fanout = actor({
	createState: () => ({ gathered: null, winner: null, done: false }),
	run: workflow(async (ctx) => {
		const gathered = await ctx.join("gather", {
			left: { run: async (b) => await b.step("fetchLeft", async () => "left data") },
			right: { run: async (b) => await b.step("fetchRight", async () => ({ rows: 3 })) },
		});
		const raced = await ctx.race("fastest", [
			{ name: "quick", run: async (b) => await b.step("quickAnswer", async () => 42) },
			{
				name: "slow",
				run: async (b) => {
					await b.sleep("slowTimer", 60 * 60 * 1000);
					return -1;
				},
			},
		]);
		await ctx.step("record", async (s) => {
			s.state.gathered = gathered;
			s.state.winner = raced.winner;
			s.state.done = true;
		});
	}),
	actions: {
		getResults: (c) => c.state,
	},
});

// Many small actors for fan-out (`call fleet --all ...`) and fan-in (`watch fleet --keys ...`): each counts the
// calls it got, fails on request for keys starting with "bad", takes its time on request, and can drop its live
// connections (which reconnect on their own).
const fleet = actor({
	state: { calls: 0 },
	actions: {
		increment: (c, amount = 1) => {
			c.state.calls += amount;
			c.broadcast("calls", c.state.calls);
			return c.state.calls;
		},
		getCount: (c) => c.state.calls,
		ping: (c) => ({ key: c.key, calls: c.state.calls }),
		failSome: (c) => {
			c.state.calls += 1;
			if (c.key.some((part) => part.startsWith("bad"))) {
				throw new UserError(`refused for key ${JSON.stringify(c.key)}`, { code: "bad_key" });
			}
			return c.state.calls;
		},
		slowIncrement: async (c, ms = 500) => {
			c.state.calls += 1;
			await sleep(ms);
			return c.state.calls;
		},
		kickOthers: async (c, reason = "kicked") => {
			const others = [...c.conns.values()].filter((conn) => conn.id !== c.conn.id);
			for (const conn of others) await conn.disconnect(reason);
			return others.length;
		},
	},
});

export const registry = setup({
	use: { counter, chatRoom, withInput, secure, timeouts, notes, worker, onboarding, payment, reminder, fanout, fleet },
	noWelcome: true,
});
