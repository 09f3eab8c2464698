-- wrk script of bench/bench_load.py: cycles over the paths in BENCH_PATHS (one a line)
-- with the headers in BENCH_HEADERS ("name<TAB>value" a line), counts every answer that
-- is not a 200 (wrk itself counts only >= 400), prints one JSON line at the end.
local paths, headers, threads = {}, {}, {}

for line in string.gmatch(os.getenv("BENCH_PATHS") or "/", "[^\n]+") do
  table.insert(paths, line)
end
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^([^\t]+)\t(.*)$")
  if name then headers[name] = value end
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  counter = math.random(#paths)
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1], headers)
end

function response(status, hdrs, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bad_status":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"timeout":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, b, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
