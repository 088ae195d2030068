//! Feature operations of the reference subjects: memory, plans and evicted
//! tool results stored on the session's backend under the profile's paths,
//! named the way an isolated app should name them:
//! - agent names and tool-call ids that are plain (`[A-Za-z0-9_-]`, not
//!   empty) are used as they are; any other is written as `%` and the hex
//!   of its bytes, so distinct names never share a file and `..` or `a/b`
//!   never leave their directory;
//! - plan ids have 128 bits (32 hex digits, like a uuid4's hex).
//!
//! Ids are derived from a per-tenancy salt and a counter rather than drawn
//! at random, so reports stay reproducible for a seed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::profile::{slugify, Profile};
use crate::subject::*;

/// How a reference-like subject names things (fixtures weaken it).
#[derive(Clone, Copy, Debug)]
pub struct Naming {
    /// Hex digits in a plan id.
    pub plan_id_len: usize,
    /// Name evicted results by replacing every unsafe character with `_`,
    /// with no disambiguator (the `sanitize-collide` fixture).
    pub sanitize_only: bool,
}

impl Default for Naming {
    fn default() -> Self {
        Naming {
            plan_id_len: 32,
            sanitize_only: false,
        }
    }
}

/// A name that is safe as one path segment, injective over all strings.
pub fn encode_segment(name: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        name.to_string()
    } else {
        format!("%{}", hex::encode(name.as_bytes()))
    }
}

/// Replaces every character outside `[A-Za-z0-9_-]` with `_` (not injective).
pub fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Counter shared by all tenancies of a factory: gives each a distinct salt.
#[derive(Default)]
pub struct Salts(AtomicU64);

impl Salts {
    pub fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

pub struct ReferenceFeatures {
    backend: Arc<dyn Backend>,
    profile: Arc<Profile>,
    naming: Naming,
    salt: String,
    counter: AtomicU64,
}

impl ReferenceFeatures {
    pub fn new(
        backend: Arc<dyn Backend>,
        profile: Arc<Profile>,
        naming: Naming,
        salt: String,
    ) -> Self {
        Self {
            backend,
            profile,
            naming,
            salt,
            counter: AtomicU64::new(0),
        }
    }

    fn next_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let digest = hex::encode(Sha256::digest(format!("{}:{n}", self.salt).as_bytes()));
        digest[..self.naming.plan_id_len.min(64)].to_string()
    }
}

#[async_trait]
impl Features for ReferenceFeatures {
    async fn save_memory(&self, agent: &str, content: &str) -> SubjectResult<String> {
        let path = self.profile.memory_path(&encode_segment(agent));
        self.backend.write(&path, content).await?;
        Ok(path)
    }

    async fn read_memory(&self, agent: &str) -> SubjectResult<Option<String>> {
        match self
            .backend
            .read_bytes(&self.profile.memory_path(&encode_segment(agent)))
            .await
        {
            Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
            Err(SubjectError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn save_plan(&self, title: &str, content: &str) -> SubjectResult<String> {
        let path = self.profile.plan_path(&slugify(title), &self.next_id());
        self.backend.write(&path, content).await?;
        Ok(path)
    }

    async fn evict(&self, call_id: &str, content: &str) -> SubjectResult<String> {
        // Tool-call ids repeat across sessions (`call_0`): the session's own
        // id keeps an old session's result from being overwritten.
        let name = if self.naming.sanitize_only {
            sanitize(call_id)
        } else {
            let session = hex::encode(Sha256::digest(self.salt.as_bytes()));
            format!("{}~{}", &session[..12], encode_segment(call_id))
        };
        let path = self.profile.evicted_path(&name);
        self.backend.write(&path, content).await?;
        Ok(path)
    }
}

/// Context files a tenancy seeds into every session it opens.
#[derive(Default)]
pub struct Seeds(std::sync::Mutex<Vec<(String, String)>>);

impl Seeds {
    pub fn add(&self, path: &str, content: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((path.to_string(), content.to_string()));
    }

    /// Writes every seed the backend does not hold yet.
    pub async fn apply(&self, backend: &dyn Backend) -> SubjectResult<()> {
        let seeds = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for (path, content) in seeds {
            if !backend.exists(&path).await? {
                backend.write(&path, &content).await?;
            }
        }
        Ok(())
    }
}

/// The capabilities of a reference-like subject.
pub fn reference_caps(persistence: Persistence) -> Capabilities {
    Capabilities {
        features: FeatureCaps {
            memory: true,
            plans: true,
            eviction: true,
            context: true,
        },
        persistence: Some(persistence),
        ..Capabilities::stores()
    }
}

/// What every tenancy of a reference subject holds besides its storage:
/// how to name features, a salt of its own, and the context files to seed.
pub struct ReferenceParts {
    profile: Arc<Profile>,
    naming: Naming,
    salt: String,
    opens: AtomicU64,
    pub seeds: Seeds,
}

impl ReferenceParts {
    /// `kind` tells subjects apart in the salt (`state`, `local`).
    pub fn new(kind: &str, profile: Arc<Profile>, naming: Naming, salts: &Salts) -> Self {
        let salt = format!("{kind}:{}", salts.next());
        Self {
            profile,
            naming,
            salt,
            opens: AtomicU64::new(0),
            seeds: Seeds::default(),
        }
    }

    /// Seeds `backend` and returns the feature operations of a new session of `user` on it.
    pub async fn open(
        &self,
        backend: &Arc<dyn Backend>,
        user: &str,
    ) -> SubjectResult<Arc<dyn Features>> {
        self.seeds.apply(backend.as_ref()).await?;
        let n = self.opens.fetch_add(1, Ordering::Relaxed);
        let salt = format!("{}:{n}:{user}", self.salt);
        Ok(Arc::new(ReferenceFeatures::new(
            backend.clone(),
            self.profile.clone(),
            self.naming,
            salt,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_injective_and_safe() {
        let names = [
            "main", "a/b", "..", ".", "a_b", "A", "a", "", "a.b", "%6162", "ab",
        ];
        let enc: std::collections::HashSet<_> = names.iter().map(|n| encode_segment(n)).collect();
        assert_eq!(enc.len(), names.len());
        assert!(enc
            .iter()
            .all(|e| !e.contains('/') && e != "." && e != ".."));
        assert_eq!(sanitize("a.b"), sanitize("a/b"));
    }
}
