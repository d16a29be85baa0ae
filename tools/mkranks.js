#!/usr/bin/env node
// mkranks.js -- convert js-tiktoken's cl100k_base ranks to nuzantara's
// compact rank file, once; the output is committed so that the build never
// needs the network.
//
//   npm pack js-tiktoken@1.0.21 && tar xzf js-tiktoken-1.0.21.tgz
//   node tools/mkranks.js package/dist/ranks/cl100k_base.cjs lib/cl100k_base.bpe
//
// Output, all little-endian: "NZBPE1\0\0", u32 token count, u32 byte count
// of the pattern, the pre-tokenizer pattern (UTF-8), then for each rank
// from 0 upwards: u16 length and the token's bytes.
const fs = require("fs");
const [src, dst] = process.argv.slice(2);
const r = require(require("path").resolve(src));
const ranks = [];
for (const line of r.bpe_ranks.split("\n").filter(Boolean)) {
  const [, off, ...toks] = line.split(" ");
  toks.forEach((t, i) => (ranks[Number(off) + i] = Buffer.from(t, "base64")));
}
for (let i = 0; i < ranks.length; i++) if (!ranks[i]) throw new Error("gap at rank " + i);
const pat = Buffer.from(r.pat_str, "utf8");
const head = Buffer.alloc(16);
head.write("NZBPE1\0\0", 0, "latin1");
head.writeUInt32LE(ranks.length, 8);
head.writeUInt32LE(pat.length, 12);
const parts = [head, pat];
for (const t of ranks) {
  const l = Buffer.alloc(2);
  l.writeUInt16LE(t.length, 0);
  parts.push(l, t);
}
fs.writeFileSync(dst, Buffer.concat(parts));
console.log(`${dst}: ${ranks.length} tokens, pattern ${JSON.stringify(r.pat_str)}`);
