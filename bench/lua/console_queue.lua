-- console_queue: a signed-in moderator loads the console's queue page (the
-- first 25 open items for one service, rendered as HTML). The session
-- cookie holds a staff token, as the console's own sign-in sets it.
wrk.method = "GET"
wrk.path = BENCH.console_queue_path
wrk.headers["Cookie"] = "hamlet_console=" .. BENCH.token

-- Anything but the page itself (a redirect to sign in, a refusal) is a
-- failure, not a fast answer.
function response(status, headers, body)
  if status ~= 200 then
    graphql_errors = graphql_errors + 1
  end
end
