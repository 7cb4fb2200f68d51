//! Loads the tenant's content from plain files (`seed/`): the organisation,
//! pages and services. Loading is idempotent: what exists is left alone, so a
//! second run changes nothing and never overwrites an editor's work.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use include_dir::{Dir, include_dir};
use sea_orm::DatabaseConnection;
use serde::Deserialize;

use super::model::{MediaKind, PageStatus, Slug};
use super::store::{self, NewMedia, NewOrganisation, NewOrganisationText, NewPageText, NewService};
use crate::locale::Locale;

/// The seed built into the binary, so `hamlet` serves real content wherever it runs.
static BUILT_IN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/seed");

/// The files of a seed: their paths relative to the seed folder, and text.
pub struct SeedFiles(BTreeMap<String, String>);

impl SeedFiles {
    pub fn built_in() -> Self {
        let mut files = BTreeMap::new();
        collect_built_in(&BUILT_IN, &mut files);
        Self(files)
    }

    pub fn from_dir(root: &Path) -> anyhow::Result<Self> {
        let mut files = BTreeMap::new();
        for name in ["organisation.toml", "services.toml"] {
            let path = root.join(name);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            files.insert(name.to_owned(), text);
        }
        let pages = root.join("pages");
        if pages.is_dir() {
            for entry in
                std::fs::read_dir(&pages).with_context(|| format!("reading {}", pages.display()))?
            {
                let path = entry?.path();
                if path.extension().is_some_and(|ext| ext == "md") {
                    let name = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default();
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    files.insert(format!("pages/{name}"), text);
                }
            }
        }
        Ok(Self(files))
    }

    fn get(&self, path: &str) -> anyhow::Result<&str> {
        self.0
            .get(path)
            .map(String::as_str)
            .with_context(|| format!("the seed has no {path}"))
    }

    fn pages(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().filter_map(|(path, text)| {
            Some((
                path.strip_prefix("pages/")?.strip_suffix(".md")?,
                text.as_str(),
            ))
        })
    }
}

