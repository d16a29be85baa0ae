#!/usr/bin/python3
"""bench/quality -- labels, the SQLite FTS5 peer, scores and the table.

run.sh drives the binaries; this file does what is not theirs:

  labels DOCS CHUNKS OUT    From nz-extract's docs.jsonl and nz-chunk's chunks.jsonl of
                            debian-reference (en, id), write OUT/chunks-L.jsonl and
                            OUT/queries-L.jsonl for each language L. Every h2 and h3
                            heading is a query (its number "1.2.3. " dropped); its
                            relevant chunks are those of its own section, subsections
                            included. Every chunk is written with its headings stripped
                            (heading "", context = the document title, tokens counted
                            again by nz-tokens), so no query is a plain string match;
                            chunks before a document's first h2 (the table of contents,
                            which lists every heading) are left out.
  probes OUT                Write OUT/probe-docs.jsonl (docs.jsonl records, lang id) and
                            OUT/probe-queries.jsonl: each code of issue 14 on one page,
                            among distractor pages that hold its pieces.
  qrels DOCS_QUERIES CHUNKS Print the probe queries with their relevant chunk ids (those
                            of the target page) as queries.jsonl lines.
  fts5 CHUNKS QUERIES TOK OUT
                            The peer: an FTS5 table of the same chunk texts through the
                            sqlite3 command-line tool, tokenizer TOK ("unicode61
                            remove_diacritics 2", or "porter unicode61 ..."); each query
                            becomes the OR of its quoted tokens (unicode61's own split:
                            runs of letters and digits), ranked by bm25() (ORDER BY rank),
                            top 10. Writes OUT (results JSON lines) and prints a JSON line
                            with the query time.
  ours RESULTS OUT          nz-index query answers (JSON lines, one a query, with "qid")
                            to results JSON lines.
  table W                   The table of everything run.sh left in W.
  score QUERIES RESULTS     Print {"queries", "recall10", "mrr10"}: recall@10 is the share
                            of queries with a relevant chunk in the top 10 (known-item
                            search: the section was found), MRR@10 the mean of 1/rank of
                            the first relevant chunk (0 past 10).

Results files are JSON lines {"qid": Q, "ids": [chunk_id, ...]} best first.
"""
import json
import os
import random
import re
import subprocess
import sys
import time

