/* test_extract_formats.c -- unit tests of nz-extract's format modules:
 * sniffing, gzip, charsets, text cleaning, HTML, XML and PDF. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "charset.h"
#include "extract.h"
#include "gunzip.h"
#include "htmldoc.h"
#include "pdfdoc.h"
#include "pdflines.h"
#include "sniff.h"
#include "status.h"
#include "textclean.h"
#include "unit.h"
#include "xmldoc.h"

#define S(x) (const unsigned char *)(x), strlen(x)
#define T(x) (x), strlen(x)

UNIT_TEST(sniff_by_bytes_not_name) {
    CHECK_STR(sniff_mime(S("%PDF-1.7\n...")), MIME_PDF);
    CHECK_STR(sniff_mime(S("junk\n%PDF-1.4")), MIME_PDF); /* up to 1 KiB of junk */
    CHECK_STR(sniff_mime((const unsigned char *)"\x1f\x8b\x08\x00", 4), MIME_GZIP);
    CHECK_STR(sniff_mime(S("<?xml version=\"1.0\"?><!DOCTYPE html><html>")), MIME_XHTML);
    CHECK_STR(sniff_mime(S("<?xml version=\"1.0\"?>\n<urlset>")), MIME_XML);
    CHECK_STR(sniff_mime(S("\xEF\xBB\xBF  <!-- c --> <!DOCTYPE HTML><p>")), MIME_HTML);
    CHECK_STR(sniff_mime(S("<html lang=id>")), MIME_HTML);
    CHECK_STR(sniff_mime(S("# Title\n\ntext")), MIME_MARKDOWN);
    CHECK_STR(sniff_mime(S("plain words\n")), MIME_TEXT);
    CHECK_STR(sniff_mime((const unsigned char *)"ab\0cd", 5), MIME_BINARY);
}

static size_t gz(const char *in, size_t n, unsigned char *out, size_t cap) {
    z_stream zs = {0};
    deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    deflate(&zs, Z_FINISH);
    size_t m = zs.total_out;
    deflateEnd(&zs);
    return m;
}

UNIT_TEST(gunzip_bounded_and_strict) {
    char *big = calloc(1, 1 << 20);
    unsigned char *z = malloc(1 << 20);
    size_t zn = gz(big, 1 << 20, z, 1 << 20);
    unsigned char *out;
    size_t outlen;
    char err[256];
    CHECK(gunzip_bounded(z, zn, 1 << 20, &out, &outlen, err, sizeof err) == 0);
    CHECK(outlen == (1 << 20) && out[outlen] == 0);
    free(out);
    CHECK(gunzip_bounded(z, zn, 100000, &out, &outlen, err, sizeof err) < 0); /* a bomb */
    CHECK(strstr(err, "exceeds") != NULL);
    CHECK(gunzip_bounded(z, zn / 2, 1 << 20, &out, &outlen, err, sizeof err) < 0);
    CHECK(strstr(err, "truncated") != NULL);
    z[zn / 2] ^= 0xff;
    CHECK(gunzip_bounded(z, zn, 1 << 20, &out, &outlen, err, sizeof err) < 0);
    /* two members concatenated read as one stream, like gzip(1) */
    size_t a = gz("hello ", 6, z, 1 << 20);
    size_t b = gz("world", 5, z + a, (1 << 20) - a);
    CHECK(gunzip_bounded(z, a + b, 1000, &out, &outlen, err, sizeof err) == 0);
    CHECK(outlen == 11 && memcmp(out, "hello world", 11) == 0);
    free(out);
    free(big);
    free(z);
}

