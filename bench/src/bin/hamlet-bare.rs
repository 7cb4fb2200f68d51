//! hamlet-bare: the benchmark's reference for content reads. A bare axum
//! server answering every request with the same bytes from memory (the
//! bytes hamlet answered a content read with), so the bench can say how
//! close hamlet comes to what the machine can serve.
//!
//! Usage: hamlet-bare ADDRESS FILE

use std::net::SocketAddr;

use anyhow::Context as _;
use axum::http::header;
use axum::response::IntoResponse as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(address), Some(file)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: hamlet-bare ADDRESS FILE");
    };
    let address: SocketAddr = address.parse().context("ADDRESS")?;
    let body = bytes::Bytes::from(std::fs::read(&file).with_context(|| file.clone())?);
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body).into_response() }
    });
    let listener = tokio::net::TcpListener::bind(address).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
