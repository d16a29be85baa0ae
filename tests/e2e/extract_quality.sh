#!/usr/bin/env bash
# nz-extract on real documents nobody here wrote (Debian packages):
# pdftotext as the word reference for PDFs, Python's html.parser as the
# reference for HTML. See tests/quality/extract_quality.py for the checks.
source "$(dirname "$0")/lib.sh"
Q="/usr/bin/python3 $NZ_ROOT/tests/quality/extract_quality.py"
PDFS="/usr/share/debian-reference/debian-reference.en.pdf /usr/share/debian-reference/debian-reference.id.pdf /usr/share/doc/gnuplot/gnuplot.pdf"
PG=/usr/share/doc/postgresql-doc-15/html
for f in $PDFS "$PG/index.html" /usr/share/debian-reference/index.en.html /usr/share/debian-reference/index.id.html; do
    [ -e "$f" ] || { t_fail corpora_installed "missing $f: run make deps"; exit 0; }
done
t_ok corpora_installed

nz-extract $PDFS >"$T/pdf.jsonl" 2>"$T/pdf.err"
rc=$?
[ $rc -eq 0 ] && t_ok pdfs_exit_0 || t_fail pdfs_exit_0 "exit $rc: $(tail -c 300 "$T/pdf.err")"
$Q pdf "$T/pdf.jsonl" $PDFS

nz-extract "$PG" >"$T/pg.jsonl" 2>"$T/pg.err"
rc=$?
[ $rc -eq 0 ] && t_ok postgresql_docs_exit_0 || t_fail postgresql_docs_exit_0 "exit $rc"
$Q postgresql-doc-15 "$T/pg.jsonl" "$PG"/*.html

nz-extract /usr/share/debian-reference/*.html >"$T/dr.jsonl" 2>/dev/null
$Q debian-reference-html "$T/dr.jsonl" /usr/share/debian-reference/*.html
check debian_reference_languages bash -c "[ \"\$(jq -r 'select(.uri|test(\"[.]id[.]html$\")) | .lang' '$T/dr.jsonl' | sort -u)\" = id ] &&
    [ \"\$(jq -r 'select(.uri|test(\"[.]en[.]html$\")) | .lang' '$T/dr.jsonl' | sort -u)\" = en ]"

nz-extract "$NZ_ROOT"/fixtures/docs/*/*.html >"$T/fx.jsonl" 2>/dev/null
$Q fixtures-html "$T/fx.jsonl" "$NZ_ROOT"/fixtures/docs/*/*.html

# A long PDF read by three workers in page ranges equals a whole read.
nz-extract -j1 /usr/share/doc/gnuplot/gnuplot.pdf >"$T/gp1.jsonl" 2>/dev/null
nz-extract -j3 /usr/share/doc/gnuplot/gnuplot.pdf >"$T/gp3.jsonl" 2>/dev/null
check split_pdf_equals_whole_read cmp "$T/gp1.jsonl" "$T/gp3.jsonl"
