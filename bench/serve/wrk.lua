-- wrk.lua -- bench/serve's one wrk script, set by environment variables:
--
--   NZ_WRK_PATH    the path (default /health)
--   NZ_WRK_BODIES  a file of request bodies, one a line: each request POSTs
--                  the next one (each thread starts at another line), as
--                  application/json; unset: GET
--   NZ_WRK_RATE    total requests/s over all threads and connections; unset
--                  or 0: as fast as the connections go
--   NZ_WRK_OUT     a file the summary goes to as one JSON line (done hook)
--
-- Pacing: Debian's wrk (4.1) has no -R, so the delay() hook paces. Each
-- thread owns an equal share of the rate and a schedule of send times
-- (interval = threads / rate); every request a connection is about to send
-- takes the next slot of its thread's schedule and waits until it
-- (CLOCK_MONOTONIC through LuaJIT's ffi). Connections are many more than the
-- rate needs at the server's latency, so the schedule, not the replies,
-- sets the rate; when the server falls behind, slots in the past are sent at
-- once (latency is then measured from the actual send, so a stall is
-- under-counted: coordinated omission, bounded by the connections' count).
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } nz_timespec;
int clock_gettime(int clk, nz_timespec *ts);
]]
local ts = ffi.new("nz_timespec")
local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local path = os.getenv("NZ_WRK_PATH") or "/health"
local bodies_file = os.getenv("NZ_WRK_BODIES")
if bodies_file == "" then bodies_file = nil end
local rate = tonumber(os.getenv("NZ_WRK_RATE") or "0") or 0
local out = os.getenv("NZ_WRK_OUT")

local threads = {}
local nthreads = 0

function setup(thread)
    thread:set("id", nthreads)
    nthreads = nthreads + 1
    table.insert(threads, thread)
end

local bodies, nb, pos, get = {}, 0, 1, nil
local interval, next_slot = 0, nil
local headers = {["Content-Type"] = "application/json"}

-- Each request is formatted once, here, not at each send: with one
-- connection the client's own work per request is on the measured path
-- (wrk.format of an 8 KB base64 body cost more than a microsecond).
function init(args)
    if bodies_file then
        for line in io.lines(bodies_file) do
            nb = nb + 1
            bodies[nb] = wrk.format("POST", path, headers, line)
        end
        if nb == 0 then error("no request bodies in " .. bodies_file) end
        pos = (id * 7919) % nb + 1
    else
        get = wrk.format("GET", path)
    end
    if rate > 0 then interval = 1000 * tonumber(os.getenv("NZ_WRK_THREADS") or "1") / rate end
end

function request()
    if nb == 0 then return get end
    local r = bodies[pos]
    pos = pos % nb + 1
    return r
end

if rate > 0 then
    function delay()
        local t = now_ms()
        if not next_slot or next_slot < t - 1000 then next_slot = t end
        next_slot = next_slot + interval
        local d = next_slot - t
        if d < 0 then return 0 end
        return d
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    local line = string.format(
        '{"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,' ..
        '"max_ms":%.3f,"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}\n',
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(90) / 1000,
        latency:percentile(99) / 1000, latency.max / 1000, e.connect, e.read, e.write,
        e.timeout, e.status)
    if out then
        local f = assert(io.open(out, "w"))
        f:write(line)
        f:close()
    else
        io.write(line)
    end
end
