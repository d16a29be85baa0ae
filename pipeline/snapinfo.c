/* snapinfo.c -- see snapinfo.h. */
#include "snapinfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publish.h"

long long snapinfo_label(const snapshot *s) {
    json_t *labels = json_object_get(json_object_get(s->manifest, "build"), "labels");
    const char *v = json_string_value(json_object_get(labels, "run"));
    return v ? atoll(v) : -1;
}

json_t *snapinfo_chunk_map(const snapshot *s) {
    json_t *map = json_object();
    for (uint64_t row = 0; map && row < s->count; row++) {
        snapshot_chunk c;
        if (snapshot_chunk_get(s, row, &c) < 0) continue;
        char doc[128];
        snprintf(doc, sizeof doc, "%.*s", (int)c.len[NZI_F_DOC_ID], c.f[NZI_F_DOC_ID]);
        json_t *ids = json_object_get(map, doc);
        if (!ids && json_object_set_new(map, doc, ids = json_array()) < 0) ids = NULL;
        if (!ids || json_array_append_new(
                        ids, json_stringn(c.f[NZI_F_CHUNK_ID], c.len[NZI_F_CHUNK_ID])) < 0) {
            json_decref(map);
            return NULL;
        }
    }
    return map;
}

char *snapinfo_chunk_ids(void *ctx, const char *doc_id) {
    json_t *ids = ctx ? json_object_get(ctx, doc_id) : NULL;
    return ids ? json_dumps(ids, JSON_COMPACT) : strdup("[]");
}

char *snapinfo_carry_base(catalog *cat, const char *root) {
    char err[256];
    char *cur = root_current(root);
    snapshot *s = cur ? snapshot_open(root, err, sizeof err) : NULL;
    long long label = s ? snapinfo_label(s) : -1;
    char *snap = label > 0 ? catalog_run_snapshot(cat, label) : NULL;
    int ok = snap && cur && strcmp(snap, cur) == 0;
    free(snap);
    snapshot_close(s);
    if (!ok) {
        free(cur);
        return NULL;
    }
    return cur;
}
