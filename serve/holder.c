/* holder.c -- see holder.h. */
#include "holder.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "publish.h"

struct held_snapshot {
    snapshot *s;
    int refs; /* the holder's own reference counts as one */
};

static struct {
    pthread_mutex_t lock;
    char *root;
    held_snapshot *cur;
    char *refused; /* name of the last snapshot that failed to load */
    unsigned long long reloads, failures;
} holder = {.lock = PTHREAD_MUTEX_INITIALIZER};

void holder_init(const char *root) { holder.root = strdup(root); }

static void holder_unref_locked(held_snapshot *h) {
    if (--h->refs == 0) {
        snapshot_close(h->s);
        free(h);
    }
}

held_snapshot *holder_acquire(void) {
    pthread_mutex_lock(&holder.lock);
    held_snapshot *h = holder.cur;
    if (h) h->refs++;
    pthread_mutex_unlock(&holder.lock);
    return h;
}

const snapshot *holder_snapshot(const held_snapshot *h) { return h->s; }

void holder_release(held_snapshot *h) {
    if (!h) return;
    pthread_mutex_lock(&holder.lock);
    holder_unref_locked(h);
    pthread_mutex_unlock(&holder.lock);
}

int holder_check(int force) {
    if (!holder.root) return 0;
    char *name = root_current(holder.root);
    if (!name) { /* maybe ROOT is itself a snapshot directory */
        char err[64];
        char *dir = snapshot_resolve(holder.root, err, sizeof err);
        if (dir) {
            const char *b = strrchr(dir, '/');
            name = strdup(b ? b + 1 : dir);
            free(dir);
        }
        if (!name) return 0;
    }
    pthread_mutex_lock(&holder.lock);
    int same = holder.cur && strcmp(holder.cur->s->name, name) == 0;
    int refused = !force && holder.refused && strcmp(holder.refused, name) == 0;
    pthread_mutex_unlock(&holder.lock);
    if (same || refused) {
        free(name);
        return 0;
    }

    char err[512];
    snapshot *s = snapshot_open(holder.root, err, sizeof err);
    if (s && strcmp(s->name, name) != 0) { /* current moved meanwhile: next tick */
        snapshot_close(s);
        free(name);
        return 0;
    }
    if (s && snapshot_verify(s, err, sizeof err) < 0) {
        snapshot_close(s);
        s = NULL;
    }
    held_snapshot *h = s ? malloc(sizeof *h) : NULL;
    if (!h) {
        if (s) snprintf(err, sizeof err, "out of memory");
        snapshot_close(s);
        log_error("refusing snapshot %s: %s", name, err);
        pthread_mutex_lock(&holder.lock);
        free(holder.refused);
        holder.refused = name;
        holder.failures++;
        pthread_mutex_unlock(&holder.lock);
        return -1;
    }
    h->s = s;
    h->refs = 1;
    pthread_mutex_lock(&holder.lock);
    held_snapshot *old = holder.cur;
    holder.cur = h;
    holder.reloads++;
    free(holder.refused);
    holder.refused = NULL;
    if (old) holder_unref_locked(old);
    pthread_mutex_unlock(&holder.lock);
    log_fields(LOG_INFO, "snapshot loaded",
               json_pack("{s:s,s:I,s:i,s:s}", "snapshot", s->name, "count", (json_int_t)s->count,
                         "dim", (int)s->dim, "model", s->model));
    free(name);
    return 1;
}

void holder_info(stats_index_info *info, char *name_buf, size_t name_len) {
    memset(info, 0, sizeof *info);
    info->age_seconds = -1;
    pthread_mutex_lock(&holder.lock);
    if (holder.cur) {
        snprintf(name_buf, name_len, "%s", holder.cur->s->name);
        info->snapshot = name_buf;
        info->count = holder.cur->s->count;
        if (holder.cur->s->created > 0)
            info->age_seconds = (double)time(NULL) - holder.cur->s->created;
    }
    info->reloads = holder.reloads;
    info->reload_failures = holder.failures;
    pthread_mutex_unlock(&holder.lock);
}

void holder_shutdown(void) {
    pthread_mutex_lock(&holder.lock);
    if (holder.cur) holder_unref_locked(holder.cur);
    holder.cur = NULL;
    free(holder.refused);
    holder.refused = NULL;
    free(holder.root);
    holder.root = NULL;
    pthread_mutex_unlock(&holder.lock);
}
