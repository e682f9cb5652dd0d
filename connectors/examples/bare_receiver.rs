//! Baseline for load runs: a bare axum CloudEvents receiver on the same stack as the ingress
//! (decodes binary/structured events with the ingress's decoder, answers 202, routes nothing).
//!
//! `cargo run --release -p eventflow-connectors --example bare_receiver -- 127.0.0.1:18081`

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use eventflow_connectors::http::decode;

async fn receive(headers: HeaderMap, body: Bytes) -> StatusCode {
    match decode(&headers, &body) {
        Ok(_) => StatusCode::ACCEPTED,
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18081".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        let app = Router::new().route("/{ns}/{name}", post(receive));
        axum::serve(listener, app).await
    })
}
