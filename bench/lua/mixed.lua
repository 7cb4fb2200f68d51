-- mixed: per request, 90% content GET, 9% submit, 1% moderator queue, the
-- shape of a day when partner websites, kiosks and moderators are all busy.
-- `thread_id` is set per thread by setup() in report.lua.

local counter = 0
local content_get, queue

function init(args)
  math.randomseed(os.time() + thread_id * 7919)
  -- The two fixed requests are formatted once.
  content_get = wrk.format("GET", BENCH.content_get_path)
  queue = wrk.format("POST", "/graphql", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. BENCH.token,
  }, BENCH.queue_body)
end

function request()
  local roll = math.random(1, 100)
  if roll <= 90 then
    return content_get
  elseif roll <= 99 then
    counter = counter + 1
    local key = string.format("bench-%s-m%d-%d-%d", BENCH.run_id, thread_id, counter,
      math.random(0, 999999999))
    return wrk.format("POST", "/graphql", { ["Content-Type"] = "application/json" },
      BENCH.submit_body_before .. key .. BENCH.submit_body_after)
  else
    return queue
  end
end
