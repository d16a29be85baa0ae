/* status.c -- see status.h. */
#include "status.h"

const char *nz_strerror(int status) {
    switch (status) {
    case NZ_OK: return "success";
    case NZ_EINVAL: return "input refused";
    case NZ_EIO: return "input/output error";
    case NZ_ENOMEM: return "out of memory";
    case NZ_ESTOPPED: return "stopped by a signal";
    case NZ_EUNAVAILABLE: return "remote service unavailable";
    case NZ_EDIM: return "wrong number of dimensions";
    case NZ_ENONFINITE: return "NaN or infinite number";
    case NZ_ECORRUPT: return "corrupt data";
    case NZ_ELIMIT: return "a configured limit was passed";
    case NZ_EBUSY: return "another process holds the lock";
    default: return "unknown status";
    }
}
