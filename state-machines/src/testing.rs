//! The checks every kind's machine must pass, written once over the
//! functions each kind exposes. A kind's tests describe the kind in a
//! [`Kind`], call these, and add what is its own.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::docs::{Spec, TransitionRow};
use crate::machine::{Ends, Outcome};
use crate::{Terminal, WaitingOn};

pub(crate) fn failed_with(reason: &str) -> Terminal {
    Terminal::Failed {
        reason: reason.to_string(),
    }
}

pub(crate) fn rejected_with(reason: &str) -> Terminal {
    Terminal::Rejected {
        reason: reason.to_string(),
    }
}

/// One transition-table row as the spec tests write it: from, trigger, to
/// (or "stays"), and the action ("" for none).
pub(crate) type Row = (String, String, String, String);

/// Checks that `T` serialises to each case's JSON and back.
#[track_caller]
pub(crate) fn assert_json_shapes<T>(cases: &[(T, &str)])
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    for (value, json) in cases {
        assert_eq!(serde_json::to_string(value).unwrap(), *json);
        assert_eq!(serde_json::from_str::<T>(json).unwrap(), *value);
    }
}

/// A provider status type reads back every wire string it writes, and
/// serialises as it.
#[track_caller]
pub(crate) fn check_wire_names<T>(all: &[T], as_str: fn(&T) -> &'static str, parse: fn(&str) -> T)
where
    T: Serialize + PartialEq + Debug,
{
    for status in all {
        assert_eq!(parse(as_str(status)), *status);
        assert_eq!(
            serde_json::to_string(status).unwrap(),
            format!("\"{}\"", as_str(status))
        );
    }
}

/// What the shared checks need from a kind's machine.
pub(crate) struct Kind<S: 'static, E: 'static, A: 'static> {
    /// Samples, `handle` and naming, as the docs use them.
    pub(crate) spec: Spec<S, E, A>,
    pub(crate) event_name: fn(&E) -> &'static str,
    pub(crate) delete_requested: E,
    /// Where a retry request starts a failed connector again: the kind's
    /// first state for `event` if it is one, `None` for any other event
    /// (always, for a kind without retry).
    pub(crate) restart: fn(&E) -> Option<S>,
    pub(crate) current_action: fn(&S) -> Option<A>,
    pub(crate) is_terminal: fn(&S) -> bool,
    pub(crate) next_step: fn(&S) -> &'static str,
    pub(crate) failure_reason: fn(&S) -> Option<&str>,
    pub(crate) state_names: &'static [&'static str],
    /// The teardown states, first step first.
    pub(crate) teardown: &'static [fn(Terminal) -> S],
    pub(crate) ends: Ends<S>,
}