def default_weight():
    """hybrid's default lexical share, FUSE_DEFAULT_WEIGHT in index/fuse.h."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "index", "fuse.h")
    with open(path, encoding="utf-8") as f:
        m = re.search(r"#define FUSE_DEFAULT_WEIGHT ([0-9.]+)", f.read())
    if not m:
        sys.exit("quality: no FUSE_DEFAULT_WEIGHT in index/fuse.h")
    return float(m.group(1))


NUMBER = re.compile(r"^(?:[0-9]+|[A-Z])(?:\.[0-9]+)*\.\s+")
TOKEN = re.compile(r"[^\W_]+")  # unicode61: letters and digits, everything else separates


def jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    os.replace(tmp, path)


def token_counts(texts):
    """Exact cl100k_base counts through our own nz-tokens, one a text."""
    tok = os.path.join(os.environ.get("NZ_BIN", "build"), "nz-tokens")
    data = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts)
    out = subprocess.run([tok, "--jsonl", "--count"], input=data, capture_output=True,
                         text=True, check=True).stdout.split()
    if len(out) != len(texts):
        sys.exit("quality: nz-tokens returned %d counts for %d texts" % (len(out), len(texts)))
    return [int(n) for n in out]


def cmd_labels(docs_path, chunks_path, out):
    levels = {}  # (doc_id, heading text) -> level
    for d in jsonl(docs_path):
        for b in d["blocks"]:
            if b["kind"] == "heading":
                levels[(d["doc_id"], b["text"])] = b["level"]
    kept, sections = [], {}  # (doc_id, path tuple) -> [chunk_id]
    for c in jsonl(chunks_path):
        if not c["heading"]:
            continue
        path = tuple(c["heading"].split(" > "))
        for n in range(1, len(path) + 1):
            if levels.get((c["doc_id"], path[n - 1])) in (2, 3):
                sections.setdefault((c["doc_id"], c["lang"], path[:n]), []).append(c["chunk_id"])
        c["heading"] = ""
        c["context"] = c["title"]
        kept.append(c)
    counts = token_counts([c["context"] + "\n\n" + c["text"] for c in kept])
    for c, n in zip(kept, counts):
        c["tokens"] = n
    queries = {}
    for (doc_id, lang, path), ids in sections.items():
        text = NUMBER.sub("", path[-1]).strip()
        if TOKEN.search(text):
            queries.setdefault(lang, []).append(
                {"qid": "%s-%04d" % (lang, len(queries.get(lang, [])) + 1), "lang": lang,
                 "level": levels[(doc_id, path[-1])], "query": text, "relevant": ids})
    for lang in sorted(queries):
        write_jsonl(os.path.join(out, "chunks-%s.jsonl" % lang),
                    [c for c in kept if c["lang"] == lang])
        write_jsonl(os.path.join(out, "queries-%s.jsonl" % lang), queries[lang])
        print(json.dumps({"lang": lang, "chunks": sum(c["lang"] == lang for c in kept),
                          "queries": len(queries[lang])}))


# Each code of issue 14, the one page that holds it, and distractor pages that hold
# its pieces (never the code itself: no code is on two pages). Indonesian, as
# NUZANTARA's documents are.
PROBES = [
    ("KITAS", "Pemegang KITAS wajib melapor ke kantor imigrasi dalam tiga puluh hari setelah tiba.",
     ["Kita wajib melapor ke kantor imigrasi bila alamat berubah; kita membawa paspor.",
      "ITAS adalah izin tinggal terbatas: pemegang ITAS melapor ke kantor imigrasi.",
      "Kartu Izin Tinggal Terbatas: pemegang kartu wajib melapor setelah tiba."]),
    ("KITAP", "KITAP diberikan kepada orang asing yang telah tinggal lama dan ingin menetap.",
     ["ITAP adalah izin tinggal tetap bagi orang asing yang ingin menetap lama.",
      "Kita memberikan izin tinggal kepada orang asing yang ingin menetap.",
      "Kartu Izin Tinggal Tetap diberikan kepada orang asing yang telah lama tinggal."]),
    ("E33G", "Visa E33G adalah visa tinggal terbatas untuk pekerja jarak jauh dari luar negeri.",
     ["Visa E33 untuk pekerja dari luar negeri, dan visa E33F untuk tinggal terbatas.",
      "Indeks E 33 G pada formulir visa tinggal terbatas pekerja.",
      "Kode G33E dan 33G bukan jenis visa tinggal terbatas untuk pekerja jarak jauh."]),
    ("PT PMA", "Pendirian PT PMA memerlukan modal disetor minimal sepuluh miliar rupiah.",
     ["Pendirian PT lokal (PT PMDN) memerlukan modal disetor dari pemegang saham PT.",
      "Penanaman modal asing (PMA) memerlukan izin usaha; modal PMA disetor penuh.",
      "PT perorangan untuk usaha mikro: modal disetor bebas, pendirian PT mudah."]),
    ("Pasal 12 ayat (3)", "Sesuai Pasal 12 ayat (3), permohonan diajukan paling lambat tiga bulan.",
     ["Sesuai Pasal 12 ayat (1), permohonan diajukan oleh pemohon sendiri.",
      "Sesuai Pasal 13 ayat (3), permohonan diajukan secara daring.",
      "Pasal 3 ayat (1) dan Pasal 21 mengatur permohonan paling lambat satu bulan."]),
    ("PP 28/2025", "PP 28/2025 mengatur penyelenggaraan perizinan berusaha berbasis risiko.",
     ["PP 28/2024 mengatur penyelenggaraan kesehatan; PP ini berlaku sejak 2024.",
      "UU 28/2025 dan PP 5/2021 mengatur perizinan berusaha.",
      "Pada tahun 2025, PP nomor 82 mengatur 28 jenis perizinan berusaha berbasis risiko."]),
    ("PMK-81/2024", "PMK-81/2024 mengatur ketentuan perpajakan dalam rangka sistem inti administrasi.",
     ["PMK-18/2024 mengatur ketentuan kepabeanan dan sistem administrasi.",
      "PMK-81/2023 mengatur ketentuan perpajakan sebelum tahun 2024.",
      "PMK 81 dan PMK-2024 bukan nomor peraturan; ketentuan perpajakan dalam PMK lain."]),
]


def cmd_probes(out):
    docs, queries = [], []
    n = 0
    for i, (code, target, distractors) in enumerate(PROBES):
        for j, text in enumerate([target] + distractors):
            n += 1
            uri = "file:///bench/quality/probe/%d-%d.txt" % (i + 1, j)
            docs.append({"doc_id": "%032x" % (0xB0000 + n), "uri": uri, "title": "Catatan %d" % n,
                         "mime": "text/plain", "lang": "id", "sha256": "0" * 64,
                         "bytes": len(text.encode()), "mtime": "2026-12-01T00:00:00Z",
                         "blocks": [{"kind": "para", "level": 0, "page": 0, "text": text}]})
        queries.append({"qid": "probe-%d" % (i + 1), "lang": "id", "level": 0, "query": code,
                        "target_uri": "file:///bench/quality/probe/%d-0.txt" % (i + 1)})
    write_jsonl(os.path.join(out, "probe-docs.jsonl"), docs)
    write_jsonl(os.path.join(out, "probe-queries.jsonl"), queries)


def cmd_qrels(queries_path, chunks_path):
    by_uri = {}
    for c in jsonl(chunks_path):
        by_uri.setdefault(c["uri"], []).append(c["chunk_id"])
    for q in jsonl(queries_path):
        q["relevant"] = by_uri[q.pop("target_uri")]
        print(json.dumps(q, ensure_ascii=False))


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def fts5_match(query):
    """The OR of the query's unicode61 tokens, each quoted (so no token is an operator)."""
    toks = list(dict.fromkeys(t.lower() for t in TOKEN.findall(query)))
    return " OR ".join('"%s"' % t for t in toks)


