//! Subjects selectable by name with `--subject`.

use std::sync::Arc;

use crate::backends::docker::{DockerSubject, Layout};
use crate::backends::features::Naming;
use crate::backends::local::LocalSubject;
use crate::backends::memory::StateSubject;
use crate::fixtures;
use crate::profile::Profile;
use crate::subject::SubjectFactory;

/// A named subject.
pub struct SubjectEntry {
    pub name: &'static str,
    pub description: String,
    pub make: fn(Arc<Profile>) -> Arc<dyn SubjectFactory>,
}

/// Every built-in subject: the references first, then the fixtures.
pub fn subjects() -> Vec<SubjectEntry> {
    let mut v = vec![
        SubjectEntry {
            name: "state",
            description: "fresh in-memory backend, checkpoint store and history per session (Pattern A)".into(),
            make: |p| Arc::new(StateSubject::new(p, Naming::default())),
        },
        SubjectEntry {
            name: "local",
            description: "per-user directory under a temp root, file checkpoint store per user (Pattern B, safe id mapping)".into(),
            make: |p| Arc::new(LocalSubject::new(p, Naming::default())),
        },
        SubjectEntry {
            name: "docker",
            description: "a Docker container per user through a session manager keyed by a hash of the id (Pattern C; needs DOCKER_HOST, image from ISOCHECK_DOCKER_IMAGE)".into(),
            make: |p| Arc::new(DockerSubject::new(p, Layout::PerUser, "docker").cleanup_on_signal()),
        },
    ];
    v.extend(fixtures::all());
    v
}

/// Looks a subject up by name; the error names the accepted values.
pub fn subject(name: &str, profile: Arc<Profile>) -> Result<Arc<dyn SubjectFactory>, String> {
    let all = subjects();
    match all.iter().find(|s| s.name == name) {
        Some(s) => Ok((s.make)(profile)),
        None => Err(format!(
            "unknown subject '{name}' (accepted: {})",
            all.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
        )),
    }
}