fn collect_built_in(dir: &Dir<'static>, files: &mut BTreeMap<String, String>) {
    for file in dir.files() {
        if let (Some(path), Some(text)) = (file.path().to_str(), file.contents_utf8()) {
            files.insert(path.to_owned(), text.to_owned());
        }
    }
    for sub in dir.dirs() {
        collect_built_in(sub, files);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganisationFile {
    slug: String,
    default_locale: String,
    locales: BTreeMap<String, OrganisationText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganisationText {
    name: String,
    vision: String,
    mission: String,
    purpose: String,
    #[serde(default)]
    values: Vec<ValueText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueText {
    title: String,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServicesFile {
    services: Vec<ServiceEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceEntry {
    slug: String,
    name: String,
    description: String,
    category: String,
    parent_organisation: String,
    ods_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageFrontMatter {
    title: String,
    summary: Option<String>,
    status: String,
    published_at: Option<DateTime<Utc>>,
    #[serde(default)]
    media: Vec<MediaEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MediaEntry {
    kind: String,
    title: String,
    description: Option<String>,
    url: Option<String>,
    transcript: Option<String>,
    captions_url: Option<String>,
    alt_text: Option<String>,
}

/// What a seed run added.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub organisation_texts: usize,
    pub pages: usize,
    pub page_texts: usize,
    pub services: usize,
}

impl SeedReport {
    pub fn added_anything(&self) -> bool {
        *self != Self::default()
    }
}

/// A page file, parsed: `pages/<slug>.<locale>.md`.
struct PageFile<'a> {
    slug: Slug,
    locale: Locale,
    front: PageFrontMatter,
    body: &'a str,
}

fn parse_page<'a>(name: &str, text: &'a str) -> anyhow::Result<PageFile<'a>> {
    let (slug, locale) = name
        .rsplit_once('.')
        .with_context(|| format!("pages/{name}.md: name it <slug>.<locale>.md"))?;
    let slug = Slug::parse(slug, "slug").with_context(|| format!("pages/{name}.md"))?;
    let locale = Locale::parse(locale, "locale").with_context(|| format!("pages/{name}.md"))?;
    let rest = text
        .trim_start_matches('\u{feff}')
        .strip_prefix("+++")
        .with_context(|| format!("pages/{name}.md: must start with +++ front matter"))?;
    let (front, body) = rest
        .split_once("\n+++")
        .with_context(|| format!("pages/{name}.md: front matter has no closing +++"))?;
    let front: PageFrontMatter =
        toml::from_str(front).with_context(|| format!("pages/{name}.md: front matter"))?;
    Ok(PageFile {
        slug,
        locale,
        front,
        body: body.trim_start_matches(['\r', '\n']),
    })
}

/// Loads `files` into the database in one transaction: all of it or none.
pub async fn load(db: &DatabaseConnection, files: &SeedFiles) -> anyhow::Result<SeedReport> {
    let organisation: OrganisationFile =
        toml::from_str(files.get("organisation.toml")?).context("organisation.toml")?;
    let services: ServicesFile =
        toml::from_str(files.get("services.toml")?).context("services.toml")?;
    let pages = files
        .pages()
        .map(|(name, text)| parse_page(name, text))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !organisation
        .locales
        .contains_key(&organisation.default_locale)
    {
        bail!(
            "organisation.toml: no text in the default locale {}",
            organisation.default_locale
        );
    }

    let mut report = SeedReport::default();
    let txn = crate::db::write(db).await?;
    let (organisation_id, _) = store::ensure_organisation(
        &txn,
        &NewOrganisation {
            slug: &organisation.slug,
            default_locale: &organisation.default_locale,
        },
    )
    .await?;
    for (locale, text) in &organisation.locales {
        let locale = Locale::parse(locale, "locale").context("organisation.toml")?;
        let added = store::ensure_organisation_text(
            &txn,
            organisation_id,
            &NewOrganisationText {
                locale: locale.as_str(),
                name: &text.name,
                vision: &text.vision,
                mission: &text.mission,
                purpose: text.purpose.trim(),
                values: text
                    .values
                    .iter()
                    .map(|value| (value.title.as_str(), value.description.as_deref()))
                    .collect(),
            },
        )
        .await?;
        report.organisation_texts += usize::from(added);
    }
    for entry in &services.services {
        let slug = Slug::parse(&entry.slug, "slug")
            .with_context(|| format!("services.toml: {}", entry.slug))?;
        let added = store::ensure_service(
            &txn,
            &NewService {
                slug: &slug,
                name: &entry.name,
                description: &entry.description,
                category: &entry.category,
                parent_organisation: &entry.parent_organisation,
                ods_code: entry.ods_code.as_deref(),
            },
        )
        .await?;
        report.services += usize::from(added);
    }
    for page in &pages {
        let status = PageStatus::parse(&page.front.status).with_context(|| {
            format!(
                "pages/{}: unknown status {}",
                page.slug.as_str(),
                page.front.status
            )
        })?;
        let media = page
            .front
            .media
            .iter()
            .map(|item| {
                Ok(NewMedia {
                    kind: MediaKind::parse(&item.kind).with_context(|| {
                        format!(
                            "pages/{}: unknown media kind {}",
                            page.slug.as_str(),
                            item.kind
                        )
                    })?,
                    title: &item.title,
                    description: item.description.as_deref(),
                    url: item.url.as_deref(),
                    transcript: item.transcript.as_deref(),
                    captions_url: item.captions_url.as_deref(),
                    alt_text: item.alt_text.as_deref(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let page_id = match store::page_id_by_slug(&txn, &page.slug).await? {
            Some(id) => id,
            None => {
                let published_at = match status {
                    PageStatus::Published => Some(page.front.published_at.unwrap_or_else(Utc::now)),
                    _ => None,
                };
                report.pages += 1;
                store::insert_page(&txn, &page.slug, status, published_at, &media).await?
            }
        };
        if store::page_locales(&txn, page_id)
            .await?
            .iter()
            .any(|l| l == page.locale.as_str())
        {
            continue;
        }
        store::insert_page_text(
            &txn,
            page_id,
            &page.slug,
            status == PageStatus::Published,
            &NewPageText {
                locale: page.locale.as_str(),
                title: &page.front.title,
                summary: page.front.summary.as_deref(),
                body: page.body,
            },
        )
        .await?;
        report.page_texts += 1;
    }
    txn.commit().await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_seed_parses() {
        let files = SeedFiles::built_in();
        let organisation: OrganisationFile =
            toml::from_str(files.get("organisation.toml").unwrap()).unwrap();
        assert_eq!(organisation.locales["en"].values.len(), 4);
        let services: ServicesFile = toml::from_str(files.get("services.toml").unwrap()).unwrap();
        assert!(services.services.len() >= 10);
        let pages: Vec<_> = files
            .pages()
            .map(|(n, t)| parse_page(n, t).unwrap())
            .collect();
        let slugs: Vec<_> = pages.iter().map(|p| p.slug.as_str()).collect();
        assert!(slugs.contains(&"vision-and-purpose"), "{slugs:?}");
        assert!(slugs.contains(&"our-vanguard-journey"), "{slugs:?}");
    }

    #[test]
    fn a_page_file_needs_front_matter() {
        assert!(parse_page("x.en", "no front matter").is_err());
        assert!(parse_page("x.en", "+++\ntitle = \"t\"\n").is_err());
        assert!(
            parse_page(
                "Bad Slug.en",
                "+++\ntitle = \"t\"\nstatus = \"DRAFT\"\n+++\nbody"
            )
            .is_err()
        );
        let page = parse_page(
            "x.en",
            "+++\ntitle = \"t\"\nstatus = \"DRAFT\"\n+++\nbody\n",
        )
        .unwrap();
        assert_eq!(page.body, "body\n");
    }
}