def cmd_fts5(chunks_path, queries_path, tokenizer, out):
    chunks, queries = jsonl(chunks_path), jsonl(queries_path)
    db = out + ".db"
    for p in (db, db + "-journal"):
        if os.path.exists(p):
            os.remove(p)
    load = ["CREATE VIRTUAL TABLE f USING fts5(text, tokenize=%s);" % sql_str(tokenizer),
            "BEGIN;"]
    load += ["INSERT INTO f(rowid, text) VALUES (%d, %s);" % (i + 1, sql_str(c["text"]))
             for i, c in enumerate(chunks)]
    load.append("COMMIT;")
    subprocess.run(["sqlite3", "-batch", "-bail", db], input="\n".join(load) + "\n", text=True,
                   check=True)
    sel = [".mode tabs"]
    for q in queries:
        m = fts5_match(q["query"])
        sel.append("SELECT %s, rowid FROM f WHERE f MATCH %s ORDER BY rank LIMIT 10;"
                   % (sql_str(q["qid"]), sql_str(m)))
    t = time.perf_counter()
    res = subprocess.run(["sqlite3", "-batch", "-bail", db], input="\n".join(sel) + "\n",
                         capture_output=True, text=True, check=True).stdout
    secs = time.perf_counter() - t
    ranked = {q["qid"]: [] for q in queries}
    for line in res.splitlines():
        qid, rowid = line.split("\t")
        ranked[qid].append(chunks[int(rowid) - 1]["chunk_id"])
    write_jsonl(out, [{"qid": q, "ids": ids} for q, ids in ranked.items()])
    print(json.dumps({"queries": len(queries), "seconds": round(secs, 3)}))


def cmd_ours(answers_path, out):
    rows = []
    for a in jsonl(answers_path):
        rows.append({"qid": a["qid"], "ids": [r["chunk_id"] for r in a["results"]]})
    write_jsonl(out, rows)


def ranks(queries_path, results_path):
    """qid -> the 1-based rank of the first relevant chunk in the top 10, or 0."""
    ranked = {r["qid"]: r["ids"] for r in jsonl(results_path)}
    out = {}
    for q in jsonl(queries_path):
        rel = set(q["relevant"])
        out[q["qid"]] = next((i + 1 for i, c in enumerate(ranked.get(q["qid"], [])[:10])
                              if c in rel), 0)
    return out


def summary(rk):
    n = max(len(rk), 1)
    return {"queries": len(rk), "recall10": sum(r > 0 for r in rk.values()) / n,
            "mrr10": sum(1.0 / r for r in rk.values() if r) / n}


def cmd_score(queries_path, results_path):
    print(json.dumps(summary(ranks(queries_path, results_path))))


