#!/usr/bin/python3
"""chunk_quality.py -- properties of nz-chunk output over real corpora.

    chunk_quality.py DOCS.jsonl CHUNKS.jsonl MAX_TOKENS [OVERLAP] [NAME]

Checks, printing "ok - ..." / "not ok - ..." lines:
  limits       every chunk's tokens <= MAX_TOKENS and <= 8191, text_tokens <= tokens
  reassembly   a document's chunks, less their overlap_bytes (an overlap, a
               repeated table header), give back the text of its blocks
               (headings excepted), white space aside (run with --no-dedupe)
  boundaries   a chunk that stops inside a block stops at a sentence end,
               unless it is full: a sentence longer than the room was cut
  contract     the fields of chunks.jsonl, ords in order, context = title > heading
"""
import collections
import json
import os
import re
import subprocess
import sys

failures = 0
SUITE = "chunk_quality"


def report(name, ok, why=""):
    global failures
    if ok:
        print(f"ok - {SUITE}/{name}")
    else:
        failures += 1
        print(f"not ok - {SUITE}/{name}: {why}")


def ws(s):
    return " ".join(s.split())


# A sentence end for the test's purposes: . ! ? then white space and a
# capital, digit or bracket (nz-chunk's own rules know more abbreviations,
# so its sentences are never shorter than these).
SENT_END = re.compile(r"[.!?][\"')\]]*\s+(?=[A-Z0-9(\"\[])")
TOKENS = None


def count_tokens(text):
    """Exact cl100k_base count through nz-tokens."""
    out = subprocess.run([TOKENS, "--count"], input=text.encode("utf-8"), capture_output=True, check=True)
    return int(out.stdout)


def main():
    global TOKENS
    TOKENS = os.path.join(os.environ.get("NZ_BIN", "build"), "nz-tokens")
    docs_path, chunks_path, max_tokens = sys.argv[1], sys.argv[2], int(sys.argv[3])
    overlap = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    name = sys.argv[5] if len(sys.argv) > 5 else f"max{max_tokens}"
    docs = {}
    for line in open(docs_path, encoding="utf-8"):
        d = json.loads(line)
        docs[d["doc_id"]] = d
    by_doc = collections.defaultdict(list)
    n = 0
    over, bad_fields, bad_ctx = [], [], []
    need = ["chunk_id", "doc_id", "ord", "uri", "title", "heading", "page", "lang", "context", "text",
            "tokens", "text_tokens"]
    for line in open(chunks_path, encoding="utf-8"):
        c = json.loads(line)
        n += 1
        by_doc[c["doc_id"]].append(c)
        if c["tokens"] > max_tokens or c["tokens"] > 8191 or c["text_tokens"] > c["tokens"]:
            over.append((c["chunk_id"], c["tokens"]))
        if any(k not in c for k in need) or not c["text"].strip():
            bad_fields.append(c.get("chunk_id"))
        want_ctx = c["title"] + (" > " + c["heading"] if c["heading"] else "")
        if not want_ctx.startswith(c["context"]) or (len(c["context"]) < len(want_ctx) and c["tokens"] < 0):
            bad_ctx.append(c["chunk_id"])
    report(f"{name}/chunks_{n}", n > 0, "no chunks")
    report(f"{name}/within_{max_tokens}_tokens", not over, f"{len(over)} over: {over[:3]}")
    report(f"{name}/fields_present", not bad_fields, f"{bad_fields[:3]}")
    report(f"{name}/context_is_title_and_heading", not bad_ctx, f"{bad_ctx[:3]}")
    ords_ok = all([c["ord"] for c in cs] == list(range(len(cs))) for cs in by_doc.values())
    report(f"{name}/ords_in_order", ords_ok, "ord is not 0..n-1 within a document")

    # reassembly and boundaries
    mismatched, early_cuts, checked_cuts, suspects = [], [], 0, []
    for doc_id, d in docs.items():
        cs = by_doc.get(doc_id, [])
        want = ws(" ".join(b["text"] for b in d["blocks"] if b["kind"] != "heading"))
        # overlap_bytes: what repeats earlier text (an overlap, a table header)
        parts = [c["text"].encode("utf-8")[c.get("overlap_bytes", 0):].decode("utf-8") for c in cs]
        got = ws(" ".join(parts))
        # white space aside: a word longer than a chunk is cut with no space
        if got.replace(" ", "") != want.replace(" ", ""):
            i = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]), min(len(got), len(want)))
            mismatched.append((d["uri"].rsplit("/", 1)[-1], i, got[max(0, i - 30):i + 30], want[max(0, i - 30):i + 30]))
        # a cut inside a block: the chunk's own text ends a sentence, or it is full
        blocks = [ws(b["text"]) for b in d["blocks"] if b["kind"] not in ("heading",)]
        raw_lined = [b["text"] for b in d["blocks"] if b["kind"] in ("code", "table")]
        for k in range(len(cs) - 1):
            a = ws(cs[k]["text"])
            nxt = ws(cs[k + 1]["text"].encode("utf-8")[cs[k + 1].get("overlap_bytes", 0):].decode("utf-8"))
            if cs[k]["heading"] != cs[k + 1]["heading"] or not a or not nxt:
                continue
            tail, head = a[-60:], nxt[:60]
            if not any((tail + " " + head) in b for b in blocks):
                continue  # the cut falls between blocks
            checked_cuts += 1
            raw_a = cs[k]["text"].rstrip()[-60:]
            raw_b = cs[k + 1]["text"].encode("utf-8")[cs[k + 1].get("overlap_bytes", 0):].decode("utf-8")
            line_cut = re.compile(re.escape(raw_a) + r"[ \t]*\n" + re.escape(raw_b[:60]))
            if any(line_cut.search(b) for b in raw_lined):
                continue  # code and tables are cut between lines, as they should be
            ends = re.search(r"[.!?:;][\"')\]]*$", a) is not None or re.match(r"(\(\w{1,4}\)|\w{1,3}[.)]) ", nxt)
            full = cs[k]["tokens"] >= 0.75 * max_tokens - overlap
            if not ends and not full:
                suspects.append((cs[k], a, nxt, blocks))
    # A cut inside a sentence is right only when the sentence is longer than
    # the room a chunk has for text: count the sentence around the cut.
    for c, a, nxt, blocks in suspects:
        tail, head = a[-60:], nxt[:60]
        block = next(b for b in blocks if (tail + " " + head) in b)
        at = block.index(tail + " " + head) + len(tail)
        starts = [m.end() for m in SENT_END.finditer(block, 0, at)]
        s0 = starts[-1] if starts else 0
        m = SENT_END.search(block, at)
        s1 = m.start() + 1 if m else len(block)
        room = max_tokens - (c["tokens"] - c["text_tokens"]) - overlap - 2
        if count_tokens(block[s0:s1]) <= room:
            early_cuts.append((c["uri"].rsplit("/", 1)[-1], c["tokens"], tail[-40:], head[:40]))
    report(f"{name}/reassembly_gives_back_the_blocks_{len(docs)}_docs", not mismatched,
           f"{len(mismatched)} documents differ, e.g. {mismatched[:2]}")
    report(f"{name}/no_sentence_cut_while_a_cut_point_exists_{checked_cuts}_cuts", not early_cuts,
           f"{len(early_cuts)} early cuts, e.g. {early_cuts[:3]}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
