//! Reference implementations of the subject traits, correct by design:
//! the yardstick every check is proven silent against.
//!
//! - [`memory`]: a fresh in-memory backend, checkpoint store and history per
//!   user (the guide's Pattern A), subject `state`.
//! - [`local`]: a per-user directory under a temp root with a file checkpoint
//!   store per user (Pattern B), subject `local`.
//! - [`docker`]: a Docker container per user through a session manager
//!   (Pattern C), subject `docker`.

pub mod common;
pub mod docker;
pub mod features;
pub mod local;
pub mod memory;
