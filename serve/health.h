/* health.h -- the database check behind GET /health.
 *
 * DATABASE_URL's reachability, asked with PQpingParams (which never puts
 * the connection string or password in a message) and cached for
 * HEALTH_CACHE_SECONDS so that a health probe storm makes one ping, not
 * one per request. Thread-safe: a fresh answer is read without a lock, and
 * while one thread pings, the others answer with the last status rather
 * than wait for the ping (connect_timeout 2 s).
 */
#ifndef NZ_HEALTH_H
#define NZ_HEALTH_H

#define HEALTH_CACHE_SECONDS 10

/* "not_configured" when url is NULL; else "ok", "rejecting", "unreachable"
 * (a static string). The first url given is the one that is pinged. */
const char *health_database(const char *url);

#endif
