-- wrk script for bench/ingest.py: replays pre-built raw HTTP requests, each sent at most once, and
-- records the order of every request answered 200.
--
--   wrk -tN -cN ... -s bench/ingest.lua URL -- RECORDS_PREFIX ACKED_PATH
--
-- One thread per connection (-t equal to -c): a thread's one connection has one request in
-- flight, so the response() hook knows which request it answers. Thread i replays the file
-- RECORDS_PREFIX.i, records "<order id> <byte length>\n<raw HTTP/1.1 request>". When a thread
-- has sent all of its records it starts again from its first and counts the wrap: a repeated
-- webhook is a duplicate for the app (less work), so the benchmark measures an app's round with
-- wraps again, with more records. done() writes the order ids answered 200 to ACKED_PATH, one per line, and prints one
-- line, "RESULT key=value ...".

local threads = {}
local next_id = 0

function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

local records = {}
local orders = {}
local position = 0
local current = nil
wraps = 0
acked = {}
acked_path = nil

function init(args)
    acked_path = args[2]
    local file = assert(io.open(args[1] .. "." .. id, "rb"))
    local data = file:read("*a")
    file:close()
    local cursor = 1
    while cursor <= #data do
        local space = data:find(" ", cursor, true)
        local newline = data:find("\n", space, true)
        local length = tonumber(data:sub(space + 1, newline - 1))
        orders[#orders + 1] = data:sub(cursor, space - 1)
        records[#records + 1] = data:sub(newline + 1, newline + length)
        cursor = newline + 1 + length
    end
end

function request()
    position = position + 1
    if position > #records then
        position = 1
        wraps = wraps + 1
    end
    current = orders[position]
    return records[position]
end

function response(status, headers, body)
    if status == 200 then
        acked[#acked + 1] = current
    end
end

function done(summary, latency, requests)
    local wrapped = 0
    local out = assert(io.open(threads[1]:get("acked_path"), "wb"))
    for _, thread in ipairs(threads) do
        wrapped = wrapped + thread:get("wraps")
        for _, order in ipairs(thread:get("acked")) do
            out:write(order, "\n")
        end
    end
    out:close()
    local errors = summary.errors
    io.write(string.format(
        "RESULT requests=%d duration_us=%d status_errors=%d connect_errors=%d read_errors=%d "
            .. "write_errors=%d timeouts=%d p50_us=%d p99_us=%d max_us=%d wraps=%d\n",
        summary.requests, summary.duration, errors.status, errors.connect, errors.read,
        errors.write, errors.timeout, latency:percentile(50), latency:percentile(99),
        latency.max, wrapped
    ))
end
