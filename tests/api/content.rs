//! Partner websites reading the partnership's content.

use serde_json::json;

use crate::helpers::{TestApp, first_error_code};

const PAGE: &str = "query Page($slug: String!, $locale: String) {
  page(slug: $slug, locale: $locale) {
    id slug locale title summary body bodyHtml status version publishedAt updatedAt availableLocales
    media { kind title description url transcript captionsUrl altText }
  }
}";

#[tokio::test]
async fn the_organisation_shows_the_partnerships_vision_mission_values_and_purpose() {
    let app = TestApp::spawn().await;
    let data = app
        .data(
            "{ organisation { name vision mission purpose purposeHtml locale availableLocales updatedAt
               values { position title description } } }",
            json!({}),
        )
        .await;
    let organisation = &data["organisation"];
    assert_eq!(organisation["name"], "Tower Hamlets Together");
    assert_eq!(
        organisation["vision"],
        "To work together to improve the health and wellbeing of the people of Tower Hamlets."
    );
    assert!(
        organisation["mission"]
            .as_str()
            .unwrap()
            .starts_with("To improve the health and wellbeing")
    );
    assert!(
        organisation["purpose"]
            .as_str()
            .unwrap()
            .contains("Tower Hamlets Together Board")
    );
    assert!(
        organisation["purposeHtml"]
            .as_str()
            .unwrap()
            .starts_with("<p>")
    );
    assert_eq!(organisation["locale"], "en");
    assert_eq!(organisation["availableLocales"], json!(["en"]));
    let titles: Vec<_> = organisation["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| {
            (
                value["position"].as_i64().unwrap(),
                value["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        titles,
        [
            (1, "We are collaborative".to_owned()),
            (2, "We are compassionate".to_owned()),
            (3, "We are inclusive".to_owned()),
            (4, "We are accountable".to_owned()),
        ]
    );
}

#[tokio::test]
async fn the_seeded_pages_carry_the_vision_and_the_vanguard_video() {
    let app = TestApp::spawn().await;
    let vision = app
        .data(PAGE, json!({ "slug": "vision-and-purpose" }))
        .await;
    let page = &vision["page"];
    assert_eq!(page["slug"], "vision-and-purpose");
    assert_eq!(page["status"], "PUBLISHED");
    assert_eq!(page["version"], 1);
    assert!(
        page["body"]
            .as_str()
            .unwrap()
            .contains("We are compassionate")
    );
    assert!(page["bodyHtml"].as_str().unwrap().contains("<h2>"));

    let vanguard = app
        .data(PAGE, json!({ "slug": "our-vanguard-journey" }))
        .await;
    let media = &vanguard["page"]["media"];
    assert_eq!(media.as_array().unwrap().len(), 1);
    assert_eq!(media[0]["kind"], "VIDEO");
    assert_eq!(
        media[0]["title"],
        "Our Vanguard Journey: Tower Hamlets Together"
    );
}

#[tokio::test]
async fn an_unknown_page_is_null_not_an_error() {
    let app = TestApp::spawn().await;
    let body = app.graphql(PAGE, json!({ "slug": "no-such-page" })).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert!(body["data"]["page"].is_null());
}

#[tokio::test]
async fn a_malformed_slug_or_locale_is_bad_user_input_naming_the_field() {
    let app = TestApp::spawn().await;
    let body = app
        .graphql(PAGE, json!({ "slug": "../../etc/passwd" }))
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "slug");

    let body = app
        .graphql(
            PAGE,
            json!({ "slug": "vision-and-purpose", "locale": "english!" }),
        )
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "locale");
}

#[tokio::test]
async fn a_page_in_another_locale_is_served_in_it_and_says_so() {
    let app = TestApp::spawn_fixture().await;
    let data = app
        .data(
            PAGE,
            json!({ "slug": "vision-and-purpose", "locale": "bn" }),
        )
        .await;
    assert_eq!(data["page"]["locale"], "bn");
    assert_eq!(data["page"]["title"], "আমাদের লক্ষ্য ও উদ্দেশ্য");
    assert_eq!(data["page"]["availableLocales"], json!(["bn", "en"]));
    // Media belong to the page, not to one locale.
    let english = app
        .data(
            PAGE,
            json!({ "slug": "vision-and-purpose", "locale": "en" }),
        )
        .await;
    assert_eq!(english["page"]["id"], data["page"]["id"]);
    assert_eq!(english["page"]["locale"], "en");
}

