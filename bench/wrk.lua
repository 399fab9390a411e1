-- wrk script for the harness (bench/load.py).
--
-- BENCH_REQUESTS names a file with one request per line: "METHOD PATH [BODY_FILE]".
-- Each connection cycles through the lines in order, so a file of nine GETs and one PUT is a
-- 90/10 mixed workload. Bodies are sent as application/json. done() prints one line,
-- "BENCH {json}", with the counts and latency percentiles in microseconds.

local requests = {}
local index = 0

local function read_file(name)
  local handle = assert(io.open(name, "rb"))
  local data = handle:read("*a")
  handle:close()
  return data
end

function init(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local method, path, body_file = line:match("^(%S+)%s+(%S+)%s*(%S*)$")
    if method then
      local headers = {}
      local body = nil
      if body_file ~= "" then
        body = read_file(body_file)
        headers["Content-Type"] = "application/json"
      end
      requests[#requests + 1] = wrk.format(method, path, headers, body)
    end
  end
  -- Threads start at different offsets so a mix is spread over time.
  index = math.random(0, #requests - 1)
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, requests_)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