UNIT_TEST(gunzip_statuses_and_exact_cap) {
    char *big = calloc(1, 300000);
    unsigned char *z = malloc(1 << 20);
    size_t zn = gz(big, 300000, z, 1 << 20);
    unsigned char *out;
    size_t outlen;
    char err[256];
    /* exactly the cap is allowed; a byte more is a bomb */
    CHECK(gunzip_bounded(z, zn, 300000, &out, &outlen, err, sizeof err) == NZ_OK);
    CHECK(outlen == 300000 && out[outlen] == 0);
    free(out);
    CHECK(gunzip_bounded(z, zn, 299999, &out, &outlen, err, sizeof err) == NZ_ELIMIT);
    CHECK(out == NULL);
    CHECK(strstr(err, "exceeds --max-bytes 299999") != NULL);
    CHECK(gunzip_bounded(z, zn / 2, 1 << 20, &out, &outlen, err, sizeof err) == NZ_ECORRUPT);
    CHECK(gunzip_bounded(S("not gzip at all"), 100, &out, &outlen, err, sizeof err) == NZ_ECORRUPT);
    /* an empty member inflates to an empty, NUL-terminated string */
    size_t e = gz("", 0, z, 1 << 20);
    CHECK(gunzip_bounded(z, e, 100, &out, &outlen, err, sizeof err) == NZ_OK);
    CHECK(outlen == 0 && out && out[0] == 0);
    free(out);
    free(big);
    free(z);
}

UNIT_TEST(pdf_lines_pack_roundtrip_and_corrupt) {
    pdf_lines pl = {0}, back;
    for (int i = 0; i < 3; i++) {
        char *w = pdf_lines_reserve(&pl, 16);
        CHECK(w != NULL);
        int n = snprintf(w, 16, "line %d", i);
        pdf_line l = {.off = pl.text.len, .len = (uint32_t)n, .page = i + 1};
        pdf_lines_commit(&pl, w + n);
        CHECK(pdf_lines_push(&pl, &l) == NZ_OK);
    }
    pl.npages = 3;
    size_t len;
    char *flat = pdf_lines_pack(&pl, &len);
    CHECK(flat != NULL);
    CHECK(pdf_lines_unpack(&back, flat, len) == NZ_OK);
    CHECK(back.n == 3 && back.npages == 3 && back.text.len == pl.text.len);
    pdf_lines_resolve(&back);
    CHECK(back.lines[2].len == 6 && memcmp(back.lines[2].s, "line 2", 6) == 0);
    CHECK(pdf_lines_append(&pl, &back) == NZ_OK);
    pdf_lines_resolve(&pl);
    CHECK(pl.n == 6 && memcmp(pl.lines[4].s, "line 1", 6) == 0);
    CHECK(pdf_lines_unpack(&back, flat, len - 1) == NZ_ECORRUPT);
    flat[0] ^= 1;
    CHECK(pdf_lines_unpack(&back, flat, len) == NZ_ECORRUPT);
    free(flat);
    pdf_lines_free(&pl);
}

