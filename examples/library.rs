//! Embedding eventflow: load the GitHub topology, bind closures to its Services, send events
//! in-process and read the report.
//!
//! `cargo run --example library`

use eventflow::{Engine, Event, Reply};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pushes = Arc::new(AtomicUsize::new(0));
    let seen = pushes.clone();
    let engine = Engine::from_paths(["examples/github/topology.yaml"])?
        .bind("ci-runner", move |event: &Event| {
            seen.fetch_add(1, Ordering::Relaxed);
            println!("ci-runner got {} from {}", event.id, event.source);
            Reply::None
        })
        // Sequence steps reply to keep the chain going.
        .bind("lint", |event: &Event| Reply::Event(event.clone()))
        .bind("unit-tests", |event: &Event| Reply::Event(event.clone()))
        .workers(2)
        .start()?;

    let repo = "https://api.github.com/repos/Codertocat/Hello-World";
    let mut push = Event::new("push-1", repo, "com.github.push");
    push.subject = Some("refs/heads/main".into());
    engine.send("broker/github", push)?;
    engine.send(
        "broker/github",
        Event::new("pr-1", repo, "com.github.pull_request.opened"),
    )?;
    engine.send(
        "broker/github",
        Event::new("star-1", repo, "com.github.star.created"),
    )?;

    let report = engine.shutdown()?;
    println!(
        "ci-runner closure ran {} time(s)",
        pushes.load(Ordering::Relaxed)
    );
    for (route, n) in &report.per_via {
        println!("{n:>3}  {route}");
    }
    Ok(())
}
