/* http.h -- nz-serve's transport: libmicrohttpd, bounded, logged.
 *
 * What each request gets is decided in route.h; this module receives it
 * (headers, URL parameters decoded by libmicrohttpd, a body cut at
 * max_body), hands it to route_handle, sends the answer with its headers,
 * and writes one access-log line when the request is done.
 *
 * The listening socket is opened here, without SO_REUSEPORT, so a second
 * server on a busy port fails at start ("port 8000 is already in use")
 * instead of splitting the traffic with the first.
 *
 * Bounds on the connections, each from an option:
 *   max_connections, max_per_ip  libmicrohttpd's connection limits: a
 *                    connection over them is closed at once, unanswered;
 *   idle_timeout     a connection with no traffic for that many seconds
 *                    is closed (half-open and idle keep-alive clients);
 *   request_timeout  a request must be received and answered within that
 *                    many seconds of the connection's start or of the
 *                    previous answer on it, however slowly its bytes come
 *                    (a client sending a byte a second); a sweeper thread
 *                    shuts such connections down (shutdown(2), so that
 *                    libmicrohttpd closes and frees them itself).
 * Requests run on libmicrohttpd's thread pool; http counts the requests in
 * flight so that SIGTERM can drain them.
 */
#ifndef NZ_HTTP_H
#define NZ_HTTP_H

#include "route.h"

typedef struct http_config {
    route_config route;
    unsigned port, threads;
    unsigned max_connections, max_per_ip;   /* 0 per IP: no per-IP limit */
    unsigned idle_timeout, request_timeout; /* seconds */
    int access_log;                         /* one JSON line per request (info level) */
} http_config;

typedef struct http_server http_server;

/* Listen and serve. cfg must outlive the server. NULL with err set when
 * the port cannot be had ("port N is already in use", "... permission
 * denied") or libmicrohttpd does not start. */
http_server *http_start(const http_config *cfg, char *err, size_t errlen);
unsigned http_port(const http_server *s); /* the bound port (for port 0) */
/* Stop accepting; requests already accepted go on. */
void http_quiesce(http_server *s);
long http_in_flight(void);
void http_stop(http_server *s); /* and free s */

#endif
