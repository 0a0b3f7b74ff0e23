-- wrk script: POST /balance/update withdrawing 2 from user 1.
-- BENCH_PORTS="8081 8082 8083": wrk thread i talks to port number (i mod n), so that with as
-- many threads as ports every instance gets the same number of connections.
wrk.method = "POST"
wrk.body = '{"userId":1,"amount":-2}'
wrk.headers["Content-Type"] = "application/json"
-- A balance client's token (bench/balance.sh exports it): the balance API needs one.
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")

local addrs = nil
local next_thread = 0

function setup(thread)
  if addrs == nil then
    addrs = {}
    for port in string.gmatch(os.getenv("BENCH_PORTS") or "", "%d+") do
      table.insert(addrs, wrk.lookup("127.0.0.1", port)[1])
    end
  end
  if #addrs > 0 then
    thread.addr = addrs[(next_thread % #addrs) + 1]
  end
  next_thread = next_thread + 1
end

-- One machine-readable line: requests/s, p50 and p99 in ms, non-2xx answers, socket errors.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.1f %.2f %.2f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
