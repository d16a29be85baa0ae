/* nz.h -- constants every nz-* binary shares: version, exit codes, limits. */
#ifndef NZ_H
#define NZ_H

#define NZ_VERSION "0.1.0"

/* Exit codes (DESIGN.md). */
enum {
    NZ_EXIT_OK = 0,       /* success */
    NZ_EXIT_FAIL = 1,     /* failure: output not to be trusted */
    NZ_EXIT_USAGE = 2,    /* usage error */
    NZ_EXIT_REJECTED = 3, /* finished, but some inputs were rejected */
};

#define NZ_UNUSED(x) ((void)(x))

#endif
