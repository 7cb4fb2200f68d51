//! A few plain HTTP/1.1 requests to the server under test: readiness polls,
//! sanity checks and the moderator's login.
//!
//! The load itself comes from wrk. These are one-off requests on loopback, so
//! a blocking socket with `Connection: close` is all they need, and it keeps
//! an HTTP client library (and a second build of hyper with client features)
//! out of the bench.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context as _, bail};

/// A response: its status code and body.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// `GET path`, as a readiness probe: any failure to connect is an error.
pub fn get(addr: SocketAddr, path: &str) -> anyhow::Result<Answer> {
    send(addr, "GET", path, &[], None)
}

/// POSTs a GraphQL request (`{"query": …, "variables": …}`) and parses the
/// answer as JSON.
pub fn graphql(
    addr: SocketAddr,
    body: &serde_json::Value,
    bearer: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let authorization = bearer.map(|token| format!("Bearer {token}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(value) = &authorization {
        headers.push(("Authorization", value.as_str()));
    }
    let answer = send(
        addr,
        "POST",
        "/graphql",
        &headers,
        Some(body.to_string().as_bytes()),
    )?;
    serde_json::from_str(&answer.body).with_context(|| {
        format!(
            "HTTP {} with a body that is not JSON: {}",
            answer.status, answer.body
        )
    })
}

/// The `extensions.code` of each GraphQL error in an answer.
pub fn error_codes(answer: &serde_json::Value) -> Vec<String> {
    answer["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| {
                    error["extensions"]["code"]
                        .as_str()
                        .unwrap_or("NO_CODE")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> anyhow::Result<Answer> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    stream.write_all(&bytes)?;

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .context("the response has no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut body = raw[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("no status in {head:?}"))?;
    if head.lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    }) {
        body = dechunk(&body)?;
    }
    Ok(Answer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|window| window == b"\r\n")
            .context("a chunk size line does not end")?;
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("bad chunk size {size_text:?}"))?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if raw.len() < size + 2 {
            bail!("a chunk is cut short");
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}