def delta_ci(a, b):
    """MRR@10 of a minus b over the same queries, with a paired bootstrap 95% interval
    (2,000 resamples of the queries, seeded, so a run prints the same interval)."""
    qs = sorted(a)
    da = [(1.0 / a[q] if a[q] else 0.0) - (1.0 / b[q] if b[q] else 0.0) for q in qs]
    rnd = random.Random(14)
    n = len(da)
    means = sorted(sum(da[rnd.randrange(n)] for _ in range(n)) / n for _ in range(2000))
    return sum(da) / n, means[50], means[1949]


MODES = [("dense", "dense (hash, graph ef 64)"), ("dense-exact", "dense (hash, exact scan)"),
         ("lexical", "lexical (BM25)"),
         ("lexical-nostem", "lexical, stemming off"), ("hybrid", "hybrid (RRF k=60, default weight)"),
         ("fts5", "FTS5 bm25(), unicode61 (peer)"), ("fts5-porter", "FTS5 bm25(), porter")]


def verdict(ok):
    return "PASS" if ok else "MISS"


def cmd_table(w):
    langs = [l for l in ("en", "id") if os.path.exists(os.path.join(w, "queries-%s.jsonl" % l))]
    rk = {}
    for name in sorted(os.listdir(w)):
        mt = re.match(r"res-(en|id|probe-corpus|probe)-(.+)\.jsonl$", name)
        if mt:
            rk[(mt.group(1), mt.group(2))] = ranks(
                os.path.join(w, "queries-%s.jsonl" % mt.group(1)), os.path.join(w, name))
    chunks = {l: sum(1 for _ in open(os.path.join(w, "chunks-%s.jsonl" % l))) for l in langs}
    print("Debian Reference, headings as queries, own section relevant, headings stripped:")
    print("  " + "; ".join("%s %d queries, %d chunks" % (l, len(rk[(l, "dense")]), chunks[l])
                           for l in langs))
    print("| mode | " + " | ".join("%s recall@10 | %s MRR@10" % (l, l) for l in langs) + " |")
    print("|---|" + "---:|---:|" * len(langs))
    for m, name in MODES:
        if all((l, m) in rk for l in langs):
            cells = []
            for l in langs:
                sm = summary(rk[(l, m)])
                cells += ["%.3f" % sm["recall10"], "%.3f" % sm["mrr10"]]
            print("| %s | %s |" % (name, " | ".join(cells)))
    print("Targets (MRR@10 differences with a paired bootstrap 95% interval):")
    for l in langs:
        have = lambda m: (l, m) in rk
        if have("lexical") and have("fts5"):
            a, b = summary(rk[(l, "lexical")]), summary(rk[(l, "fts5")])
            d, lo, hi = delta_ci(rk[(l, "lexical")], rk[(l, "fts5")])
            ok = a["mrr10"] >= b["mrr10"] and a["recall10"] >= b["recall10"]
            print("  %s lexical >= FTS5: MRR %.3f vs %.3f (%.2fx, %+.3f [%+.3f, %+.3f]), "
                  "recall %.3f vs %.3f  %s" % (l, a["mrr10"], b["mrr10"], a["mrr10"] / b["mrr10"],
                                               d, lo, hi, a["recall10"], b["recall10"],
                                               verdict(ok)))
        if have("hybrid") and have("dense") and have("lexical"):
            best = max(("dense", "lexical"), key=lambda m: summary(rk[(l, m)])["mrr10"])
            a, b = summary(rk[(l, "hybrid")]), summary(rk[(l, best)])
            d, lo, hi = delta_ci(rk[(l, "hybrid")], rk[(l, best)])
            ok = a["mrr10"] > b["mrr10"] and a["recall10"] >= b["recall10"]
            print("  %s hybrid > best single (%s): MRR %.3f vs %.3f (%+.3f [%+.3f, %+.3f]), "
                  "recall %.3f vs %.3f  %s" % (l, best, a["mrr10"], b["mrr10"], d, lo, hi,
                                               a["recall10"], b["recall10"], verdict(ok)))
        if have("lexical") and have("lexical-nostem"):
            d, lo, hi = delta_ci(rk[(l, "lexical")], rk[(l, "lexical-nostem")])
            keep = "helps: keep it" if lo > 0 else ("hurts: turn it off" if hi < 0 else
                                                     "no significant difference")
            print("  %s stemming on - off: MRR %+.3f [%+.3f, %+.3f]: %s" % (l, d, lo, hi, keep))
    for l in langs:
        if (l, "dense") in rk and (l, "lexical") in rk:
            d, x = rk[(l, "dense")], rk[(l, "lexical")]
            print("  %s what dense adds: it finds the section where lexical does not in %d "
                  "queries (lexical where dense does not: %d), ranks it higher in %d"
                  % (l, sum(1 for q in d if d[q] and not x[q]),
                     sum(1 for q in d if x[q] and not d[q]),
                     sum(1 for q in d if d[q] and (not x[q] or d[q] < x[q]))))
        sweep = sorted((float(m[len("hybrid-w"):]), m) for (s_, m) in rk
                       if s_ == l and m.startswith("hybrid-w"))
        if sweep and (l, "hybrid") in rk:
            dw = default_weight()
            sweep = sorted(sweep + [(dw, "hybrid")])
            print("  %s hybrid MRR@10 by weight (the lexical list's share; 0.5 = plain RRF, "
                  "%g the default): %s"
                  % (l, dw, "  ".join("%g: %.3f" % (wt, summary(rk[(l, m)])["mrr10"])
                                      for wt, m in sweep)))
    pm = ["lexical", "hybrid", "dense", "dense-exact", "fts5", "fts5-porter"]
    sets = [("probe", "the pages alone"), ("probe-corpus", "planted in the id corpus")]
    sets = [(s_, d) for s_, d in sets if all((s_, m) in rk for m in pm)]
    if sets:
        print("Probes: each code's page among distractors holding its pieces; rank of its page "
              "(target: 1 in lexical and hybrid)")
        print("| code | " + " | ".join("%s: %s" % (d, " / ".join(pm)) for _, d in sets) + " |")
        print("|---|" + "---|" * len(sets))
        for q in jsonl(os.path.join(w, "queries-probe.jsonl")):
            cells = []
            for s_, _ in sets:
                r = [rk[(s_, m)][q["qid"]] for m in pm]
                ok = r[0] == 1 and r[1] == 1
                cells.append("%s %s" % (" / ".join(str(x) if x else ">10" for x in r),
                                        verdict(ok)))
            print("| `%s` | %s |" % (q["query"], " | ".join(cells)))
    lat = os.path.join(w, "latency.json")
    if os.path.exists(lat):
        with open(lat) as f:
            L = json.load(f)
        d, dc = L["dense"]["p50_ms"], L["dense"]["cpu_p50_ms"]
        print("Latency on bench/corpus, %d chunks, %d queries, in process, one query at a "
              "time (wall p50 / p95 and CPU p50 a query, medians of %s rounds; load %s;"
              % (L["rows"], L["queries"], L["rounds"], L["load"]))
        print("  hybrid runs BM25 on a helper thread beside the graph walk, hybrid-serial "
              "one after the other; CPU counts both threads):")
        rows = (("dense", "anchor", None),
                ("lexical", "p50 < 1 ms", L["lexical"]["p50_ms"] < 1.0),
                ("hybrid", "<= 1.3x dense", L["hybrid"]["p50_ms"] <= 1.3 * d),
                ("hybrid-serial", "report", None))
        for m, target, ok in rows:
            if m not in L:
                continue
            print("  %-13s %7.3f ms / %7.3f ms  %5.2fx dense   CPU %7.3f ms  %5.2fx dense's"
                  "  %s" % (m, L[m]["p50_ms"], L[m]["p95_ms"], L[m]["p50_ms"] / d,
                            L[m]["cpu_p50_ms"], L[m]["cpu_p50_ms"] / dc,
                            target + ("" if ok is None else "  " + verdict(ok))))


def main():
    cmds = {"labels": (cmd_labels, 3), "probes": (cmd_probes, 1), "qrels": (cmd_qrels, 2),
            "fts5": (cmd_fts5, 4), "ours": (cmd_ours, 2), "score": (cmd_score, 2),
            "table": (cmd_table, 1)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or len(sys.argv) != cmds[sys.argv[1]][1] + 2:
        sys.exit("usage: quality.py labels|probes|qrels|fts5|ours|score|table ARGS (see the docstring)")
    fn, _ = cmds[sys.argv[1]]
    fn(*sys.argv[2:])


if __name__ == "__main__":
    main()
