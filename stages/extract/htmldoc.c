/* htmldoc.c -- see htmldoc.h. */
#include "htmldoc.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blocks.h"
#include "buf.h"
#include "status.h"
#include "lang.h"
#include "textclean.h"

typedef enum {
    EL_INLINE,
    EL_DROP,
    EL_BLOCK,
    EL_HEADING,
    EL_PARA,
    EL_LIST,
    EL_CODE,
    EL_TABLE,
    EL_BREAK
} el_role;

static el_role htmldoc_role(const xmlNode *n, int *level) {
    const char *name = (const char *)n->name;
    static const char *const drop[] = {
        "script", "style",  "nav",    "header", "footer", "aside",  "form", "noscript", "template",
        "svg",    "canvas", "iframe", "object", "select", "button", "head", NULL};
    static const char *const block[] = {
        "div",     "section", "article",  "main",   "body",    "html",       "blockquote", "dl",
        "dd",      "dt",      "ul",       "ol",     "figure",  "figcaption", "address",    "center",
        "details", "summary", "fieldset", "hgroup", "caption", "hr",         NULL};
    for (int i = 0; drop[i]; i++)
        if (strcasecmp(name, drop[i]) == 0) return EL_DROP;
    if ((name[0] == 'h' || name[0] == 'H') && name[1] >= '1' && name[1] <= '6' && !name[2]) {
        *level = name[1] - '0';
        return EL_HEADING;
    }
    if (!strcasecmp(name, "p")) return EL_PARA;
    if (!strcasecmp(name, "li")) return EL_LIST;
    if (!strcasecmp(name, "pre")) return EL_CODE;
    if (!strcasecmp(name, "table")) return EL_TABLE;
    if (!strcasecmp(name, "br")) return EL_BREAK;
    if (!strcasecmp(name, "code")) {
        /* block-level only when its parent is not holding running text */
        const xmlNode *p = n->parent;
        if (p && p->type == XML_ELEMENT_NODE) {
            const char *pn = (const char *)p->name;
            if (!strcasecmp(pn, "div") || !strcasecmp(pn, "body") || !strcasecmp(pn, "section") ||
                !strcasecmp(pn, "article") || !strcasecmp(pn, "main"))
                return EL_CODE;
        }
        return EL_INLINE;
    }
    for (int i = 0; block[i]; i++)
        if (strcasecmp(name, block[i]) == 0) return EL_BLOCK;
    return EL_INLINE;
}

/* Boilerplate by attribute: hidden elements and manual navigation boxes. */
static int htmldoc_boilerplate(const xmlNode *n) {
    int drop = 0;
    xmlChar *v;
    if (xmlHasProp((xmlNode *)n, (const xmlChar *)"hidden")) return 1;
    if ((v = xmlGetProp((xmlNode *)n, (const xmlChar *)"aria-hidden"))) {
        drop = !strcmp((const char *)v, "true");
        xmlFree(v);
        if (drop) return 1;
    }
    if ((v = xmlGetProp((xmlNode *)n, (const xmlChar *)"role"))) {
        drop = !strcasecmp((const char *)v, "navigation") ||
               !strcasecmp((const char *)v, "banner") ||
               !strcasecmp((const char *)v, "contentinfo");
        xmlFree(v);
        if (drop) return 1;
    }
    if ((v = xmlGetProp((xmlNode *)n, (const xmlChar *)"class"))) {
        static const char *const cls[] = {"navheader", "navfooter", "navbar", "breadcrumb",
                                          "sidebar",   "skip-link", "cookie", NULL};
        for (int i = 0; cls[i] && !drop; i++)
            if (strcasestr((const char *)v, cls[i])) drop = 1;
        xmlFree(v);
    }
    return drop;
}

typedef struct {
    json_t *blocks;
    buf text;        /* the block being filled */
    block_kind kind; /* of the innermost open block element */
    int level;
    int in_pre;
    char *first_h1;
} hwalk;

/* Emit the buffered text as a block of the current kind. */
static int htmldoc_flush(hwalk *w) {
    if (!w->text.len) return 0;
    size_t n = w->text.len;
    char *clean = textclean_chars(w->text.s, n, &n);
    int rc = NZ_ENOMEM;
    if (!clean) goto out;
    if (w->kind != BLOCK_CODE) n = textclean_collapse(clean, n);
    if (w->kind == BLOCK_HEADING && w->level == 1 && !w->first_h1 && n)
        w->first_h1 = strndup(clean, n);
    rc = blocks_add(w->blocks, w->kind, w->level, 0, clean, n);
out:
    free(clean);
    buf_reset(&w->text);
    return rc;
}

