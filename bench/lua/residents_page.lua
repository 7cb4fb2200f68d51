-- residents_page: a resident opens the feedback page (the Friends and Family
-- Test question and the services to choose from, rendered as HTML with a
-- fresh idempotency key in its form), as a phone would, without a session.
wrk.method = "GET"
wrk.path = BENCH.residents_page_path

-- Anything but the page itself is a failure, not a fast answer.
function response(status, headers, body)
  if status ~= 200 then
    graphql_errors = graphql_errors + 1
  end
end
