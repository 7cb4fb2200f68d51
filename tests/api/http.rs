//! The HTTP edge: GET and POST, caching, refusals, limits, health and metrics.

use serde_json::{Value, json};

use crate::helpers::{Seed, TestApp, first_error_code, headers};

const VISION: &str = "query Vision { page(slug: \"vision-and-purpose\") { title version } }";

#[tokio::test]
async fn a_query_can_be_sent_with_get() {
    let app = TestApp::spawn().await;
    let response = app
        .get(
            &[
                ("query", "query P($s: String!) { page(slug: $s) { slug } }"),
                ("variables", "{\"s\": \"vision-and-purpose\"}"),
                ("operationName", "P"),
            ],
            headers(&[]),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["page"]["slug"], "vision-and-purpose");
}

#[tokio::test]
async fn a_mutation_sent_with_get_is_refused_with_405() {
    let app = TestApp::spawn().await;
    let response = app
        .get(
            &[("query", "mutation { submitFeedback { reference } }")],
            headers(&[]),
        )
        .await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "METHOD_NOT_ALLOWED");

    // Also when the mutation is picked by name from a document with a query.
    let response = app
        .get(
            &[
                ("query", "query A { services { slug } } mutation B { x }"),
                ("operationName", "B"),
            ],
            headers(&[]),
        )
        .await;
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn a_browser_get_without_a_query_gets_the_query_page_under_a_strict_policy() {
    let app = TestApp::spawn().await;
    let response = app
        .get(
            &[],
            headers(&[("accept", "text/html,application/xhtml+xml")]),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let page = response.text().await.unwrap();
    assert!(page.contains("<label for=\"query\">"), "{page}");
    assert!(!page.contains("https://"), "nothing from elsewhere: {page}");

    // Its script and style sheet, under content-hashed names, kept for a year.
    let files: Vec<&str> = page
        .split("\"/graphql/assets/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for file in files {
        let response = app
            .client
            .get(app.url(&format!("/graphql/assets/{file}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{file}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let media = if file.ends_with(".js") {
            "text/javascript"
        } else {
            "text/css"
        };
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(media),
            "{file}"
        );
    }
    let response = app
        .client
        .get(app.url("/graphql/assets/query.0000000000000000.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // A client that is not a browser still gets the API's answer.
    let response = app
        .get(&[], headers(&[("accept", "application/json")]))
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "BAD_REQUEST");
}

#[tokio::test]
async fn graphiql_stays_at_its_own_address_and_the_sdl_is_served() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/graphiql")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("graphiql"), "GraphiQL page");

    let response = app
        .client
        .get(app.url("/schema.graphql"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let sdl = response.text().await.unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(sdl.trim_end(), committed.trim_end());
}

#[tokio::test]
async fn public_content_carries_cache_control_and_an_etag() {
    let app = TestApp::spawn().await;
    let response = app.get(&[("query", VISION)], headers(&[])).await;
    assert_eq!(response.status(), 200);
    let cache_control = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(cache_control, "public, max-age=60");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    // The same answer has the same validator, over GET or POST.
    let again = app.get(&[("query", VISION)], headers(&[])).await;
    assert_eq!(again.headers()["etag"], etag.as_str());
    let posted = app.post(VISION, json!({})).await;
    assert_eq!(posted.headers()["etag"], etag.as_str());

    // A different answer has a different one.
    let other = app
        .get(&[("query", "{ services { slug } }")], headers(&[]))
        .await;
    assert_ne!(other.headers()["etag"], etag.as_str());
}

#[tokio::test]
async fn a_matching_if_none_match_gets_304_without_a_body() {
    let app = TestApp::spawn().await;
    let first = app.get(&[("query", VISION)], headers(&[])).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();

    let response = app
        .get(&[("query", VISION)], headers(&[("if-none-match", &etag)]))
        .await;
    assert_eq!(response.status(), 304);
    assert_eq!(response.headers()["etag"], etag.as_str());
    assert!(response.bytes().await.unwrap().is_empty());

    // In a list, and weak, still matches.
    let list = format!("\"other\", W/{etag}");
    let response = app
        .get(&[("query", VISION)], headers(&[("if-none-match", &list)]))
        .await;
    assert_eq!(response.status(), 304);

    // A stale validator gets the full answer.
    let response = app
        .get(
            &[("query", VISION)],
            headers(&[("if-none-match", "\"stale\"")]),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["page"]["title"], "Our vision and purpose");
}

#[tokio::test]
async fn answers_with_errors_are_not_cached() {
    let app = TestApp::spawn().await;
    let response = app
        .get(
            &[("query", "{ page(slug: \"Not A Slug\") { title } }")],
            headers(&[]),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.headers().get("etag").is_none());
}

#[tokio::test]
async fn a_post_that_is_not_json_is_415() {
    let app = TestApp::spawn().await;
    // What a cross-site HTML form can send.
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query={services{slug}}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test]
async fn malformed_json_is_400_with_a_code() {
    let app = TestApp::spawn().await;
    for body in ["{\"query\": ", "not json", "{\"variables\": {}}", "42", ""] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body:?}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(first_error_code(&answer), "BAD_REQUEST", "{body:?}");
    }
}

#[tokio::test]
async fn batches_are_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!([{ "query": "{ services { slug } }" }, { "query": "{ services { slug } }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.max_body_bytes = 1024).await;
    let padding = "x".repeat(2048);
    let response = app
        .post(&format!("{{ services {{ slug }} }} # {padding}"), json!({}))
        .await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "PAYLOAD_TOO_LARGE");

    // Without a Content-Length the limit still holds.
    let chunks = futures_util::stream::iter(
        (0..8).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 512]))),
    );
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn a_query_too_deep_is_refused_before_any_work() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.max_depth = 3).await;
    let body = app
        .graphql(
            "{ pages { edges { node { media { title } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX");
    assert!(body["data"].is_null());
}

