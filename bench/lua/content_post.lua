-- content, POST: the same page query as a JSON POST, as a browser app sends it.
wrk.method = "POST"
wrk.path = "/graphql"
wrk.headers["Content-Type"] = "application/json"
wrk.body = BENCH.content_post_body
