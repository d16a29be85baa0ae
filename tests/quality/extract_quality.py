#!/usr/bin/python3
"""extract_quality.py -- nz-extract against documents nobody here wrote.

    extract_quality.py pdf  OURS.jsonl PDF...    word coverage, headers, ligatures
    extract_quality.py html OURS.jsonl HTML...   no script/style text, h1-h3 kept

Prints one "ok - NAME" or "not ok - NAME: why" line per check, which the
test runner counts. pdftotext (poppler-utils) is the reference for PDFs;
Python's html.parser is the independent reference for HTML.
"""
import collections
import html.parser
import json
import re
import subprocess
import sys
import unicodedata

SUITE = "extract_quality"
failures = 0


def report(name, ok, why=""):
    global failures
    if ok:
        print(f"ok - {SUITE}/{name}")
    else:
        failures += 1
        print(f"not ok - {SUITE}/{name}: {why}")


INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))


def norm(s):
    return unicodedata.normalize("NFKC", s).translate(INVISIBLE).casefold()


WORD = re.compile(r"\w+")
ROMAN = re.compile(r"^[ivxlcdm]+$")


def load(path):
    docs = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            docs[d["uri"]] = d
    return docs


def by_file(docs, path):
    for uri, d in docs.items():
        if uri.endswith(path):
            return d
    return None


def edge_key(line):
    """A line's identity across pages: numbers (arabic or roman) as #."""
    words = []
    for w in norm(line).split():
        words.append("#" if re.fullmatch(r"[\d.]+", w) or ROMAN.match(w) else re.sub(r"\d+", "#", w))
    return " ".join(words)


def check_pdf(ours, pdfs):
    for pdf in pdfs:
        name = pdf.rsplit("/", 1)[-1]
        d = by_file(ours, pdf)
        if not d:
            report(f"{name}/extracted", False, "no record in the output")
            continue
        ref = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, check=True).stdout.decode("utf-8", "replace")
        text = "\n".join(b["text"] for b in d["blocks"])
        # Running headers and footers: lines at the edge of most pages.
        pages = ref.split("\f")
        counts = collections.Counter()
        for p in pages:
            lines = [l.strip() for l in p.split("\n") if l.strip()]
            for k in {edge_key(l) for l in lines[:2] + lines[-2:]}:
                counts[k] += 1
        headers = {k for k, c in counts.items() if c > len(pages) / 2 and k}
        # 1. word coverage, as multisets, of the reference without its
        #    running headers and footers (which must be dropped, below)
        body = []
        for p in pages:
            lines = [l for l in p.split("\n") if l.strip()]
            for i, l in enumerate(lines):
                edge = i < 2 or i >= len(lines) - 2
                if not (edge and edge_key(l.strip()) in headers):
                    body.append(l)
        want = collections.Counter(WORD.findall(norm("\n".join(body))))
        have = collections.Counter(WORD.findall(norm(text)))
        common = sum((want & have).values())
        cov = common / max(1, sum(want.values()))
        missing = (want - have).most_common(8)
        report(f"{name}/word_coverage_{cov:.4f}", cov >= 0.98, f"{cov:.4f} < 0.98; most missing {missing}")
        # 2. no header or footer line survives on more than 2 pages: as a
        #    block of its own, or glued to a page number ("Debian Reference
        #    12 / 233"). A paragraph that merely starts with the words of the
        #    running title ("Debian Reference is ...") is content.
        #    A header of numbers only (a page number) counts when its block
        #    opens or closes its page: a lone number inside a page is a
        #    table cell or a list number.
        first_last = set()
        for i, b in enumerate(d["blocks"]):
            if i == 0 or d["blocks"][i - 1]["page"] != b["page"]:
                first_last.add(i)
            if i + 1 == len(d["blocks"]) or d["blocks"][i + 1]["page"] != b["page"]:
                first_last.add(i)
        survived = {}
        for k in headers:
            on_pages = set()
            numeric = re.search(r"[^\W\d_]", k.replace("#", "")) is None
            for i, b in enumerate(d["blocks"]):
                bk = edge_key(b["text"])
                rest = bk.replace(k, "", 1).strip() if k in bk else None
                hit = bk == k or (rest is not None and rest and set(rest) <= set("#/ "))
                if hit and (not numeric or i in first_last):
                    on_pages.add(b["page"])
            survived[k] = len(on_pages)
        worst = max(survived.values(), default=0)
        report(f"{name}/headers_footers_gone", worst <= 2,
               f"header lines survive on pages: {survived}")
        report(f"{name}/headers_found", len(headers) >= 1, "the reference shows no running header at all")
        # 3. no ligature characters
        ligs = [c for c in text if 0xFB00 <= ord(c) <= 0xFB06]
        report(f"{name}/no_ligatures", not ligs, f"{len(ligs)} ligature characters")
        report(f"{name}/pages_numbered", all(b["page"] >= 1 for b in d["blocks"]), "a block without a page")


