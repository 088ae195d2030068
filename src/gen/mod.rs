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
    /// Two phases, each packed conflict-free: every user's operations up
    /// to its first presentation of another user's identifier
    /// ([`OpSpec::Replay`], [`OpSpec::PresentAtOpen`]), then the rest; so
    /// that identifiers are handed out before any is presented.
    pub phased: bool,
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
    /// The kinds of identifier the subject hands to users at open
    /// ([`crate::subject::SubjectFactory::identifiers`]), known once it started.
    pub identifiers: Vec<String>,
    /// What the subject offers, once started (`None`: assume everything),
    /// so that a strategy draws only operations it can answer.
    pub caps: Option<crate::subject::Capabilities>,
}

impl Default for GenConfig {
    fn default() -> Self {
        Self {
            users: None,
            max_ops: 8,
            ids: IdMix::Mixed,
            identifiers: Vec::new(),
            caps: None,
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
            phased: false,
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
                phased: false,
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
                phased: false,
                seeded: false,
            }
        })
        .boxed()
}

/// Identifier replay: every user (plain ids) first makes saves, each
/// handing it an identifier ([`REPLAY_KINDS`]), then presents identifiers
/// handed to others; run in two phases (see [`Scenario::phased`]), so that
/// every save precedes every presentation. Where the subject hands out
/// identifiers at open, a presentation may also be a reopen with another
/// user's, followed by a look at the history, checkpoints and files it got.
pub fn replay(cfg: &GenConfig) -> BoxedStrategy<Scenario> {
    let (lo, hi) = user_range(cfg);
    let (lo, hi) = (lo.max(2), hi.max(2));
    let has = |f: fn(&crate::subject::Capabilities) -> bool| cfg.caps.as_ref().is_none_or(f);
    let mut saves: Vec<BoxedStrategy<OpSpec>> = Vec::new();
    if has(|c| c.files) {
        // Not the empty id (its "path" is the directory every user's
        // results share) nor the crafted one.
        saves.push(
            prop::sample::select(vec![0u8, 1, 2, 3, 5])
                .prop_map(OpSpec::Evict)
                .boxed(),
        );
        saves.push((0..3u8).prop_map(OpSpec::SaveMemory).boxed());
    }
    if has(|c| c.checkpoints) {
        saves.push((0..4u8).prop_map(OpSpec::CkSave).boxed());
    }
    if has(|c| c.features.plans) {
        saves.push(idx(TITLES.len()).prop_map(OpSpec::SavePlan).boxed());
    }
    if has(|c| c.history) || saves.is_empty() {
        saves.push(Just(OpSpec::HistAppend).boxed());
    }
    let save = proptest::strategy::Union::new(saves);
    let kinds = cfg.identifiers.len() as u8;
    // Kinds handed out by an operation's answer: checkpoint ids need a
    // checkpoint store, paths a backend.
    let replay_kinds: Vec<u8> = (0..REPLAY_KINDS.len() as u8)
        .filter(|k| match k {
            0 => has(|c| c.checkpoints),
            _ => has(|c| c.files),
        })
        .collect();
    let replay = prop::sample::select(if replay_kinds.is_empty() {
        vec![0]
    } else {
        replay_kinds
    });
    // After a reopen with another user's identifier: a look at what the
    // session holds, through the stores the subject has.
    let mut look = Vec::new();
    if has(|c| c.history) {
        look.push(OpSpec::HistGet);
    }
    if has(|c| c.checkpoints) {
        look.push(OpSpec::CkList);
    }
    if has(|c| c.files) {
        // A workspace reached by another user's ref (a container, a
        // directory) shows that user's saved files to a search.
        look.push(OpSpec::Grep(0));
    }
    let present = if kinds == 0 {
        (replay, any::<u8>(), any::<u8>())
            .prop_map(|(k, d, via)| vec![OpSpec::Replay(k, d, via)])
            .boxed()
    } else {
        prop_oneof![
            3 => (replay, any::<u8>(), any::<u8>())
                .prop_map(|(k, d, via)| vec![OpSpec::Replay(k, d, via)]),
            2 => (0..kinds, any::<u8>()).prop_map(move |(k, d)| {
                let mut ops = vec![OpSpec::PresentAtOpen(k, d)];
                ops.extend(look.iter().copied());
                ops
            }),
        ]
        .boxed()
    };
    let max = cfg.max_ops.max(2);
    (1..=max / 2)
        .prop_flat_map(move |saves| {
            let user = (
                proptest::collection::vec(save.clone(), saves),
                proptest::collection::vec(present.clone(), 1..=(max / 2).max(1)),
            )
                .prop_map(|(mut ops, presents)| {
                    ops.extend(presents.into_iter().flatten());
                    UserPlan {
                        id: UserIdSpec::Plain,
                        ops,
                    }
                });
            proptest::collection::vec(user, lo..=hi)
        })
        .prop_map(|users| Scenario {
            users,
            lockstep: false,
            phased: true,
            seeded: false,
        })
        .boxed()
}

/// A scenario whose tenancy first seeds the profile's context files.
pub fn seeded(cfg: &GenConfig, op: BoxedStrategy<OpSpec>) -> BoxedStrategy<Scenario> {
    scenario(cfg, op)
        .prop_map(|s| Scenario { seeded: true, ..s })
        .boxed()
}