#[tokio::test]
async fn a_locale_the_page_lacks_falls_back_to_english() {
    let app = TestApp::spawn_fixture().await;
    // A region falls back to its language first.
    let data = app
        .data(
            PAGE,
            json!({ "slug": "vision-and-purpose", "locale": "bn-BD" }),
        )
        .await;
    assert_eq!(data["page"]["locale"], "bn");
    // A language with no text falls back to English.
    let data = app
        .data(
            PAGE,
            json!({ "slug": "our-vanguard-journey", "locale": "bn" }),
        )
        .await;
    assert_eq!(data["page"]["locale"], "en");
    assert_eq!(data["page"]["availableLocales"], json!(["en"]));
    let data = app
        .data(
            PAGE,
            json!({ "slug": "vision-and-purpose", "locale": "so" }),
        )
        .await;
    assert_eq!(data["page"]["locale"], "en");
}

#[tokio::test]
async fn the_organisation_falls_back_to_english_too() {
    let app = TestApp::spawn_fixture().await;
    let query = "query($l: String) { organisation(locale: $l) { locale name availableLocales values { title } } }";
    let bengali = app.data(query, json!({ "l": "bn" })).await;
    assert_eq!(bengali["organisation"]["locale"], "bn");
    assert_eq!(
        bengali["organisation"]["availableLocales"],
        json!(["bn", "en"])
    );
    assert_eq!(
        bengali["organisation"]["values"].as_array().unwrap().len(),
        2
    );
    let somali = app.data(query, json!({ "l": "so" })).await;
    assert_eq!(somali["organisation"]["locale"], "en");
    assert_eq!(
        somali["organisation"]["values"].as_array().unwrap().len(),
        4
    );
}

#[tokio::test]
async fn drafts_are_never_public() {
    let app = TestApp::spawn_fixture().await;
    let data = app.data(PAGE, json!({ "slug": "draft-page" })).await;
    assert!(data["page"].is_null());
    let pages = app
        .data(
            "{ pages(first: 100) { totalCount edges { node { slug } } } }",
            json!({}),
        )
        .await;
    let slugs: Vec<_> = pages["pages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["slug"].as_str().unwrap().to_owned())
        .collect();
    assert!(!slugs.contains(&"draft-page".to_owned()), "{slugs:?}");
    assert_eq!(pages["pages"]["totalCount"], slugs.len());
    let hits = app
        .data("{ search(text: \"embargoed\") { slug } }", json!({}))
        .await;
    assert_eq!(hits["search"], json!([]));
}

#[tokio::test]
async fn body_html_escapes_raw_html_and_dangerous_links() {
    let app = TestApp::spawn_fixture().await;
    let data = app
        .data(PAGE, json!({ "slug": "vision-and-purpose" }))
        .await;
    let body = data["page"]["body"].as_str().unwrap();
    let html = data["page"]["bodyHtml"].as_str().unwrap();
    assert!(
        body.contains("<script>"),
        "the fixture holds raw HTML: {body}"
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(!html.to_lowercase().contains("javascript:"), "{html}");
    assert!(
        html.contains("<a href=\""),
        "ordinary links survive: {html}"
    );
}

#[tokio::test]
async fn pages_are_a_relay_connection_that_pages_by_cursor() {
    let app = TestApp::spawn().await;
    let query = "query($first: Int, $after: String) {
      pages(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { slug title } }
      }
    }";
    let all = app.data(query, json!({ "first": 100 })).await;
    let total = all["pages"]["totalCount"].as_u64().unwrap();
    assert_eq!(total, 3, "the seed publishes three pages");
    let mut seen = Vec::new();
    let mut after = serde_json::Value::Null;
    loop {
        let page = app.data(query, json!({ "first": 2, "after": after })).await;
        let connection = &page["pages"];
        assert_eq!(connection["totalCount"], total);
        for edge in connection["edges"].as_array().unwrap() {
            seen.push(edge["node"]["slug"].as_str().unwrap().to_owned());
        }
        if !connection["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "slug order");
    assert_eq!(seen.len() as u64, total);
    assert!(seen.contains(&"vision-and-purpose".to_owned()));
    assert!(seen.contains(&"our-vanguard-journey".to_owned()));
}

#[tokio::test]
async fn page_size_and_cursors_are_checked() {
    let app = TestApp::spawn().await;
    for (variables, field) in [
        (json!({ "first": -1 }), "first"),
        (json!({ "first": 101 }), "first"),
        (json!({ "after": "bm90LWEtY3Vyc29y" }), "after"),
        (json!({ "after": "%%%" }), "after"),
    ] {
        let body = app
            .graphql("query($first: Int, $after: String) { pages(first: $first, after: $after) { totalCount } }", variables.clone())
            .await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{variables}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{variables}"
        );
    }
}

#[tokio::test]
async fn services_list_what_residents_give_feedback_about() {
    let app = TestApp::spawn().await;
    let data = app
        .data(
            "{ services { id slug name description category parentOrganisation odsCode } }",
            json!({}),
        )
        .await;
    let services = data["services"].as_array().unwrap();
    assert!(services.len() >= 10, "{}", services.len());
    let names: Vec<_> = services
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "by name");
    let emergency = services
        .iter()
        .find(|s| s["slug"] == "royal-london-emergency-department")
        .expect("the Royal London's emergency department");
    assert_eq!(emergency["parentOrganisation"], "Barts Health NHS Trust");
    assert_eq!(emergency["odsCode"], "R1H");
    assert!(
        services.iter().any(|s| s["odsCode"].is_null()),
        "ODS codes are optional"
    );
}