#[tokio::test]
async fn a_query_too_costly_is_refused() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| config.max_complexity = 50).await;
    // Fifty pages of several fields each weighs far more than 50.
    let body = app
        .graphql(
            "{ pages(first: 50) { edges { node { title body bodyHtml slug } } } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), "QUERY_TOO_COMPLEX");
    // A small page of the same shape is fine.
    let body = app
        .graphql(
            "{ pages(first: 2) { edges { node { title body bodyHtml slug } } } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn broken_queries_get_codes() {
    let app = TestApp::spawn().await;
    let body = app.graphql("{ services { slug ", json!({})).await;
    assert_eq!(first_error_code(&body), "GRAPHQL_PARSE_FAILED");
    let body = app.graphql("{ services { noSuchField } }", json!({})).await;
    assert_eq!(first_error_code(&body), "GRAPHQL_VALIDATION_FAILED");
    let body = app
        .graphql(
            "query($n: Int) { pages(first: $n) { totalCount } }",
            json!({ "n": "many" }),
        )
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn errors_leak_no_internals() {
    let app = TestApp::spawn().await;
    for (query, variables) in [
        ("{ search(text: \"\\\" OR 1=1 --\") { slug } }", json!({})),
        (
            "query($s: String!) { page(slug: $s) { title } }",
            json!({ "s": "x'; DROP TABLE page; --" }),
        ),
    ] {
        let text = app.post(query, variables).await.text().await.unwrap();
        for secret in ["sqlx", "SELECT", "sqlite", "postgres", "panicked", "src/"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    // And the content is still there.
    let data = app.data(VISION, json!({})).await;
    assert_eq!(data["page"]["title"], "Our vision and purpose");
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn metrics_count_requests_by_operation_and_errors_by_code() {
    let app = TestApp::spawn().await;
    app.data(VISION, json!({})).await;
    app.data(VISION, json!({})).await;
    app.graphql("{ page(slug: \"Bad Slug\") { title } }", json!({}))
        .await;
    let text = app.metrics().await;
    assert!(
        text.contains("hamlet_graphql_requests_total{operation=\"Vision\",type=\"query\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("hamlet_graphql_request_duration_seconds_bucket{operation=\"Vision\""),
        "{text}"
    );
    assert!(
        text.contains("hamlet_graphql_errors_total{code=\"BAD_USER_INPUT\"} 1"),
        "{text}"
    );
    assert!(text.contains("hamlet_db_pool_connections_open"), "{text}");
    assert!(text.contains("hamlet_db_pool_connections_max"), "{text}");
}

#[tokio::test]
async fn every_response_has_a_request_id_and_a_given_one_is_kept() {
    let app = TestApp::spawn().await;
    let response = app.post(VISION, json!({})).await;
    let generated = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let response = app
        .post_with(
            VISION,
            json!({}),
            headers(&[("x-request-id", "kiosk-42-abc")]),
        )
        .await;
    assert_eq!(response.headers()["x-request-id"], "kiosk-42-abc");
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = TestApp::spawn_with(Seed::BuiltIn, |config| {
        config.cors_origins = vec!["https://partner.example".into()];
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://partner.example").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://partner.example"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let response = app
        .post_with(
            VISION,
            json!({}),
            headers(&[("origin", "https://partner.example")]),
        )
        .await;
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://partner.example"
    );
}

#[tokio::test]
async fn without_configured_origins_no_cross_origin_access_is_granted() {
    let app = TestApp::spawn().await;
    let response = app
        .post_with(
            VISION,
            json!({}),
            headers(&[("origin", "https://partner.example")]),
        )
        .await;
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn shutdown_finishes_and_stops_listening() {
    let (url, _database) = crate::helpers::fresh_database().await;
    let config = hamlet::Config::for_database(&url).unwrap();
    let app = hamlet::App::build(config).await.unwrap();
    let address = app.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://{address}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn a_repeated_public_query_is_answered_from_memory_until_content_changes() {
    let app = TestApp::spawn_quiet().await;
    let query = "query($slug: String!) { page(slug: $slug) { title version } }";
    let first = app
        .post(query, json!({ "slug": "vision-and-purpose" }))
        .await;
    let etag = first.headers()["etag"].clone();
    let body = first.text().await.unwrap();
    // The same request laid out differently, and differently again on each
    // try, so every try is a new text that only the kept answer can serve.
    // The background loops' first rounds at start may still be counting
    // statements: a try they overlap is tried again, until a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for indent in 2.. {
        let before = app.statements().await;
        let pad = " ".repeat(indent);
        let again = app
            .post(
                &format!("query($slug: String!) {{\n{pad}page(slug: $slug) {{\n{pad}{pad}title\n{pad}{pad}version\n{pad}}}\n}}"),
                json!({ "slug": "vision-and-purpose" }),
            )
            .await;
        assert_eq!(again.headers()["etag"], etag);
        assert_eq!(again.text().await.unwrap(), body);
        let after = app.statements().await;
        if after == before {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "answered without the database: {} statements",
            after - before
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Other variables are another answer.
    let other = app.post(query, json!({ "slug": "have-your-say" })).await;
    assert_ne!(other.headers()["etag"], etag);

    let editor = app.staff(&[hamlet::staff::model::Role::Editor]).await;
    let id = app
        .data_as(
            &editor,
            "{ page(slug: \"vision-and-purpose\", preview: true) { id version } }",
            json!({}),
        )
        .await["page"]
        .clone();
    app.data_as(
        &editor,
        "mutation($input: SavePageInput!) { savePage(input: $input) { version } }",
        json!({ "input": { "id": id["id"], "expectedVersion": id["version"], "slug": "vision-and-purpose",
                           "title": "Our vision", "body": "Working together." } }),
    )
    .await;
    let draft_only = app
        .post(query, json!({ "slug": "vision-and-purpose" }))
        .await;
    assert_eq!(
        draft_only.headers()["etag"],
        etag,
        "a draft changes nothing public"
    );
    app.data_as(
        &editor,
        "mutation($id: ID!) { publishPage(id: $id) { status } }",
        json!({ "id": id["id"] }),
    )
    .await;
    let fresh = app
        .post(query, json!({ "slug": "vision-and-purpose" }))
        .await;
    assert_ne!(fresh.headers()["etag"], etag);
    let fresh: serde_json::Value = fresh.json().await.unwrap();
    assert_eq!(fresh["data"]["page"]["title"], "Our vision");
}

#[tokio::test]
async fn a_partner_site_can_send_a_query_by_its_hash() {
    use sha2::Digest as _;
    let app = TestApp::spawn().await;
    let query = "{ organisation { name vision } }";
    let hash = hex::encode(sha2::Sha256::digest(query.as_bytes()));
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();

    // Unknown hash: the client is asked for the text.
    let unknown = app
        .get(&[("extensions", extensions.as_str())], headers(&[]))
        .await;
    assert_eq!(unknown.status(), 200);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(first_error_code(&body), "PERSISTED_QUERY_NOT_FOUND");

    // A wrong hash for the text is refused; the right one is kept.
    let wrong = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ services { slug } }",
                       "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    let registered = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 200);

    // Now a short GET, which a CDN can cache, answers with validators.
    let by_hash = app
        .get(&[("extensions", extensions.as_str())], headers(&[]))
        .await;
    assert_eq!(by_hash.status(), 200);
    let etag = by_hash.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        by_hash.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
    let body: serde_json::Value = by_hash.json().await.unwrap();
    assert_eq!(
        body["data"]["organisation"]["name"],
        "Tower Hamlets Together"
    );
    let revalidated = app
        .get(
            &[("extensions", extensions.as_str())],
            headers(&[("if-none-match", &etag)]),
        )
        .await;
    assert_eq!(revalidated.status(), 304);
}

/// What `application/graphql-response+json` clients are sent for a request
/// that never ran: its status and body.
async fn under_graphql_response_json(app: &TestApp, query: &str, variables: Value) -> (u16, Value) {
    let accept = headers(&[("accept", "application/graphql-response+json")]);
    let response = app.post_with(query, variables, accept).await;
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/graphql-response+json"
    );
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn under_graphql_response_json_a_document_that_does_not_parse_or_validate_is_400_without_data()
 {
    let app = TestApp::spawn().await;
    for (query, code) in [
        ("{", "GRAPHQL_PARSE_FAILED"),
        ("{ services { slug ", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ services { noSuchField } }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "query A { services { slug } } query B { services { name } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ] {
        let (status, body) = under_graphql_response_json(&app, query, json!({})).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.get("data").is_none(), "{query}: no data entry: {body}");
        assert_eq!(first_error_code(&body), code, "{query}: {body}");
    }
}

#[tokio::test]
async fn under_graphql_response_json_variables_that_cannot_be_coerced_are_400_without_data() {
    let app = TestApp::spawn().await;
    let pages = "query Pages($n: Int!) { pages(first: $n) { totalCount } }";
    for (query, variables) in [
        (pages, json!({ "n": "many" })),
        (pages, json!({ "n": null })),
        (pages, json!({})),
        (pages, json!({ "n": 1.5 })),
        // graphql-http's own audit.
        (
            "query CoerceFailure($id: ID!) { __typename }",
            json!({ "id": null }),
        ),
    ] {
        let (status, body) = under_graphql_response_json(&app, query, variables.clone()).await;
        assert_eq!(status, 400, "{variables}: {body}");
        assert!(body.get("data").is_none(), "{variables}: {body}");
        assert_eq!(
            first_error_code(&body),
            "BAD_USER_INPUT",
            "{variables}: {body}"
        );
    }
    // Variables that fit run as usual.
    let (status, body) = under_graphql_response_json(&app, pages, json!({ "n": 2 })).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["pages"]["totalCount"].is_number(), "{body}");
}

#[tokio::test]
async fn under_graphql_response_json_an_error_in_a_field_that_ran_is_200_with_data() {
    let app = TestApp::spawn().await;
    let (status, body) = under_graphql_response_json(
        &app,
        "{ services { slug } submission(reference: \"NOT-A-REAL-CODE\") { status } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["services"].is_array(), "{body}");
    assert_eq!(body["errors"][0]["path"][0], "submission", "{body}");
}

#[tokio::test]
async fn plain_json_clients_still_get_200_and_null_data_for_a_request_that_never_ran() {
    let app = TestApp::spawn().await;
    for (query, variables) in [
        ("{", json!({})),
        ("{ noSuchField }", json!({})),
        (
            "query CoerceFailure($id: ID!) { __typename }",
            json!({ "id": null }),
        ),
    ] {
        let response = app.post(query, variables).await;
        assert_eq!(response.status(), 200, "{query}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body.get("data"), Some(&Value::Null), "{query}: {body}");
        assert!(
            body["errors"][0]["extensions"]["code"].is_string(),
            "{body}"
        );
    }
}
