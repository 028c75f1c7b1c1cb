-- wrk script of the benchmark: one request shape per run, configured by the environment.
--   BENCH_TOKEN      bearer token (required)
--   BENCH_METHOD     GET (default) or POST
--   BENCH_BODY_FILE  file with the JSON body of a POST; "{{THREAD}}" in it becomes the wrk thread number
--   BENCH_OUT        where done() writes the summary as JSON
-- Every connection runs in its own thread (wrk -t N -c N), so a POST body can differ per connection.

local token = os.getenv("BENCH_TOKEN")
local method = os.getenv("BENCH_METHOD") or "GET"
local body_file = os.getenv("BENCH_BODY_FILE")
local out_file = os.getenv("BENCH_OUT")

local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = method
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Accept"] = "application/json"
  if body_file and body_file ~= "" then
    local f = assert(io.open(body_file, "r"))
    local body = f:read("*a")
    f:close()
    wrk.body = string.gsub(body, "{{THREAD}}", tostring(tid))
    wrk.headers["Content-Type"] = "application/json"
  end
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local codes = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    if s then
      for code, n in pairs(s) do
        codes[code] = (codes[code] or 0) + n
      end
    end
  end
  local parts = {}
  for code, n in pairs(codes) do
    table.insert(parts, string.format('"%d": %d', code, n))
  end
  local e = summary.errors
  local json = string.format(
    '{"duration_us": %d, "requests": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p99": %d, "stdev": %.1f}, ' ..
    '"status_codes": {%s}}',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.stdev,
    table.concat(parts, ", "))
  if out_file and out_file ~= "" then
    local f = assert(io.open(out_file, "w"))
    f:write(json .. "\n")
    f:close()
  else
    io.write(json .. "\n")
  end
end