#[tokio::test]
async fn search_finds_pages_and_services_by_their_words() {
    let app = TestApp::spawn().await;
    let query = "query($text: String!, $locale: String, $first: Int) {
      search(text: $text, locale: $locale, first: $first) { kind slug title snippet locale score }
    }";
    let data = app.data(query, json!({ "text": "Vanguard" })).await;
    let hits = data["search"].as_array().unwrap();
    assert_eq!(hits[0]["slug"], "our-vanguard-journey", "{hits:?}");
    assert_eq!(hits[0]["kind"], "PAGE");
    assert!(hits[0]["snippet"].as_str().unwrap().contains("Vanguard"));

    // Stemming: "transforming" finds "transform".
    let data = app
        .data(query, json!({ "text": "transforming care" }))
        .await;
    assert!(
        data["search"]
            .as_array()
            .unwrap()
            .iter()
            .any(|hit| hit["slug"] == "our-vanguard-journey"),
        "{data}"
    );

    // Services are searchable by name; the last word may be a prefix.
    let data = app.data(query, json!({ "text": "matern" })).await;
    let hit = &data["search"][0];
    assert_eq!(hit["kind"], "SERVICE", "{data}");
    assert_eq!(hit["slug"], "royal-london-maternity");

    // Scores are in descending order and `first` bounds the answer.
    let data = app
        .data(query, json!({ "text": "Tower Hamlets", "first": 2 }))
        .await;
    let hits = data["search"].as_array().unwrap();
    assert_eq!(hits.len(), 2);
    assert!(hits[0]["score"].as_f64().unwrap() >= hits[1]["score"].as_f64().unwrap());

    // Every word must match.
    let data = app.data(query, json!({ "text": "Vanguard zyzzyva" })).await;
    assert_eq!(data["search"], json!([]));
}

#[tokio::test]
async fn search_text_with_query_syntax_is_just_words() {
    let app = TestApp::spawn().await;
    for text in [
        "\"unbalanced",
        "title:vision",
        "NEAR(a b)",
        "a & | ! :*",
        "wellbeing OR",
        "*",
        "vision)",
    ] {
        let body = app
            .graphql(
                "query($t: String!) { search(text: $t) { slug } }",
                json!({ "t": text }),
            )
            .await;
        if text == "*" {
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{text}");
        } else {
            assert!(body.get("errors").is_none(), "{text}: {body}");
        }
    }
}

#[tokio::test]
async fn search_prefers_the_requested_locale_and_falls_back_to_english() {
    let app = TestApp::spawn_fixture().await;
    let query = "query($t: String!, $l: String) { search(text: $t, locale: $l) { slug locale } }";
    // Bengali words find the Bengali text.
    let data = app.data(query, json!({ "t": "স্বাস্থ্য", "l": "bn" })).await;
    assert_eq!(
        data["search"],
        json!([{ "slug": "vision-and-purpose", "locale": "bn" }])
    );
    // An English word asked in Bengali finds the English text, once per page.
    let data = app
        .data(query, json!({ "t": "wellbeing", "l": "bn" }))
        .await;
    let hits = data["search"].as_array().unwrap();
    let vision: Vec<_> = hits
        .iter()
        .filter(|hit| hit["slug"] == "vision-and-purpose")
        .collect();
    assert_eq!(vision.len(), 1, "one hit per page: {hits:?}");
    assert_eq!(vision[0]["locale"], "en");
    // Without a locale, only English is searched.
    let data = app.data(query, json!({ "t": "স্বাস্থ্য" })).await;
    assert_eq!(data["search"], json!([]));
}

#[tokio::test]
async fn search_input_is_checked() {
    let app = TestApp::spawn().await;
    for (variables, field) in [
        (json!({ "t": "" }), "text"),
        (json!({ "t": "   " }), "text"),
        (json!({ "t": "a".repeat(201) }), "text"),
        (json!({ "t": "care", "first": 51 }), "first"),
        (json!({ "t": "care", "first": -1 }), "first"),
    ] {
        let body = app
            .graphql(
                "query($t: String!, $first: Int) { search(text: $t, first: $first) { slug } }",
                variables.clone(),
            )
            .await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{variables}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{variables}"
        );
    }
}
