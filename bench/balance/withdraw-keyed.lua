-- wrk script: as withdraw.lua, but each request with an Idempotency-Key of its own (never a
-- replay), so that every withdrawal also locks, checks and stores its key.
dofile(os.getenv("BENCH_DIR") .. "/withdraw.lua")

local spread = setup
local threads = 0

function setup(thread)
  spread(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local counter = 0
local prefix = nil

function request()
  if prefix == nil then
    prefix = string.format("bench-%d-%d-", os.time(), thread_id)
  end
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = prefix .. counter
  return wrk.format()
end