/* The node after n in document order below root (into n's children when
 * descend), or NULL at the end of the subtree. */
static const xmlNode *htmldoc_next(const xmlNode *n, const xmlNode *root, int descend) {
    if (descend) return n->children;
    while (n != root && !n->next) n = n->parent;
    return n == root ? NULL : n->next;
}

/* Text of a subtree (for table cells), iteratively, skipping dropped parts. */
static int htmldoc_subtree_text(const xmlNode *root, buf *out) {
    const xmlNode *n = root->children;
    while (n && n != root) {
        int level, descend = 0;
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            const char *t = (const char *)n->content;
            if (t && buf_add(out, t, strlen(t)) < 0) return NZ_ENOMEM;
        } else if (n->type == XML_ELEMENT_NODE) {
            el_role r = htmldoc_role(n, &level);
            if (r == EL_BREAK || r == EL_BLOCK || r == EL_PARA || r == EL_LIST) {
                if (buf_add(out, " ", 1) < 0) return NZ_ENOMEM;
            }
            descend = r != EL_DROP && !htmldoc_boilerplate(n) && n->children;
        }
        n = htmldoc_next(n, root, descend);
    }
    return 0;
}

static int htmldoc_table(hwalk *w, const xmlNode *table) {
    buf rows = BUF_INIT, cell = BUF_INIT;
    int rc = NZ_ENOMEM;
    /* rows: tr elements whose nearest table ancestor is this table */
    const xmlNode *n = table->children;
    while (n && n != table) {
        int descend = 0;
        if (n->type == XML_ELEMENT_NODE) {
            const char *name = (const char *)n->name;
            if (!strcasecmp(name, "tr")) {
                int first = 1;
                if (rows.len && buf_add(&rows, "\n", 1) < 0) goto out;
                for (const xmlNode *c = n->children; c; c = c->next) {
                    if (c->type != XML_ELEMENT_NODE || (strcasecmp((const char *)c->name, "td") &&
                                                        strcasecmp((const char *)c->name, "th")))
                        continue;
                    buf_reset(&cell);
                    if (htmldoc_subtree_text(c, &cell) < 0) goto out;
                    size_t cn = cell.len;
                    if (cell.s) cn = textclean_collapse(cell.s, cn);
                    if (!first && buf_add(&rows, " | ", 3) < 0) goto out;
                    if (cn && buf_add(&rows, cell.s, cn) < 0) goto out;
                    first = 0;
                }
            } else if (!strcasecmp(name, "caption")) {
                buf_reset(&cell);
                if (htmldoc_subtree_text(n, &cell) < 0) goto out;
                if (cell.len) {
                    size_t cn = textclean_collapse(cell.s, cell.len);
                    if (buf_add(&rows, cell.s, cn) < 0 || buf_add(&rows, "\n", 1) < 0) goto out;
                }
            } else if (strcasecmp(name, "table")) {
                descend = n->children != NULL; /* thead, tbody, tfoot */
            }
        }
        n = htmldoc_next(n, table, descend);
    }
    if (rows.len) {
        size_t cn = rows.len;
        char *clean = textclean_chars(rows.s, rows.len, &cn);
        if (!clean) goto out;
        rc = blocks_add(w->blocks, BLOCK_TABLE, 0, 0, clean, cn);
        free(clean);
    } else {
        rc = 0;
    }
out:
    buf_free(&rows);
    buf_free(&cell);
    return rc;
}

/* Per open block element: what to restore when it closes. */
typedef struct {
    const xmlNode *node;
    block_kind kind;
    int level, in_pre;
} hframe;