impl<S, E, A> Kind<S, E, A>
where
    S: Clone + PartialEq + Debug + Serialize + DeserializeOwned,
    E: Clone + PartialEq + Debug + Serialize + DeserializeOwned,
    A: Copy + PartialEq + Debug + Serialize,
{
    fn handle(&self, state: &S, event: &E) -> Outcome<S, A> {
        (self.spec.handle)(state, event)
    }

    fn name(&self, state: &S) -> &'static str {
        (self.spec.state_name)(state)
    }

    fn standing(&self, state: &S) -> Vec<A> {
        (self.current_action)(state).into_iter().collect()
    }

    /// Feeds `event` and checks the three things the worker acts on.
    #[track_caller]
    pub(crate) fn step(
        &self,
        from: &S,
        event: E,
        to: S,
        actions: &[A],
        changed: bool,
    ) -> Outcome<S, A> {
        let out = self.handle(from, &event);
        assert_eq!(out.state, to, "state after {event:?} in {from:?}");
        assert_eq!(out.actions, actions, "actions after {event:?} in {from:?}");
        assert_eq!(out.changed, changed, "changed after {event:?} in {from:?}");
        out
    }

    fn in_teardown(&self, state: &S) -> bool {
        let name = self.name(state);
        self.teardown
            .iter()
            .any(|build| self.name(&build(Terminal::Deleted)) == name)
    }

    /// Runs a teardown towards `then` from its first step, feeding it
    /// `events`, one per step, and returns the terminal it ends in. Each step
    /// queues the next one's standing job; the last queues nothing.
    #[track_caller]
    pub(crate) fn finish_teardown(&self, then: Terminal, events: &[E]) -> S {
        assert_eq!(events.len(), self.teardown.len());
        let mut state = (self.teardown[0])(then.clone());
        for (event, next) in events.iter().zip(&self.teardown[1..]) {
            let next = next(then.clone());
            let job = self.standing(&next);
            self.step(&state, event.clone(), next.clone(), &job, true);
            state = next;
        }
        let out = self.handle(&state, &events[events.len() - 1]);
        assert!(out.actions.is_empty());
        assert!(out.changed);
        out.state
    }

    /// Every sample state before teardown.
    pub(crate) fn live_states(&self) -> Vec<S> {
        (self.spec.sample_states)()
            .into_iter()
            .filter(|s| !(self.is_terminal)(s) && !self.in_teardown(s))
            .collect()
    }

    /// Every (state, event) pair, checked against the rules the worker relies
    /// on; `also` checks the kind's own rules on each.
    #[track_caller]
    pub(crate) fn check_worker_contract(&self, also: impl Fn(&S, &E, &Outcome<S, A>, &str)) {
        let first_teardown = self.name(&(self.teardown[0])(Terminal::Deleted));
        for state in (self.spec.sample_states)() {
            for event in (self.spec.sample_events)() {
                let out = self.handle(&state, &event);
                let ctx = format!("{event:?} in {state:?} → {out:?}");

                assert_eq!(out.changed, out.state != state, "{ctx}");
                assert!(!out.note.is_empty(), "{ctx}");
                assert!(out.actions.len() <= 1, "{ctx}");
                // What a step asks for is always the new state's standing job,
                // so a stale-job check against `current_action` is sound.
                if let Some(action) = out.actions.first() {
                    assert_eq!(Some(*action), (self.current_action)(&out.state), "{ctx}");
                }
                // Entering a new kind of state always queues its job.
                if self.name(&out.state) != self.name(&state) {
                    assert_eq!(out.actions, self.standing(&out.state), "{ctx}");
                }
                if (self.is_terminal)(&state) && (self.is_terminal)(&out.state) {
                    assert!(out.actions.is_empty(), "{ctx}");
                }
                // Only a failed connector leaves its end, as it kept its
                // allocations: a delete releases them, a retry starts again
                // with them.
                if (self.is_terminal)(&state) && !(self.is_terminal)(&out.state) {
                    assert_eq!(self.name(&state), "failed", "{ctx}");
                    let next = if event == self.delete_requested {
                        self.releasing(Terminal::Deleted)
                    } else {
                        (self.restart)(&event).unwrap_or_else(|| panic!("{ctx}"))
                    };
                    assert_eq!(out.state, next, "{ctx}");
                }
                // A retry is for a failed connector only.
                if (self.restart)(&event).is_some() && self.name(&state) != "failed" {
                    assert!(out.is_ignored(), "{ctx}");
                }
                // A state that stays put and still asks for work asks for its
                // own poll.
                if !out.changed && !out.actions.is_empty() {
                    assert_eq!(out.actions, self.standing(&state), "{ctx}");
                }
                if event == self.delete_requested {
                    assert!(
                        (self.is_terminal)(&out.state)
                            || self
                                .teardown
                                .iter()
                                .any(|build| out.state == build(Terminal::Deleted)),
                        "{ctx}"
                    );
                }
                // Every failure starts its teardown at the first step.
                if (self.failure_reason)(&out.state).is_some()
                    && (self.failure_reason)(&state).is_none()
                    && !(self.is_terminal)(&out.state)
                {
                    assert_eq!(self.name(&out.state), first_teardown, "{ctx}");
                }
                also(&state, &event, &out, &ctx);
            }
        }
    }

    /// Every live state (`count` of them among the samples) accepts a delete
    /// and starts the teardown with `first_action`.
    #[track_caller]
    pub(crate) fn check_delete_in_live_states(&self, count: usize, first_action: A) {
        let live = self.live_states();
        assert_eq!(live.len(), count, "{live:?}");
        for state in live {
            self.step(
                &state,
                self.delete_request(),
                (self.teardown[0])(Terminal::Deleted),
                &[first_action],
                true,
            );
        }
    }

    fn delete_request(&self) -> E {
        self.delete_requested.clone()
    }

    /// A delete during a rollback only changes where the teardown ends.
    #[track_caller]
    pub(crate) fn check_delete_during_rollback(&self) {
        for build in self.teardown {
            for then in [failed_with("boom"), rejected_with("declined")] {
                let out = self.step(
                    &build(then),
                    self.delete_request(),
                    build(Terminal::Deleted),
                    &[],
                    true,
                );
                assert!(out.note.contains("end as deleted"), "{}", out.note);
                assert_eq!((self.failure_reason)(&out.state), None);
            }
        }
    }

    #[track_caller]
    pub(crate) fn check_repeated_delete_ignored(&self) {
        for build in self.teardown {
            let state = build(Terminal::Deleted);
            let out = self.step(&state, self.delete_request(), state.clone(), &[], false);
            assert!(out.is_ignored());
            assert!(out.note.contains("already in progress"), "{}", out.note);
        }
    }

    /// The last teardown step, the one that releases the allocations.
    fn releasing(&self, then: Terminal) -> S {
        (self.teardown[self.teardown.len() - 1])(then)
    }

    /// A failed connector kept its allocations: deleting it releases them
    /// (`release`, the last teardown step's job) and ends deleted once
    /// `released` reports them back in their pools. A rejected one had them
    /// released by its teardown, so deleting it only closes the record.
    #[track_caller]
    pub(crate) fn check_delete_releases_failed_and_closes_rejected(&self, release: A, released: E) {
        let deleted = (self.ends.deleted)();
        let releasing = self.releasing(Terminal::Deleted);
        let out = self.step(
            &(self.ends.failed)("x".to_string()),
            self.delete_request(),
            releasing.clone(),
            &[release],
            true,
        );
        assert_eq!(
            out.note,
            "failed connector deleted (x); releasing the resources it held"
        );
        assert_eq!((self.failure_reason)(&out.state), None);
        let out = self.step(&releasing, released, deleted.clone(), &[], true);
        assert_eq!(out.note, "resources released; connector deleted");

        let out = self.step(
            &(self.ends.rejected)("y".to_string()),
            self.delete_request(),
            deleted,
            &[],
            true,
        );
        assert_eq!(
            out.note,
            "rejected connector deleted; its resources were already released (y)"
        );
    }

    /// How the last teardown step ends, by where it was heading, once
    /// `released` comes in: a failed connector says it keeps its
    /// allocations.
    #[track_caller]
    pub(crate) fn check_teardown_end_notes(&self, released: E) {
        let cases = [
            (
                Terminal::Deleted,
                (self.ends.deleted)(),
                "resources released; connector deleted",
            ),
            (
                failed_with("boom"),
                (self.ends.failed)("boom".to_string()),
                "rolled back; connector failed: boom (it keeps its allocations until it is \
                 deleted)",
            ),
            (
                rejected_with("no"),
                (self.ends.rejected)("no".to_string()),
                "resources released; connector rejected: no",
            ),
        ];
        for (then, end, note) in cases {
            let out = self.step(&self.releasing(then), released.clone(), end, &[], true);
            assert_eq!(out.note, note);
        }
    }

    /// `retry` starts a failed connector again at `restart`, queuing its
    /// standing job `action`, with `note` (written for the reason "boom").
    #[track_caller]
    pub(crate) fn check_retry_restarts_failed(&self, retry: E, restart: S, action: A, note: &str) {
        assert_eq!((self.restart)(&retry), Some(restart.clone()));
        let out = self.step(
            &(self.ends.failed)("boom".to_string()),
            retry,
            restart.clone(),
            &[action],
            true,
        );
        assert_eq!(out.note, note);
        assert_eq!(out.change, None);
        assert_eq!((self.current_action)(&restart), Some(action));
        assert_eq!((self.failure_reason)(&out.state), None);
        assert!(!(self.is_terminal)(&out.state));
    }

    /// `retry` is ignored in every sample state but `failed`: live, tearing
    /// down, deleted and rejected alike.
    #[track_caller]
    pub(crate) fn check_retry_ignored_outside_failed(&self, retry: E) {
        let mut ignored_in: Vec<&str> = Vec::new();
        for state in (self.spec.sample_states)() {
            let name = self.name(&state);
            if name == "failed" {
                continue;
            }
            let out = self.step(&state, retry.clone(), state.clone(), &[], false);
            assert!(out.is_ignored(), "{state:?}");
            assert_eq!(out.change, None, "{state:?}");
            assert_eq!(
                out.note,
                format!("unexpected event retry_requested in state {name}")
            );
            if !ignored_in.contains(&name) {
                ignored_in.push(name);
            }
        }
        let mut expected: Vec<&str> = self.state_names.to_vec();
        expected.retain(|name| *name != "failed");
        assert_eq!(ignored_in, expected);
    }

    #[track_caller]
    pub(crate) fn check_delete_of_deleted_ignored(&self) {
        let deleted = (self.ends.deleted)();
        let out = self.step(&deleted, self.delete_request(), deleted.clone(), &[], false);
        assert!(out.is_ignored());
        assert!(out.note.contains("already deleted"), "{}", out.note);
    }

    /// `failure_reason` is the reason carried by a failed or rejected
    /// connector, or by a teardown heading there, and nothing elsewhere.
    #[track_caller]
    pub(crate) fn check_failure_reasons(&self) {
        let reason = self.failure_reason;
        assert_eq!(reason(&(self.ends.failed)("r1".to_string())), Some("r1"));
        assert_eq!(reason(&(self.ends.rejected)("r2".to_string())), Some("r2"));
        for build in self.teardown {
            assert_eq!(reason(&build(failed_with("r3"))), Some("r3"));
            assert_eq!(reason(&build(rejected_with("r4"))), Some("r4"));
            assert_eq!(reason(&build(Terminal::Deleted)), None);
        }
        for state in self.live_states() {
            assert_eq!(reason(&state), None, "{state:?}");
        }
        assert_eq!(reason(&(self.ends.deleted)()), None);
    }

    #[track_caller]
    pub(crate) fn check_json_round_trip(&self) {
        for state in (self.spec.sample_states)() {
            let json = serde_json::to_string(&state).unwrap();
            let restored: S = serde_json::from_str(&json).unwrap();
            assert_eq!(restored, state, "{json}");
            assert_eq!(
                (self.current_action)(&restored),
                (self.current_action)(&state),
                "{json}"
            );
            for event in (self.spec.sample_events)() {
                assert_eq!(
                    self.handle(&restored, &event),
                    self.handle(&state, &event),
                    "{json}"
                );
            }
        }
    }

    /// Every sample event is tagged with its name and reads back; each of
    /// `actions` serialises as its name.
    #[track_caller]
    pub(crate) fn check_event_and_action_names(&self, actions: &[A]) {
        for event in (self.spec.sample_events)() {
            let value = serde_json::to_value(&event).unwrap();
            assert_eq!(value["type"], (self.event_name)(&event));
            let back: E = serde_json::from_value(value).unwrap();
            assert_eq!(back, event);
        }
        for action in actions {
            assert_eq!(
                serde_json::to_string(action).unwrap(),
                format!("\"{}\"", (self.spec.action_name)(action))
            );
        }
    }

    #[track_caller]
    pub(crate) fn check_state_name_order(&self) {
        let mut names: Vec<&str> = Vec::new();
        for state in (self.spec.sample_states)() {
            let name = self.name(&state);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        assert_eq!(names, self.state_names);
    }

    /// The value `expected` gives each state, by name, is what `actual` says.
    #[track_caller]
    fn check_per_state<T: PartialEq + Debug + Copy>(
        &self,
        expected: &[(&str, T)],
        actual: impl Fn(&S) -> T,
    ) {
        assert_eq!(expected.len(), self.state_names.len());
        for state in (self.spec.sample_states)() {
            let want = expected
                .iter()
                .find(|(name, _)| *name == self.name(&state))
                .map(|(_, value)| *value);
            assert_eq!(Some(actual(&state)), want, "{state:?}");
        }
    }

    #[track_caller]
    pub(crate) fn check_waiting_on(&self, expected: &[(&str, WaitingOn)]) {
        self.check_per_state(expected, self.spec.waiting_on);
    }

    #[track_caller]
    pub(crate) fn check_standing_actions(&self, expected: &[(&str, Option<A>)]) {
        self.check_per_state(expected, self.current_action);
    }

    #[track_caller]
    pub(crate) fn check_terminals(&self) {
        for state in (self.spec.sample_states)() {
            assert_eq!(
                (self.is_terminal)(&state),
                matches!(self.name(&state), "deleted" | "failed" | "rejected"),
                "{state:?}"
            );
        }
    }

    /// `all` is every standing action, once each, in lifecycle order.
    #[track_caller]
    pub(crate) fn check_action_list(&self, all: &[A]) {
        let mut standing: Vec<A> = Vec::new();
        for state in (self.spec.sample_states)() {
            if let Some(action) = (self.current_action)(&state)
                && !standing.contains(&action)
            {
                standing.push(action);
            }
        }
        assert_eq!(standing, all);
    }

    /// Each state has its own `next_step`, a sentence.
    #[track_caller]
    pub(crate) fn check_next_steps(&self) {
        let mut seen_steps: Vec<(&str, &str)> = Vec::new();
        for state in (self.spec.sample_states)() {
            let text = (self.next_step)(&state);
            assert!(text.ends_with('.'), "{text}");
            match seen_steps
                .iter()
                .find(|(name, _)| *name == self.name(&state))
            {
                Some((_, earlier)) => assert_eq!(*earlier, text),
                None => {
                    assert!(
                        !seen_steps.iter().any(|(_, t)| *t == text),
                        "two states share: {text}"
                    );
                    seen_steps.push((self.name(&state), text));
                }
            }
        }
    }

    /// The discovered transition table `rows` is exactly `expected`, written
    /// out by hand from the spec.
    #[track_caller]
    pub(crate) fn check_transition_table(
        &self,
        rows: Vec<TransitionRow<A>>,
        mut expected: Vec<Row>,
    ) {
        let mut actual: Vec<Row> = Vec::new();
        for r in rows {
            let to = if r.changed { r.to } else { "stays".into() };
            let action = r.actions.first().map_or("", self.spec.action_name);
            actual.push((r.from, r.trigger, to, action.into()));
        }
        expected.sort();
        actual.sort();
        let missing: Vec<_> = expected.iter().filter(|r| !actual.contains(r)).collect();
        let extra: Vec<_> = actual.iter().filter(|r| !expected.contains(r)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "transition table drifted from the spec\nmissing: {missing:#?}\nunexpected: {extra:#?}"
        );
        assert_eq!(actual.len(), expected.len(), "duplicate rows");
    }
}
