#!/usr/bin/python3
"""bench/extract -- extraction speed against its anchor, measured together.

PDFs: Debian's debian-reference (en, id) and gnuplot manuals. The anchor is
pdftotext (poppler-utils, the same poppler engine) run one process at a time
and as `xargs -P2`. HTML: the 1,169 XHTML pages of postgresql-doc-15.
Runs are interleaved and repeated (NZ_BENCH_REPS, default 5); medians are
reported, so a noisy neighbour hits every contender alike.
"""
import os
import statistics
import subprocess
import sys
import time

BIN = os.environ.get("NZ_BIN", "build")
REPS = int(os.environ.get("NZ_BENCH_REPS", "5"))
PDFS = ["/usr/share/debian-reference/debian-reference.en.pdf",
        "/usr/share/debian-reference/debian-reference.id.pdf",
        "/usr/share/doc/gnuplot/gnuplot.pdf"]
HTML = "/usr/share/doc/postgresql-doc-15/html"


def pages(pdf):
    out = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True).stdout
    return int(next(l.split()[-1] for l in out.splitlines() if l.startswith("Pages:")))


def timed(cmd, shell=False):
    t = time.perf_counter()
    subprocess.run(cmd, shell=shell, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main():
    for f in PDFS + [HTML]:
        if not os.path.exists(f):
            sys.exit(f"bench/extract: {f} is missing (make deps installs it)")
    npages = sum(pages(p) for p in PDFS)
    nhtml = len([f for f in os.listdir(HTML) if f.endswith(".html")])
    nz = os.path.join(BIN, "nz-extract")
    quoted = " ".join(PDFS)
    runs = {
        "pdftotext, 1 process": lambda: timed(f"for f in {quoted}; do pdftotext $f /dev/null; done", shell=True),
        "pdftotext, xargs -P2": lambda: timed(f"printf '%s\\n' {quoted} | xargs -P2 -I{{}} pdftotext {{}} /dev/null", shell=True),
        "nz-extract -j1": lambda: timed([nz, "-j1", "-o", "/dev/null"] + PDFS),
        "nz-extract -j2": lambda: timed([nz, "-j2", "-o", "/dev/null"] + PDFS),
        "html -j1": lambda: timed([nz, "-j1", "-o", "/dev/null", HTML]),
        "html -j2": lambda: timed([nz, "-j2", "-o", "/dev/null", HTML]),
    }
    for fn in runs.values():  # warm the page cache
        fn()
    times = {k: [] for k in runs}
    for _ in range(REPS):
        for k, fn in runs.items():
            times[k].append(fn())
    med = {k: statistics.median(v) for k, v in times.items()}
    pps = {k: (nhtml if k.startswith("html") else npages) / v for k, v in med.items()}
    anchor, anchor2 = pps["pdftotext, 1 process"], pps["pdftotext, xargs -P2"]
    print(f"PDF: {len(PDFS)} files, {npages} pages; median of {REPS} interleaved runs")
    print(f"  {'pdftotext, 1 process':24} {anchor:8.0f} pages/s   anchor")
    print(f"  {'pdftotext, xargs -P2':24} {anchor2:8.0f} pages/s   {anchor2 / anchor:5.2f}x anchor")
    r1 = pps["nz-extract -j1"] / anchor
    r2 = pps["nz-extract -j2"] / anchor
    # per-repetition ratios (each against the anchor of the same round)
    rr1 = [a / b for a, b in zip(times["pdftotext, 1 process"], times["nz-extract -j1"])]
    rr2 = [a / b for a, b in zip(times["pdftotext, 1 process"], times["nz-extract -j2"])]
    print(f"  {'nz-extract, 1 thread':24} {pps['nz-extract -j1']:8.0f} pages/s   {r1:5.2f}x anchor  (target >= 1.0)  {'PASS' if r1 >= 1.0 else 'MISS'}  rounds {min(rr1):.2f}-{max(rr1):.2f}")
    print(f"  {'nz-extract, 2 threads':24} {pps['nz-extract -j2']:8.0f} pages/s   {r2:5.2f}x anchor  (target >= 1.8)  {'PASS' if r2 >= 1.8 else 'MISS'}  rounds {min(rr2):.2f}-{max(rr2):.2f}"
          f"   {pps['nz-extract -j2'] / anchor2:5.2f}x xargs -P2")
    h1, h2 = pps["html -j1"], pps["html -j2"] / 2
    print(f"HTML: postgresql-doc-15, {nhtml} pages")
    print(f"  {'nz-extract, 1 thread':24} {pps['html -j1']:8.0f} pages/s   {h1:6.0f} per core  {h1 / 500:5.2f}x target 500  {'PASS' if h1 >= 500 else 'MISS'}")
    print(f"  {'nz-extract, 2 threads':24} {pps['html -j2']:8.0f} pages/s   {h2:6.0f} per core  {h2 / 500:5.2f}x target 500  {'PASS' if h2 >= 500 else 'MISS'}")


if __name__ == "__main__":
    main()
