/* holder.c -- see holder.h. */
#include "holder.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "publish.h"
#include "status.h"

struct held_snapshot {
    snapshot *s;
    int refs; /* the holder's own reference counts as one */
};

static struct {
    pthread_mutex_t lock;
    char *root;
    held_snapshot *cur;
    char *refused;         /* name of the last snapshot that failed to load */
    char refused_why[512]; /* and why */
    /* holder_expect's; "" = any (names longer than this never match) */
    char want_provider[128], want_model[256];
    unsigned long long reloads, failures;
    unsigned long gen; /* changes with cur or refused (holder_generation) */
} holder = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* With holder.lock held, after cur or refused changed. */
static void holder_changed_locked(void) { __atomic_add_fetch(&holder.gen, 1, __ATOMIC_RELEASE); }

unsigned long holder_generation(void) { return __atomic_load_n(&holder.gen, __ATOMIC_ACQUIRE); }

void holder_init(const char *root) { holder.root = strdup(root); }

void holder_expect(const char *provider, const char *model) {
    pthread_mutex_lock(&holder.lock);
    snprintf(holder.want_provider, sizeof holder.want_provider, "%s", provider ? provider : "");
    snprintf(holder.want_model, sizeof holder.want_model, "%s", model ? model : "");
    pthread_mutex_unlock(&holder.lock);
}

int holder_refused(char *name, size_t namelen, char *reason, size_t reasonlen) {
    pthread_mutex_lock(&holder.lock);
    int refused = holder.refused != NULL;
    if (refused) {
        snprintf(name, namelen, "%s", holder.refused);
        snprintf(reason, reasonlen, "%s", holder.refused_why);
    }
    pthread_mutex_unlock(&holder.lock);
    return refused;
}

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

/* The name of the snapshot INDEX_PATH/current names (or of ROOT itself
 * when it is a snapshot directory); malloc'd, or NULL. */
static char *holder_candidate(void) {
    char *name = root_current(holder.root);
    if (name) return name;
    char err[64];
    char *dir = snapshot_resolve(holder.root, err, sizeof err);
    if (!dir) return NULL;
    const char *b = strrchr(dir, '/');
    name = strdup(b ? b + 1 : dir);
    free(dir);
    return name;
}

/* NZ_OK when s was embedded as holder_expect asked; else NZ_EINVAL with
 * both sides in err. */
static int holder_embedder_ok(const snapshot *s, char *err, size_t errlen) {
    char wp[sizeof holder.want_provider], wm[sizeof holder.want_model];
    pthread_mutex_lock(&holder.lock);
    memcpy(wp, holder.want_provider, sizeof wp);
    memcpy(wm, holder.want_model, sizeof wm);
    pthread_mutex_unlock(&holder.lock);
    const char *sp = s->provider ? s->provider : "", *sm = s->model ? s->model : "";
    if ((!*wp || strcmp(wp, sp) == 0) && (!*wm || strcmp(wm, sm) == 0)) return NZ_OK;
    snprintf(err, errlen,
             "embedder mismatch: the snapshot was embedded with %s/%s, this server expects "
             "EMBEDDING_PROVIDER=%s EMBEDDING_MODEL=%s",
             sp, sm, *wp ? wp : "(any)", *wm ? wm : "(any)");
    return NZ_EINVAL;
}

/* Keep name (owned) as the newest refusal; returns rc. */
static int holder_refuse(char *name, int rc, const char *why) {
    log_error("refusing snapshot %s: %s", name, why);
    pthread_mutex_lock(&holder.lock);
    free(holder.refused);
    holder.refused = name;
    snprintf(holder.refused_why, sizeof holder.refused_why, "%s", why);
    holder.failures++;
    holder_changed_locked();
    pthread_mutex_unlock(&holder.lock);
    return rc;
}

int holder_check(int force) {
    if (!holder.root) return 0;
    char *name = holder_candidate();
    if (!name) return 0;
    pthread_mutex_lock(&holder.lock);
    int same = holder.cur && strcmp(holder.cur->s->name, name) == 0;
    int refused = !force && holder.refused && strcmp(holder.refused, name) == 0;
    if (same && holder.refused) { /* `current` is back on what we serve: nothing is refused */
        free(holder.refused);
        holder.refused = NULL;
        holder_changed_locked();
    }
    pthread_mutex_unlock(&holder.lock);
    if (same || refused) {
        free(name);
        return 0;
    }

    char err[480], why[512];
    snapshot *s = snapshot_open(holder.root, err, sizeof err);
    if (!s) {
        snprintf(why, sizeof why, "cannot open: %s", err);
        return holder_refuse(name, NZ_ECORRUPT, why);
    }
    if (strcmp(s->name, name) != 0) { /* current moved meanwhile: next tick */
        snapshot_close(s);
        free(name);
        return 0;
    }
    held_snapshot *h = NULL;
    int rc = holder_embedder_ok(s, why, sizeof why);
    if (rc == NZ_OK && (rc = snapshot_verify(s, err, sizeof err)) < 0) {
        /* the file's name without INDEX_PATH: /health shows the reason */
        size_t dl = strlen(s->dir);
        const char *e = strncmp(err, s->dir, dl) == 0 && err[dl] == '/' ? err + dl + 1 : err;
        const char *kind = rc == NZ_EIO ? "unreadable" : "corrupt";
        snprintf(why, sizeof why, "%s: %s", rc == NZ_ENOMEM ? "cannot verify" : kind, e);
    }
    if (rc == NZ_OK && !(h = malloc(sizeof *h))) {
        rc = NZ_ENOMEM;
        snprintf(why, sizeof why, "out of memory");
    }
    if (rc < 0) {
        snapshot_close(s);
        return holder_refuse(name, rc, why);
    }
    h->s = s;
    h->refs = 1;
    pthread_mutex_lock(&holder.lock);
    held_snapshot *old = holder.cur;
    holder.cur = h;
    holder.reloads++;
    free(holder.refused);
    holder.refused = NULL;
    holder_changed_locked();
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
    holder_changed_locked();
    free(holder.root);
    holder.root = NULL;
    holder.want_provider[0] = holder.want_model[0] = '\0';
    pthread_mutex_unlock(&holder.lock);
}
