//! One transaction on the candidate datastore, for a batch of changes, over
//! an open session (see the crate docs for the steps).

use std::collections::{HashMap, HashSet};

use rustnetconf::session::Session;
use rustnetconf::{Datastore, NetconfError};

use crate::merge::{self, Edit};
use crate::pool::CutSwitch;
use crate::{
    ApplyOptions, DefaultOperation, Error, Expectation, FaultPoint, PeTarget, Quirks, Rendered,
    STEP_COMMIT_CONFIRMED, STEP_COMMIT_CONFIRMING, STEP_DISCARD, STEP_EDIT, STEP_GET_CANDIDATE,
    STEP_GET_RUNNING, STEP_LOCK, STEP_VALIDATE,
};

/// A failed transaction.
pub(crate) struct Failure {
    pub(crate) error: Error,
    /// It failed at its first RPC (the lock), so nothing was changed: on a
    /// session that turns out dead, it can simply run again on a new one.
    pub(crate) at_first_rpc: bool,
}

pub(crate) async fn run(
    session: &mut Session,
    cut: &CutSwitch,
    target: &PeTarget,
    quirks: &Quirks,
    changes: &[Rendered],
    opts: &ApplyOptions,
) -> Result<(), Failure> {
    lock_candidate(session, target, opts)
        .await
        .map_err(|error| Failure {
            error,
            at_first_rpc: true,
        })?;
    let mut confirmed_pending = false;
    match steps(
        session,
        cut,
        target,
        quirks,
        changes,
        opts,
        &mut confirmed_pending,
    )
    .await
    {
        Ok(outcome) => {
            if outcome == Outcome::NothingToCommit {
                // Nothing was committed; drop the refused edits.
                if let Err(e) = session.discard_changes().await {
                    tracing::warn!(pe = %target.name, error = %e, "discard-changes failed");
                }
            }
            // The lock also dies with the session.
            if let Err(e) = session.unlock(Datastore::Candidate).await {
                tracing::warn!(pe = %target.name, error = %e, "unlock failed");
            }
            Ok(())
        }
        Err(error) => {
            roll_back(session, target, confirmed_pending).await;
            Err(Failure {
                error,
                at_first_rpc: false,
            })
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Committed,
    /// Every change removes things running already lacks.
    NothingToCommit,
}

async fn steps(
    session: &mut Session,
    cut: &CutSwitch,
    target: &PeTarget,
    quirks: &Quirks,
    changes: &[Rendered],
    opts: &ApplyOptions,
    confirmed_pending: &mut bool,
) -> Result<Outcome, Error> {
    let pe = target.name.as_str();
    let err = |step: &'static str| move |e| Error::from_netconf(step, pe, e);

    // Leftovers of a session that died before committing.
    session.discard_changes().await.map_err(err(STEP_DISCARD))?;
    let no_ops = edit_all(session, target, changes).await?;

    let checks = Checks::new(changes);
    if no_ops.iter().all(|n| *n) {
        // Only removals of things the candidate already lacked. If running
        // lacks them too, there is nothing to commit.
        let running = read(session, Datastore::Running, checks.filter())
            .await
            .map_err(err(STEP_GET_RUNNING))?;
        if checks.verify(&running, changes).is_ok() {
            tracing::info!(pe, "nothing to remove: already absent");
            return Ok(Outcome::NothingToCommit);
        }
    }

    if !quirks.skip_explicit_validate {
        session
            .validate(Datastore::Candidate)
            .await
            .map_err(err(STEP_VALIDATE))?;
    }
    // Set first: after a timeout the router may hold a pending commit.
    *confirmed_pending = true;
    if opts.fault == Some(FaultPoint::CutAfterConfirmedCommitSent) {
        cut.after_next_write();
    }
    session
        .confirmed_commit(opts.confirm_timeout_secs)
        .await
        .map_err(err(STEP_COMMIT_CONFIRMED))?;

    let running = read(session, Datastore::Running, checks.filter())
        .await
        .map_err(err(STEP_GET_RUNNING))?;
    checks
        .verify(&running, changes)
        .map_err(|(index, f)| change_error(index, changes.len(), f.into()))?;

    if opts.fault == Some(FaultPoint::CutBeforeConfirmingCommit) {
        cut.now();
    }
    session
        .confirming_commit()
        .await
        .map_err(err(STEP_COMMIT_CONFIRMING))?;
    *confirmed_pending = false;
    Ok(Outcome::Committed)
}

fn change_error(index: usize, count: usize, source: Error) -> Error {
    Error::Change {
        index,
        count,
        source: Box::new(source),
    }
}

impl From<onramp_router_templates::VerifyFailure> for Error {
    fn from(f: onramp_router_templates::VerifyFailure) -> Error {
        Error::Verify {
            expectation: f.expectation,
            running_excerpt: f.running_excerpt,
        }
    }
}

// ===== edits =====

/// Sends the edits of the whole batch, merged where the merge is sound.
/// Returns, per change, whether it turned out to be a no-op (a removal of
/// things the candidate already lacks).
async fn edit_all(
    session: &mut Session,
    target: &PeTarget,
    changes: &[Rendered],
) -> Result<Vec<bool>, Error> {
    let plan = merge::plan(changes);
    let merged = plan.len() < changes.len();
    let mut no_ops = vec![false; changes.len()];
    for edit in &plan {
        let Err(e) = send_edit(session, target, edit).await else {
            continue;
        };
        if !matches!(e, Error::Rpc { .. }) {
            return Err(e); // the session, not a change, is at fault
        }
        if let [index] = edit.indices[..] {
            if already_absent(session, target, &changes[index], &e).await? {
                no_ops[index] = true;
                continue;
            }
            return Err(change_error(index, changes.len(), e));
        }
        // The router refused a merged edit: start over one change per edit,
        // which tells which change it refuses (or handles a removal of
        // something already gone).
        tracing::info!(
            pe = %target.name,
            changes = edit.indices.len(),
            error = %e,
            "merged edit refused, replaying the batch one change per edit"
        );
        session
            .discard_changes()
            .await
            .map_err(|e| Error::from_netconf(STEP_DISCARD, &target.name, e))?;
        return edit_one_by_one(session, target, changes).await;
    }
    if merged {
        tracing::debug!(pe = %target.name, changes = changes.len(), edits = plan.len(), "batch edits merged");
    }
    Ok(no_ops)
}

async fn edit_one_by_one(
    session: &mut Session,
    target: &PeTarget,
    changes: &[Rendered],
) -> Result<Vec<bool>, Error> {
    let mut no_ops = vec![false; changes.len()];
    for (index, change) in changes.iter().enumerate() {
        let edit = Edit {
            indices: vec![index],
            xml: change.config_xml.as_str().into(),
            default_operation: change.default_operation,
        };
        let Err(e) = send_edit(session, target, &edit).await else {
            continue;
        };
        if !matches!(e, Error::Rpc { .. }) {
            return Err(e);
        }
        if already_absent(session, target, change, &e).await? {
            no_ops[index] = true;
            continue;
        }
        return Err(change_error(index, changes.len(), e));
    }
    Ok(no_ops)
}

async fn send_edit(session: &mut Session, target: &PeTarget, edit: &Edit<'_>) -> Result<(), Error> {
    session
        .edit_config(
            Datastore::Candidate,
            &edit.xml,
            Some(default_operation(edit.default_operation)),
            None,
            None,
        )
        .await
        .map_err(|e| Error::from_netconf(STEP_EDIT, &target.name, e))
}

/// With default-operation "none", removing something under a parent the
/// router does not have is refused as data-missing. If the change only
/// removes things and the candidate (running plus the batch's earlier
/// changes) already lacks all of them (a redelivered delete, or one for a
/// create that never reached this PE), the change has nothing to do.
async fn already_absent(
    session: &mut Session,
    target: &PeTarget,
    change: &Rendered,
    refused: &Error,
) -> Result<bool, Error> {
    let only_removes = change.default_operation == DefaultOperation::None
        && !change.expectations.is_empty()
        && change
            .expectations
            .iter()
            .all(|x| matches!(x, Expectation::Absent { .. }));
    if refused.rpc_tag() != Some("data-missing") || !only_removes {
        return Ok(false);
    }
    let candidate = read(
        session,
        Datastore::Candidate,
        change.running_filter().as_deref(),
    )
    .await
    .map_err(|e| Error::from_netconf(STEP_GET_CANDIDATE, &target.name, e))?;
    Ok(change.verify(&candidate).is_ok())
}

/// A datastore, restricted to the top-level containers the changes touch.
async fn read(
    session: &mut Session,
    source: Datastore,
    filter: Option<&str>,
) -> Result<String, NetconfError> {
    session.get_config(source, filter).await
}

// ===== verification =====

/// The expectations a batch must meet in running once committed: every
/// change's, except those a later change of the same batch overrides (a
/// create then a delete of the same unit: only "absent" can hold).
struct Checks<'a> {
    /// Per change, the expectations still in force after the batch.
    kept: Vec<Vec<&'a Expectation>>,
    /// All of them, to check running with one parse.
    all: Rendered,
    filter: Option<String>,
}

impl<'a> Checks<'a> {
    fn new(changes: &'a [Rendered]) -> Checks<'a> {
        // Later expectations by their path, and the proper prefixes of their
        // paths, built from the last change backwards.
        let mut later: HashMap<&'a [onramp_router_templates::Step], Vec<&'a Expectation>> =
            HashMap::new();
        let mut later_ancestors: HashSet<&'a [onramp_router_templates::Step]> = HashSet::new();
        let mut kept = vec![Vec::new(); changes.len()];
        for (i, change) in changes.iter().enumerate().rev() {
            for e in &change.expectations {
                if !overridden(e, &later, &later_ancestors) {
                    kept[i].push(e);
                }
            }
            for e in &change.expectations {
                let path = e.path();
                later.entry(path).or_default().push(e);
                for k in 1..path.len() {
                    later_ancestors.insert(&path[..k]);
                }
            }
        }
        let mut secret_leaves: Vec<String> = Vec::new();
        for c in changes {
            for s in &c.secret_leaves {
                if !secret_leaves.contains(s) {
                    secret_leaves.push(s.clone());
                }
            }
        }
        let all = Rendered {
            expectations: kept.iter().flatten().map(|e| (*e).clone()).collect(),
            secret_leaves,
            ..Rendered::default()
        };
        // The union of the changes' top-level containers (not only the kept
        // expectations').
        let mut tops: Vec<&onramp_router_templates::Step> = Vec::new();
        for e in changes.iter().flat_map(|c| &c.expectations) {
            if let Some(top) = e.path().first()
                && !tops
                    .iter()
                    .any(|t| t.name == top.name && t.namespace == top.namespace)
            {
                tops.push(top);
            }
        }
        let filter = Rendered {
            expectations: tops
                .into_iter()
                .map(|t| Expectation::Present {
                    path: vec![onramp_router_templates::Step::new(
                        t.namespace.clone(),
                        t.name.clone(),
                    )],
                })
                .collect(),
            ..Rendered::default()
        }
        .running_filter();
        Checks { kept, all, filter }
    }

    fn filter(&self) -> Option<&str> {
        self.filter.as_deref()
    }

    /// All kept expectations against running (one parse); on a failure, the
    /// index of the first change that does not hold.
    fn verify(
        &self,
        running: &str,
        changes: &[Rendered],
    ) -> Result<(), (usize, onramp_router_templates::VerifyFailure)> {
        let Err(first) = self.all.verify(running) else {
            return Ok(());
        };
        for (i, kept) in self.kept.iter().enumerate() {
            let one = Rendered {
                expectations: kept.iter().map(|e| (*e).clone()).collect(),
                secret_leaves: changes[i].secret_leaves.clone(),
                ..Rendered::default()
            };
            if let Err(f) = one.verify(running) {
                return Err((i, f));
            }
        }
        // Unreachable in practice (the union failed, so one part fails).
        Err((0, first))
    }
}

/// Whether a later change of the batch makes `e` moot: it says something
/// else about the same node, removes an ancestor, or (for a removal) puts
/// something back under the removed node.
fn overridden(
    e: &Expectation,
    later: &HashMap<&[onramp_router_templates::Step], Vec<&Expectation>>,
    later_ancestors: &HashSet<&[onramp_router_templates::Step]>,
) -> bool {
    let path = e.path();
    if later.get(path).is_some_and(|l| l.iter().any(|x| *x != e)) {
        return true;
    }
    for k in 1..path.len() {
        if later
            .get(&path[..k])
            .is_some_and(|l| l.iter().any(|x| matches!(x, Expectation::Absent { .. })))
        {
            return true;
        }
    }
    matches!(e, Expectation::Absent { .. }) && later_ancestors.contains(path)
}

// ===== lock, rollback =====

async fn lock_candidate(
    session: &mut Session,
    target: &PeTarget,
    opts: &ApplyOptions,
) -> Result<(), Error> {
    let deadline = std::time::Instant::now() + opts.lock_wait;
    let mut backoff = std::time::Duration::from_millis(25);
    loop {
        let e = match session.lock(Datastore::Candidate).await {
            Ok(()) => return Ok(()),
            Err(e) => Error::from_netconf(STEP_LOCK, &target.name, e),
        };
        if e.rpc_tag() != Some("lock-denied") || std::time::Instant::now() + backoff > deadline {
            return Err(e);
        }
        tracing::debug!(pe = %target.name, "candidate locked by another session, waiting");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(std::time::Duration::from_millis(400));
    }
}

/// Best effort: each step is tried even if the previous one failed. If the
/// cancel cannot be sent, the router still rolls the confirmed commit back
/// when this session closes (RFC 6241 8.4) or the confirm timeout expires.
async fn roll_back(session: &mut Session, target: &PeTarget, confirmed_pending: bool) {
    let pe = target.name.as_str();
    if confirmed_pending {
        match session.cancel_commit(None).await {
            Ok(()) => tracing::info!(pe, "confirmed commit cancelled, running rolled back"),
            Err(e) => {
                tracing::warn!(pe, error = %e, "cancel-commit failed; the router rolls back on session close")
            }
        }
    }
    if let Err(e) = session.discard_changes().await {
        tracing::warn!(pe, error = %e, "discard-changes during rollback failed");
    }
    if let Err(e) = session.unlock(Datastore::Candidate).await {
        tracing::warn!(pe, error = %e, "unlock during rollback failed");
    }
}

fn default_operation(op: DefaultOperation) -> rustnetconf::DefaultOperation {
    match op {
        DefaultOperation::Merge => rustnetconf::DefaultOperation::Merge,
        DefaultOperation::Replace => rustnetconf::DefaultOperation::Replace,
        DefaultOperation::None => rustnetconf::DefaultOperation::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onramp_router_templates::Step;

    const NS: &str = "urn:example:pe";

    fn unit(id: &str) -> Vec<Step> {
        vec![
            Step::new(NS, "ifs"),
            Step::new(NS, "if").key("name", "ge-0/0/1"),
            Step::new(NS, "unit").key("id", id),
        ]
    }

    fn vlan(id: &str, v: &str) -> Expectation {
        let mut path = unit(id);
        path.push(Step::new(NS, "vlan"));
        Expectation::Leaf {
            path,
            value: v.into(),
            secret: false,
        }
    }

    fn change(expectations: Vec<Expectation>) -> Rendered {
        Rendered {
            expectations,
            ..Rendered::default()
        }
    }

    fn kept(changes: &[Rendered]) -> Vec<Vec<String>> {
        Checks::new(changes)
            .kept
            .iter()
            .map(|k| k.iter().map(std::string::ToString::to_string).collect())
            .collect()
    }

    #[test]
    fn later_changes_override_earlier_expectations_on_the_same_nodes_only() {
        let changes = vec![
            change(vec![vlan("101", "101"), vlan("102", "102")]),
            change(vec![Expectation::Absent { path: unit("101") }]),
            change(vec![vlan("102", "7")]),
            change(vec![Expectation::Absent { path: unit("103") }]),
            change(vec![vlan("103", "103")]),
            change(vec![vlan("104", "104")]),
            change(vec![vlan("104", "104")]),
        ];
        let k = kept(&changes);
        assert!(
            k[0].is_empty(),
            "101 removed later, 102 re-set later: {k:?}"
        );
        assert_eq!(k[1].len(), 1);
        assert_eq!(k[2].len(), 1);
        assert!(k[3].is_empty(), "103 re-created under the removed unit");
        assert_eq!(k[4].len(), 1);
        assert_eq!(k[5].len(), 1, "the same expectation again is no override");
        assert_eq!(k[6].len(), 1);
    }

    #[test]
    fn verify_names_the_first_change_whose_expectations_fail() {
        let changes = vec![
            change(vec![vlan("101", "101")]),
            change(vec![vlan("102", "102")]),
        ];
        let checks = Checks::new(&changes);
        let running = format!(
            r#"<ifs xmlns="{NS}"><if><name>ge-0/0/1</name><unit><id>101</id><vlan>101</vlan></unit><unit><id>102</id><vlan>9</vlan></unit></if></ifs>"#
        );
        let (index, f) = checks.verify(&running, &changes).unwrap_err();
        assert_eq!(index, 1);
        assert!(
            f.expectation.contains(r#"unit[id="102"]/vlan = "102""#),
            "{f:?}"
        );
        assert_eq!(
            checks.filter(),
            Some(format!("<ifs xmlns=\"{NS}\"/>").as_str())
        );
        let fixed = running.replace("<vlan>9</vlan>", "<vlan>102</vlan>");
        assert!(checks.verify(&fixed, &changes).is_ok());
    }
}
