/* xmldoc.c -- see xmldoc.h. */
#include "xmldoc.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blocks.h"
#include "lang.h"
#include "status.h"
#include "textclean.h"

static int xmldoc_is_heading(const xmlNode *n) {
    static const char *const names[] = {"title", "heading", "head", "caption", "subject",
                                        "judul", "h1",      "h2",   "h3",      "h4",
                                        "h5",    "h6",      NULL};
    for (int i = 0; names[i]; i++)
        if (!strcasecmp((const char *)n->name, names[i])) return 1;
    return 0;
}

static int xmldoc_has_own_text(const xmlNode *n) {
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) continue;
        for (const xmlChar *t = c->content; t && *t; t++)
            if (*t != ' ' && *t != '\n' && *t != '\t' && *t != '\r') return 1;
    }
    return 0;
}

static int xmldoc_add(json_t *blocks, const xmlNode *n, block_kind kind, int level, char **first) {
    xmlChar *t = xmlNodeGetContent(n);
    if (!t) return NZ_OK;
    size_t len = strlen((const char *)t), cn;
    char *clean = textclean_chars((const char *)t, len, &cn);
    xmlFree(t);
    if (!clean) return NZ_ENOMEM;
    cn = textclean_collapse(clean, cn);
    int rc = blocks_add(blocks, kind, level, 0, clean, cn);
    if (kind == BLOCK_HEADING && first && !*first && cn) *first = strndup(clean, cn);
    free(clean);
    return rc;
}

int xmldoc_extract(const char *data, size_t len, json_t *blocks, xmldoc_info *info, char *err,
                   size_t errlen) {
    memset(info, 0, sizeof *info);
    if (len > INT32_MAX) {
        snprintf(err, errlen, "XML larger than 2 GiB");
        return NZ_ELIMIT;
    }
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        snprintf(err, errlen, "out of memory");
        return NZ_ENOMEM;
    }
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    int rc = NZ_EINVAL;
    if (!doc) {
        const xmlError *xe = &ctxt->lastError;
        snprintf(err, errlen, "malformed XML: line %d: %s", xe->line,
                 xe->message ? xe->message : "parse error");
        size_t n = strlen(err);
        while (n && err[n - 1] == '\n') err[--n] = '\0';
        goto out;
    }
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!root) {
        snprintf(err, errlen, "XML has no document element");
        goto out;
    }
    xmlChar *lang = xmlGetNsProp(root, (const xmlChar *)"lang", XML_XML_NAMESPACE);
    if (lang) {
        lang_normalise((const char *)lang, info->lang, sizeof info->lang);
        xmlFree(lang);
    }
    /* iterative pre-order walk with depth tracking */
    xmlNode *n = root;
    int depth = 1;
    rc = NZ_OK;
    for (;;) {
        int descend = 0;
        if (n->type == XML_ELEMENT_NODE) {
            if (xmldoc_is_heading(n)) {
                int level = depth - 1 < 1 ? 1 : depth - 1 > 6 ? 6 : depth - 1;
                rc = xmldoc_add(blocks, n, BLOCK_HEADING, level, &info->title);
            } else if (xmldoc_has_own_text(n)) {
                rc = xmldoc_add(blocks, n, BLOCK_PARA, 0, NULL);
            } else {
                descend = n->children != NULL;
            }
            if (rc < 0) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
        }
        if (descend) {
            n = n->children;
            depth++;
            continue;
        }
        while (n != root && !n->next) {
            n = n->parent;
            depth--;
        }
        if (n == root) break;
        n = n->next;
    }
out:
    if (doc) xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}
