//! proptest strategies for multi-user scenarios, and their materialization
//! into concrete operations that carry canary tokens.
//!
//! Strategies produce *abstract* specs ([`Scenario`]: users and per-user
//! [`OpSpec`] lists) that shrink well: fewer users, fewer operations,
//! simpler ids and paths. [`materialize`] turns a spec into a [`Plan`]
//! of concrete [`Op`]s, one step per operation index, followed by a closing
//! sweep in which every user observes everything it can see.

mod ops;
mod plan;
mod users;

pub use ops::*;
pub use plan::*;
pub use users::*;

use proptest::prelude::*;

/// One generated case.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub users: Vec<UserPlan>,
}

/// A user and the operations it performs, one per step.
#[derive(Clone, Debug)]
pub struct UserPlan {
    pub id: UserIdSpec,
    pub ops: Vec<OpSpec>,
}

/// Knobs of the generator.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Fixed number of users, or `None` for 2 to 8.
    pub users: Option<usize>,
    /// At most this many operations per user (= steps).
    pub max_ops: usize,
    /// How user ids are drawn.
    pub ids: IdMix,
}

impl Default for GenConfig {
    fn default() -> Self {
        Self {
            users: None,
            max_ops: 8,
            ids: IdMix::Mixed,
        }
    }
}

/// A scenario strategy over the given operation strategy.
pub fn scenario(cfg: &GenConfig, op: BoxedStrategy<OpSpec>) -> BoxedStrategy<Scenario> {
    let (lo, hi) = match cfg.users {
        Some(n) => (n, n),
        None => (2, 8),
    };
    let user = (
        user_id_spec(cfg.ids),
        proptest::collection::vec(op, 0..=cfg.max_ops),
    )
        .prop_map(|(id, ops)| UserPlan { id, ops });
    proptest::collection::vec(user, lo..=hi)
        .prop_map(|users| Scenario { users })
        .boxed()
}
