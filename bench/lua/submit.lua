-- submit: submitFeedback with a new idempotency key on every request, so each
-- one stores a row (a repeated key would be answered from the first receipt).
-- `thread_id` is set per thread by setup() in report.lua.

local counter = 0

function init(args)
  math.randomseed(os.time() + thread_id * 7919)
end

function request()
  counter = counter + 1
  local key = string.format("bench-%s-%d-%d-%d", BENCH.run_id, thread_id, counter,
    math.random(0, 999999999))
  return wrk.format("POST", "/graphql", { ["Content-Type"] = "application/json" },
    BENCH.submit_body_before .. key .. BENCH.submit_body_after)
end