static int htmldoc_walk(hwalk *w, xmlNode *root) {
    size_t cap = 64, depth = 0;
    hframe *stack = malloc(cap * sizeof *stack);
    if (!stack) return NZ_ENOMEM;
    int rc = NZ_ENOMEM;
    xmlNode *n = root;
    for (;;) {
        int descend = 0, level = 0;
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            const char *t = (const char *)n->content;
            if (t && buf_add(&w->text, t, strlen(t)) < 0) goto out;
        } else if (n->type == XML_ELEMENT_NODE) {
            el_role r = htmldoc_role(n, &level);
            if (r == EL_DROP || htmldoc_boilerplate(n)) {
                /* skip the subtree */
            } else if (r == EL_BREAK) {
                if (buf_add(&w->text, w->in_pre ? "\n" : " ", 1) < 0) goto out;
            } else if (r == EL_TABLE) {
                if (htmldoc_flush(w) < 0 || htmldoc_table(w, n) < 0) goto out;
            } else if (r == EL_INLINE) {
                descend = n->children != NULL;
            } else if (n->children) {
                /* a block element: close the text before it, open its own */
                if (htmldoc_flush(w) < 0) goto out;
                if (depth == cap) {
                    cap *= 2;
                    hframe *ns = realloc(stack, cap * sizeof *ns);
                    if (!ns) goto out;
                    stack = ns;
                }
                stack[depth++] = (hframe){n, w->kind, w->level, w->in_pre};
                switch (r) {
                case EL_HEADING:
                    w->kind = BLOCK_HEADING;
                    w->level = level;
                    break;
                case EL_PARA: w->kind = BLOCK_PARA; break;
                case EL_LIST: w->kind = BLOCK_LIST; break;
                case EL_CODE:
                    w->kind = BLOCK_CODE;
                    w->in_pre = 1;
                    break;
                default:
                    /* a container inside a list item or heading keeps its kind */
                    if (w->kind != BLOCK_LIST && w->kind != BLOCK_HEADING && w->kind != BLOCK_CODE)
                        w->kind = BLOCK_PARA;
                }
                descend = 1;
            }
        }
        if (descend) {
            n = n->children;
            continue;
        }
        /* climb: close every block element we leave */
        while (n != root && !n->next) {
            n = n->parent;
            if (depth && stack[depth - 1].node == n) {
                if (htmldoc_flush(w) < 0) goto out;
                depth--;
                w->kind = stack[depth].kind;
                w->level = stack[depth].level;
                w->in_pre = stack[depth].in_pre;
            }
        }
        if (n == root) break;
        n = n->next;
    }
    rc = htmldoc_flush(w);
out:
    free(stack);
    return rc;
}

static char *htmldoc_title(xmlNode *root) {
    xmlNode *n = root;
    while (n) {
        if (n->type == XML_ELEMENT_NODE && !strcasecmp((const char *)n->name, "title")) {
            xmlChar *t = xmlNodeGetContent(n);
            if (!t) return NULL;
            size_t len = strlen((const char *)t), cn;
            char *clean = textclean_chars((const char *)t, len, &cn);
            xmlFree(t);
            if (clean) cn = textclean_collapse(clean, cn);
            if (clean && cn) return clean;
            free(clean);
            return NULL;
        }
        /* title lives in head: walk html > head only, never the body */
        if (n->type == XML_ELEMENT_NODE && (!strcasecmp((const char *)n->name, "html") ||
                                            !strcasecmp((const char *)n->name, "head")))
            n = n->children;
        else n = n->next;
    }
    return NULL;
}

int htmldoc_extract(const char *utf8, size_t len, json_t *blocks, htmldoc_info *info, char *err,
                    size_t errlen) {
    memset(info, 0, sizeof *info);
    if (len > INT32_MAX) {
        snprintf(err, errlen, "HTML larger than 2 GiB");
        return NZ_ELIMIT;
    }
    htmlParserCtxtPtr ctxt = htmlNewParserCtxt();
    if (!ctxt) {
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    htmlDocPtr doc =
        htmlCtxtReadMemory(ctxt, utf8, (int)len, NULL, "UTF-8",
                           HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                               HTML_PARSE_NONET | HTML_PARSE_COMPACT | HTML_PARSE_IGNORE_ENC);
    int rc = NZ_ELIMIT;
    hwalk w = {.blocks = blocks, .kind = BLOCK_PARA};
    const xmlError *xe = &ctxt->lastError;
    if (xe->message && strstr(xe->message, "Excessive depth")) {
        snprintf(err, errlen, "HTML nested deeper than libxml2's limit of 256 levels");
        goto out;
    }
    rc = NZ_EINVAL;
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        snprintf(err, errlen, "HTML has no document element");
        goto out;
    }
    xmlChar *lang = xmlGetProp(root, (const xmlChar *)"lang");
    if (!lang) lang = xmlGetNsProp(root, (const xmlChar *)"lang", XML_XML_NAMESPACE);
    if (lang) {
        lang_normalise((const char *)lang, info->lang, sizeof info->lang);
        xmlFree(lang);
    }
    info->title = htmldoc_title(root);
    if ((rc = htmldoc_walk(&w, root)) < 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (!info->title && w.first_h1) {
        info->title = w.first_h1;
        w.first_h1 = NULL;
    }
    rc = NZ_OK;
out:
    buf_free(&w.text);
    free(w.first_h1);
    if (doc) xmlFreeDoc(doc);
    htmlFreeParserCtxt(ctxt);
    return rc;
}
