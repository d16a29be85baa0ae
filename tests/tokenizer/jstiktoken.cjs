// jstiktoken.cjs -- the reference: js-tiktoken's cl100k_base encoder.
//   node jstiktoken.cjs [--count] < strings.jsonl   (one JSON string a line)
// Prints one JSON array of token ids (or a count) per line, like nz-tokens --jsonl.
// NODE_PATH must reach an installed js-tiktoken.
const { getEncoding } = require("js-tiktoken");
const enc = getEncoding("cl100k_base");
const count = process.argv.includes("--count");
const lines = require("fs").readFileSync(0, "utf8").split("\n");
const out = [];
for (const line of lines) {
  if (!line) continue;
  const ids = enc.encode(JSON.parse(line), "all");
  out.push(count ? String(ids.length) : JSON.stringify(ids));
}
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