DROP = {"script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template", "svg",
        "iframe", "object", "select", "button", "canvas"}
DROP_CLASS = ("navheader", "navfooter", "navbar", "breadcrumb", "sidebar", "skip-link", "cookie")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
        "track", "wbr"}


class Ref(html.parser.HTMLParser):
    """Collects the text inside script/style and the h1-h3 headings that are
    not inside dropped elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, dropped)
        self.script = []
        self.headings = []
        self.cur = None

    def dropped(self):
        return any(d for _, d in self.stack)

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        a = dict(attrs)
        cls = (a.get("class") or "").lower()
        drop = (tag in DROP or "hidden" in a or a.get("aria-hidden") == "true"
                or (a.get("role") or "").lower() in ("navigation", "banner", "contentinfo")
                or any(c in cls for c in DROP_CLASS))
        self.stack.append((tag, drop))
        if tag in ("h1", "h2", "h3") and not self.dropped():
            self.cur = []

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
        if tag in ("h1", "h2", "h3") and self.cur is not None:
            text = " ".join("".join(self.cur).split())
            if text:
                self.headings.append(text)
            self.cur = None

    def handle_data(self, data):
        if self.stack and self.stack[-1][0] in ("script", "style"):
            for line in data.split("\n"):
                if len(line.strip()) >= 12:
                    self.script.append(line.strip())
        if self.cur is not None and not self.dropped():
            self.cur.append(data)


def check_html(ours, files, label):
    missing_heads, leaked, scripts_seen, heads_seen, absent = [], [], 0, 0, []
    for path in files:
        d = by_file(ours, path)
        if not d:
            absent.append(path)
            continue
        raw = open(path, "rb").read().decode("utf-8", "replace")
        r = Ref()
        r.feed(raw)
        texts = [b["text"] for b in d["blocks"]]
        blob = "\n".join(texts)
        for s in r.script:
            scripts_seen += 1
            if s in blob:
                leaked.append((path, s[:60]))
        ours_heads = {norm(" ".join(b["text"].split())) for b in d["blocks"] if b["kind"] == "heading"}
        for h in r.headings:
            heads_seen += 1
            if norm(h) not in ours_heads:
                missing_heads.append((path.rsplit("/", 1)[-1], h[:60]))
    report(f"{label}/every_page_extracted_{len(files)}", not absent, f"{len(absent)} missing, e.g. {absent[:3]}")
    report(f"{label}/no_script_or_style_text_{scripts_seen}_lines_checked", not leaked, f"{len(leaked)} leaked, e.g. {leaked[:3]}")
    report(f"{label}/every_h1_h3_is_a_heading_{heads_seen}_checked", heads_seen > 0 and not missing_heads,
           f"{len(missing_heads)} of {heads_seen} missing, e.g. {missing_heads[:5]}")


def main():
    mode, ours_path, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    ours = load(ours_path)
    if mode == "pdf":
        check_pdf(ours, files)
    else:
        check_html(ours, files, mode)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
