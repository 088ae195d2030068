//! proptest strategies for multi-user scenarios, and their materialization
//! into concrete operations that carry canary tokens.
//!
//! Strategies produce *abstract* specs ([`Scenario`]: users and per-user
//! [`OpSpec`] lists) that shrink well: fewer users, fewer operations,
//! simpler ids and paths. [`materialize`] turns a spec into a [`Plan`]
//! of concrete [`Op`]s, one step per operation index, followed by a closing
//! sweep in which every user observes everything it can see.

pub mod hardening;
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
    /// Run operation `i` of every user in step `i`, conflicts or not
    /// (concurrent-writes); otherwise steps are packed conflict-free.
    pub lockstep: bool,
    /// Seed the profile's context files before sessions open.
    pub seeded: bool,
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
    if let IdMix::Only(class) = cfg.ids {
        return directed(cfg, op, class);
    }
    let (lo, hi) = user_range(cfg);
    let user = (
        user_id_spec(cfg.ids),
        proptest::collection::vec(op, 0..=cfg.max_ops),
    )
        .prop_map(|(id, ops)| UserPlan { id, ops });
    proptest::collection::vec(user, lo..=hi)
        .prop_map(|users| Scenario {
            users,
            lockstep: false,
            seeded: false,
        })
        .boxed()
}

/// A directed case for id class `class`: every user plain but the last,
/// whose id is of that class (and so aliases one of the plain users).
fn directed(cfg: &GenConfig, op: BoxedStrategy<OpSpec>, class: u8) -> BoxedStrategy<Scenario> {
    let (lo, hi) = user_range(cfg);
    let ops = proptest::collection::vec(op, 0..=cfg.max_ops);
    (
        proptest::collection::vec(ops.clone(), lo.max(2) - 1..=hi.max(2) - 1),
        user_id_spec(IdMix::Only(class)),
        ops,
    )
        .prop_map(|(plain, id, last)| {
            let mut users: Vec<UserPlan> = plain
                .into_iter()
                .map(|ops| UserPlan {
                    id: UserIdSpec::Plain,
                    ops,
                })
                .collect();
            users.push(UserPlan { id, ops: last });
            Scenario {
                users,
                lockstep: false,
                seeded: false,
            }
        })
        .boxed()
}

fn user_range(cfg: &GenConfig) -> (usize, usize) {
    match cfg.users {
        Some(n) => (n, n),
        None => (2, 8),
    }
}

/// Every user writes the same shared paths in the same step, then reads
/// them back in the next: one to four rounds.
pub fn lockstep_writes(cfg: &GenConfig) -> BoxedStrategy<Scenario> {
    let (lo, hi) = user_range(cfg);
    let rounds = proptest::collection::vec(0..SHARED_PATHS.len() as u8, 1..=4);
    (
        proptest::collection::vec(user_id_spec(cfg.ids), lo..=hi),
        rounds,
    )
        .prop_map(|(ids, rounds)| {
            let ops: Vec<OpSpec> = rounds
                .iter()
                .flat_map(|p| {
                    [
                        OpSpec::Write(PathSpec::Shared(*p)),
                        OpSpec::ReadBytes(PathSpec::Shared(*p)),
                    ]
                })
                .collect();
            let users = ids
                .into_iter()
                .map(|id| UserPlan {
                    id,
                    ops: ops.clone(),
                })
                .collect();
            Scenario {
                users,
                lockstep: true,
                seeded: false,
            }
        })
        .boxed()
}

/// A scenario whose tenancy first seeds the profile's context files.
pub fn seeded(cfg: &GenConfig, op: BoxedStrategy<OpSpec>) -> BoxedStrategy<Scenario> {
    scenario(cfg, op)
        .prop_map(|s| Scenario { seeded: true, ..s })
        .boxed()
}
