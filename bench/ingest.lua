-- wrk script for bench/ingest.py: replays pre-built raw HTTP requests, each sent at most once.
--
--   wrk ... -s bench/ingest.lua URL -- REQUESTS_FILE THREADS
--
-- REQUESTS_FILE holds records "<byte length>\n<raw HTTP/1.1 request>". Thread i of THREADS takes
-- records i, i+THREADS, ... When a thread has sent all of its records it starts again from its
-- first and counts the wrap: a repeated webhook is a duplicate for the app (less work), so the
-- benchmark refuses a round with wraps. done() prints one line, "RESULT key=value ...".

local threads = {}
local next_id = 0

function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

local records = {}
local position = 0
wraps = 0

function init(args)
    local path, count = args[1], tonumber(args[2])
    local file = assert(io.open(path, "rb"))
    local data = file:read("*a")
    file:close()
    local index, cursor = 0, 1
    while cursor <= #data do
        local newline = data:find("\n", cursor, true)
        local length = tonumber(data:sub(cursor, newline - 1))
        if index % count == id then
            records[#records + 1] = data:sub(newline + 1, newline + length)
        end
        index = index + 1
        cursor = newline + 1 + length
    end
end

function request()
    position = position + 1
    if position > #records then
        position = 1
        wraps = wraps + 1
    end
    return records[position]
end

function done(summary, latency, requests)
    local wrapped = 0
    for _, thread in ipairs(threads) do
        wrapped = wrapped + thread:get("wraps")
    end
    local errors = summary.errors
    io.write(string.format(
        "RESULT requests=%d duration_us=%d status_errors=%d connect_errors=%d read_errors=%d "
            .. "write_errors=%d timeouts=%d p50_us=%d p99_us=%d max_us=%d wraps=%d\n",
        summary.requests, summary.duration, errors.status, errors.connect, errors.read,
        errors.write, errors.timeout, latency:percentile(50), latency:percentile(99),
        latency.max, wrapped
    ))
end
