-- content, GET: the page query in the URL, as a CDN or a partner website
-- fetches it (no If-None-Match, so every answer is a full 200).
wrk.method = "GET"
wrk.path = BENCH.content_get_path
