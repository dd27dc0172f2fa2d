// One-shot call with the official client, as a user script would do it: create a client, call
// increment(1) on counter[KEY] over HTTP, print the result, exit.  Usage: node oneshot.mjs ENDPOINT KEY [ENCODING]
import { importRivetkitClient } from "./rivetkit_path.mjs";

const [endpoint, key, encoding = "bare"] = process.argv.slice(2);
const { createClient } = await importRivetkitClient();
const client = createClient({ endpoint, encoding });
const result = await client.counter.getOrCreate([key]).increment(1);
console.log(JSON.stringify(result));
await client.dispose();
