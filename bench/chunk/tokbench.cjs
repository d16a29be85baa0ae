// tokbench.cjs -- js-tiktoken's cl100k_base encoding speed, in process,
// timed like tokbench.c: texts read first, encoded REPS times.
//   NODE_PATH=... node tokbench.cjs REPS < strings.jsonl   prints: tokens seconds tokens_per_s
const { getEncoding } = require("js-tiktoken");
const reps = Number(process.argv[2] || 3);
const texts = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const enc = getEncoding("cl100k_base");
enc.encode("warm up the regex and the tables", "all");
let total = 0;
const t0 = process.hrtime.bigint();
for (let r = 0; r < reps; r++) for (const t of texts) total += enc.encode(t, "all").length;
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`${total} ${s.toFixed(4)} ${Math.round(total / s)}`);