UNIT_TEST(charset_detection_and_conversion) {
    char cs[CHARSET_NAME_MAX], used[CHARSET_NAME_MAX];
    CHECK(charset_from_content_type("text/html; charset=\"ISO-8859-1\"", cs, sizeof cs) == 0);
    CHECK_STR(cs, "ISO-8859-1");
    CHECK(charset_html_meta(S("<head><meta charset=\"windows-1252\">"), cs, sizeof cs) == 0);
    CHECK_STR(cs, "windows-1252");
    CHECK(charset_html_meta(
              S("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">"), cs,
              sizeof cs) == 0);
    CHECK_STR(cs, "utf-8");
    char *out;
    size_t n;
    const char *note;
    char err[128];
    /* declared UTF-8 but Latin-1 bytes: Windows-1252, with a note */
    CHECK(charset_decode(S("caf\xe9 \x80"), "utf-8", &out, &n, used, &note, err, sizeof err) == 0);
    CHECK_STR(out, "caf\xc3\xa9 \xe2\x82\xac");
    CHECK(*note && strcmp(used, "WINDOWS-1252") == 0);
    free(out);
    /* declared Latin-1 but valid UTF-8: UTF-8 */
    CHECK(charset_decode(S("caf\xc3\xa9"), "iso-8859-1", &out, &n, used, &note, err, sizeof err) ==
          0);
    CHECK_STR(out, "caf\xc3\xa9");
    free(out);
    /* a BOM wins; UTF-16 is converted */
    CHECK(charset_decode((const unsigned char *)"\xff\xfeh\0i\0", 6, "utf-8", &out, &n, used, &note,
                         err, sizeof err) == 0);
    CHECK_STR(out, "hi");
    free(out);
    /* bytes a charset does not define become U+FFFD, never a failure */
    CHECK(charset_to_utf8("WINDOWS-1252", S("a\x81z"), &out, &n, err, sizeof err) == 0);
    CHECK_STR(out, "a\xef\xbf\xbdz");
    free(out);
    CHECK(charset_to_utf8("no-such-charset", S("x"), &out, &n, err, sizeof err) == NZ_EINVAL);
    CHECK(out == NULL && strstr(err, "unknown charset") != NULL);
    /* every byte undefined: three bytes of output each, still one buffer */
    char bad[2001];
    memset(bad, 0x81, 2000);
    bad[2000] = 0;
    CHECK(charset_to_utf8("WINDOWS-1252", S(bad), &out, &n, err, sizeof err) == NZ_OK);
    CHECK(n == 6000 && out[n] == 0 && memcmp(out + 5997, "\xef\xbf\xbd", 3) == 0);
    free(out);
}

UNIT_TEST(textclean_ligatures_and_invisibles) {
    size_t n;
    char *s = textclean_chars(T("o\xef\xac\x83"
                                "ce \xef\xac\x81n\xc2\xad"
                                "al\x01z\xe2\x80\x8b!"),
                              &n);
    CHECK_STR(s, "office final z!");
    free(s);
    s = textclean_chars(T("\xe2\x80\xa6 x\xc2\xb2"),
                        &n); /* ellipsis and superscript keep meaning */
    CHECK_STR(s, "\xe2\x80\xa6 x\xc2\xb2");
    free(s);
    char buf[] = "  a \n\t b\xc2\xa0 c  ";
    size_t m = textclean_collapse(buf, strlen(buf));
    CHECK(m == 5 && strcmp(buf, "a b c") == 0);
}

static json_t *html_blocks(const char *html, htmldoc_info *hi) {
    json_t *b = json_array();
    char err[256];
    if (htmldoc_extract(html, strlen(html), b, hi, err, sizeof err) < 0) {
        json_decref(b);
        return NULL;
    }
    return b;
}

UNIT_TEST(html_nesting_inline_and_drops) {
    htmldoc_info hi;
    json_t *b = html_blocks("<html lang='id-ID'><body><div>Intro <b>bold</b> text"
                            "<p>Para <a href=x>link</a>.</p>tail</div>"
                            "<ul><li>One<ul><li>Nested</li></ul></li></ul>"
                            "<div hidden>HIDDEN</div><div class='navheader'>NAV</div>"
                            "<h4>Small <span>head</span></h4><pre>a\n  b</pre></body></html>",
                            &hi);
    CHECK(b != NULL);
    CHECK_STR(hi.lang, "id");
    CHECK(hi.title == NULL);
    const char *want[][2] = {
        {"para", "Intro bold text"}, {"para", "Para link."},    {"para", "tail"},  {"list", "One"},
        {"list", "Nested"},          {"heading", "Small head"}, {"code", "a\n  b"}};
    CHECK(json_array_size(b) == 7);
    for (size_t i = 0; i < 7; i++) {
        json_t *x = json_array_get(b, i);
        CHECK_STR(json_string_value(json_object_get(x, "kind")), want[i][0]);
        CHECK_STR(json_string_value(json_object_get(x, "text")), want[i][1]);
    }
    json_decref(b);
    free(hi.title);
}

UNIT_TEST(html_title_falls_back_to_h1) {
    htmldoc_info hi;
    json_t *b = html_blocks("<body><h1>Panduan</h1><p>x</p></body>", &hi);
    CHECK(b && hi.title && strcmp(hi.title, "Panduan") == 0);
    json_decref(b);
    free(hi.title);
    b = html_blocks(
        "<html><head><title> A  <b>t</b>itle </title></head><body><h1>H</h1></body></html>", &hi);
    CHECK(b && hi.title && strcmp(hi.title, "A title") == 0);
    json_decref(b);
    free(hi.title);
}

UNIT_TEST(html_too_deep_is_refused) {
    size_t n = 300 * 5 + 64;
    char *h = malloc(n);
    strcpy(h, "<html><body>");
    for (int i = 0; i < 300; i++) strcat(h, "<div>");
    strcat(h, "x</body></html>");
    json_t *b = json_array();
    htmldoc_info hi;
    char err[256];
    CHECK(htmldoc_extract(h, strlen(h), b, &hi, err, sizeof err) < 0);
    CHECK(strstr(err, "nested deeper") != NULL);
    json_decref(b);
    free(h);
}

UNIT_TEST(xml_structure_without_entities) {
    const char *x = "<?xml version='1.0'?><!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
                    "<doc xml:lang='en'><title>Top</title><sec><title>Sub</title>"
                    "<p>Text <em>inline</em> here &e;</p></sec></doc>";
    json_t *b = json_array();
    xmldoc_info xi;
    char err[256];
    CHECK(xmldoc_extract(x, strlen(x), b, &xi, err, sizeof err) == 0);
    CHECK_STR(xi.title, "Top");
    CHECK_STR(xi.lang, "en");
    CHECK(json_array_size(b) == 3);
    CHECK(json_integer_value(json_object_get(json_array_get(b, 1), "level")) == 2);
    const char *t = json_string_value(json_object_get(json_array_get(b, 2), "text"));
    CHECK(strncmp(t, "Text inline here", 16) == 0);
    CHECK(strstr(t, "root:") == NULL); /* no external entity was read */
    json_decref(b);
    free(xi.title);
    b = json_array();
    CHECK(xmldoc_extract("<a><b></a>", 10, b, &xi, err, sizeof err) < 0);
    CHECK(strstr(err, "malformed XML") != NULL);
    json_decref(b);
}

static unsigned char *read_fixture(const char *rel, size_t *n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/fixtures/%s", getenv("NZ_ROOT") ? getenv("NZ_ROOT") : ".", rel);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 20);
    *n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

UNIT_TEST(pdf_fixture_blocks) {
    size_t n;
    unsigned char *pdf = read_fixture("docs/id/peraturan-pendaftaran-npwp.pdf", &n);
    CHECK(pdf != NULL);
    json_t *b = json_array();
    pdfdoc_info pi;
    char err[256];
    CHECK(pdfdoc_extract(pdf, n, 100, b, &pi, err, sizeof err) == 0);
    CHECK(pi.pages == 4 && pi.author && strcmp(pi.author, "Kementerian Keuangan") == 0);
    size_t i;
    json_t *x;
    int saw_pasal = 0, saw_header = 0;
    json_array_foreach(b, i, x) {
        const char *t = json_string_value(json_object_get(x, "text"));
        if (!strcmp(t, "Pasal 1")) saw_pasal = 1;
        if (strstr(t, "SALINAN") || strstr(t, "Halaman")) saw_header = 1;
    }
    CHECK(saw_pasal && !saw_header);
    pdfdoc_info_free(&pi);
    json_decref(b);
    /* a page limit */
    b = json_array();
    CHECK(pdfdoc_extract(pdf, n, 3, b, &pi, err, sizeof err) < 0);
    CHECK(strstr(err, "--max-pages 3") != NULL);
    pdfdoc_info_free(&pi);
    json_decref(b);
    /* half a PDF */
    b = json_array();
    CHECK(pdfdoc_extract(pdf, n / 2, 100, b, &pi, err, sizeof err) < 0);
    pdfdoc_info_free(&pi);
    json_decref(b);
    free(pdf);
}

UNIT_TEST(extract_document_record_fields) {
    extract_opts o = {.max_bytes = 1 << 20, .max_pages = 100};
    const char *md = "# Judul\n\nIsi dokumen yang berlaku bagi wajib pajak dan badan usaha.\n";
    extract_source src = {.name = "x/judul.md",
                          .uri = "file:///x/judul.md",
                          .data = (const unsigned char *)md,
                          .len = strlen(md),
                          .mtime = 0};
    char err[256];
    json_t *d = extract_document(&src, &o, err, sizeof err);
    CHECK(d != NULL);
    CHECK_STR(json_string_value(json_object_get(d, "title")), "Judul");
    CHECK_STR(json_string_value(json_object_get(d, "lang")), "id");
    CHECK_STR(json_string_value(json_object_get(d, "mtime")), "1970-01-01T00:00:00Z");
    CHECK(strlen(json_string_value(json_object_get(d, "doc_id"))) == 32);
    CHECK(json_integer_value(json_object_get(d, "bytes")) == (json_int_t)strlen(md));
    /* keys in the contract's order, blocks last */
    const char *first = json_object_iter_key(json_object_iter(d));
    CHECK_STR(first, "doc_id");
    json_decref(d);
    src.len = 0;
    CHECK(extract_document(&src, &o, err, sizeof err) == NULL);
    CHECK_STR(err, "empty file");
}
