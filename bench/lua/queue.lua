-- queue: a signed-in moderator reads the first page of new feedback for one
-- service.
wrk.method = "POST"
wrk.path = "/graphql"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. BENCH.token
wrk.body = BENCH.queue_body
