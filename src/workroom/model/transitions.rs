//! The transition table, [`next_state`] over it, and the actions it allows
//! a member ([`allowed_actions`]).

use async_graphql::Enum;

use crate::{
    auth::policy::{self, Action},
    error::{AppError, AppResult},
    member::Role,
};

use super::WorkroomState::{self, *};

/// What moves a workroom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The Planner's plan is stored.
    PlanStored,
    /// Every non-compose task is done.
    TasksDone,
    /// The Composer wrote every deliverable (first time, or a revision).
    Composed,
    /// `pauseWorkroom`.
    Pause,
    /// A hold could not be reserved (out of credits, or maxCredits reached).
    CreditsRanOut,
    /// `resumeWorkroom`: back to the state the pause left.
    Resume,
    /// `cancelWorkroom`.
    Cancel,
    /// A task failed after its retries.
    Fail,
    /// `replanWorkroom`.
    Replan,
    /// `requestRevision`.
    RequestRevision,
    /// `rejectApproval`: back to the Planner with the reason.
    RejectApproval,
}

/// Where a row leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum To {
    State(WorkroomState),
    /// The state the pause was entered from.
    PausedFrom,
}

/// Every legal transition: (from, trigger, to).
const TRANSITIONS: &[(WorkroomState, Trigger, To)] = &[
    (Planning, Trigger::PlanStored, To::State(Executing)),
    (Executing, Trigger::TasksDone, To::State(Composing)),
    (Composing, Trigger::Composed, To::State(Completed)),
    (AwaitingRevision, Trigger::Composed, To::State(Completed)),
    (Executing, Trigger::Pause, To::State(Paused)),
    (Composing, Trigger::Pause, To::State(Paused)),
    (Planning, Trigger::CreditsRanOut, To::State(Paused)),
    (Executing, Trigger::CreditsRanOut, To::State(Paused)),
    (Composing, Trigger::CreditsRanOut, To::State(Paused)),
    // A revision is composed like the first draft, so it can run out of credits too.
    (AwaitingRevision, Trigger::CreditsRanOut, To::State(Paused)),
    (Paused, Trigger::Resume, To::PausedFrom),
    (Planning, Trigger::Cancel, To::State(Cancelled)),
    (Executing, Trigger::Cancel, To::State(Cancelled)),
    (Paused, Trigger::Cancel, To::State(Cancelled)),
    (Composing, Trigger::Cancel, To::State(Cancelled)),
    (AwaitingRevision, Trigger::Cancel, To::State(Cancelled)),
    (Planning, Trigger::Fail, To::State(Failed)),
    (Executing, Trigger::Fail, To::State(Failed)),
    (Composing, Trigger::Fail, To::State(Failed)),
    (AwaitingRevision, Trigger::Fail, To::State(Failed)),
    (Executing, Trigger::Replan, To::State(Planning)),
    (Paused, Trigger::Replan, To::State(Planning)),
    (Failed, Trigger::Replan, To::State(Planning)),
    (Executing, Trigger::RejectApproval, To::State(Planning)),
    (
        Completed,
        Trigger::RequestRevision,
        To::State(AwaitingRevision),
    ),
];

/// The state `trigger` leads to from `from`, or CONFLICT.
pub fn next_state(
    from: WorkroomState,
    trigger: Trigger,
    paused_from: Option<WorkroomState>,
) -> AppResult<WorkroomState> {
    let row = TRANSITIONS
        .iter()
        .find(|(f, t, _)| *f == from && *t == trigger);
    match row.map(|(_, _, to)| *to) {
        Some(To::State(state)) => Ok(state),
        Some(To::PausedFrom) => paused_from
            .ok_or_else(|| AppError::Internal("paused workroom without paused_from".into())),
        None => Err(AppError::conflict(format!(
            "a {} workroom cannot {}",
            from.to_string().to_lowercase().replace('_', " "),
            verb(trigger)
        ))),
    }
}

fn verb(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::PlanStored => "store a plan",
        Trigger::TasksDone => "start composing",
        Trigger::Composed => "complete",
        Trigger::Pause => "be paused",
        Trigger::CreditsRanOut => "be paused for credits",
        Trigger::Resume => "be resumed",
        Trigger::Cancel => "be cancelled",
        Trigger::Fail => "fail",
        Trigger::Replan => "be replanned",
        Trigger::RequestRevision => "get a revision request",
        Trigger::RejectApproval => "go back to planning after a rejection",
    }
}

/// What a member may ask of a workroom (the `WorkroomAction` enum).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkroomAction {
    Pause,
    Resume,
    Cancel,
    Replan,
    RequestRevision,
    AddSource,
    PostMessage,
    Export,
}

/// Whether a workroom in `state` accepts new sources and messages: anything
/// but a cancelled one (sources still feed a revision after completion).
pub fn accepts_input(state: WorkroomState) -> bool {
    state != Cancelled
}

/// What `role` may do to a workroom in `state` now. EXPORT is there once
/// a deliverable has content (`composed`), in any state: a cancelled or
/// failed workroom's last composed text can still be exported.
pub fn allowed_actions(state: WorkroomState, role: Role, composed: bool) -> Vec<WorkroomAction> {
    if !policy::allows(role, Action::Work) {
        return Vec::new();
    }
    let by_table = [
        (WorkroomAction::Pause, Trigger::Pause),
        (WorkroomAction::Resume, Trigger::Resume),
        (WorkroomAction::Cancel, Trigger::Cancel),
        (WorkroomAction::Replan, Trigger::Replan),
        (WorkroomAction::RequestRevision, Trigger::RequestRevision),
    ];
    let mut actions: Vec<WorkroomAction> = by_table
        .into_iter()
        .filter(|(_, trigger)| {
            TRANSITIONS
                .iter()
                .any(|(f, t, _)| *f == state && t == trigger)
        })
        .map(|(action, _)| action)
        .collect();
    if accepts_input(state) {
        actions.extend([WorkroomAction::AddSource, WorkroomAction::PostMessage]);
    }
    if composed {
        actions.push(WorkroomAction::Export);
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_design_md_is_legal_and_nothing_else_is() {
        let legal = [
            (Planning, Trigger::PlanStored, Executing),
            (Executing, Trigger::TasksDone, Composing),
            (Composing, Trigger::Composed, Completed),
            (Executing, Trigger::Pause, Paused),
            (Composing, Trigger::Pause, Paused),
            (Planning, Trigger::CreditsRanOut, Paused),
            (Completed, Trigger::RequestRevision, AwaitingRevision),
            (AwaitingRevision, Trigger::Composed, Completed),
            (Failed, Trigger::Replan, Planning),
            (Executing, Trigger::RejectApproval, Planning),
        ];
        for (from, trigger, to) in legal {
            assert_eq!(
                next_state(from, trigger, None).unwrap(),
                to,
                "{from:?} {trigger:?}"
            );
        }
        for from in [Completed, Failed, Cancelled] {
            assert!(
                next_state(from, Trigger::Cancel, None).is_err(),
                "{from:?} cannot be cancelled"
            );
            assert!(next_state(from, Trigger::Pause, None).is_err());
        }
        assert!(
            next_state(Planning, Trigger::Pause, None).is_err(),
            "only credits pause planning"
        );
        assert!(next_state(Composing, Trigger::Replan, None).is_err());
        assert!(next_state(Cancelled, Trigger::Replan, None).is_err());
        assert!(next_state(Executing, Trigger::Resume, None).is_err());
        assert!(
            next_state(Paused, Trigger::RejectApproval, None).is_err(),
            "a paused workroom is resumed before a rejection"
        );
    }

    #[test]
    fn resume_returns_to_the_state_the_pause_left() {
        for from in [Planning, Executing, Composing, AwaitingRevision] {
            assert_eq!(
                next_state(Paused, Trigger::Resume, Some(from)).unwrap(),
                from
            );
        }
    }

    #[test]
    fn allowed_actions_follow_the_table_and_the_role() {
        use WorkroomAction as A;
        assert_eq!(
            allowed_actions(Executing, Role::Member, false),
            vec![A::Pause, A::Cancel, A::Replan, A::AddSource, A::PostMessage]
        );
        assert_eq!(
            allowed_actions(Paused, Role::Owner, false),
            vec![
                A::Resume,
                A::Cancel,
                A::Replan,
                A::AddSource,
                A::PostMessage
            ]
        );
        assert_eq!(
            allowed_actions(Completed, Role::Admin, false),
            vec![A::RequestRevision, A::AddSource, A::PostMessage]
        );
        assert_eq!(
            allowed_actions(Failed, Role::Member, false),
            vec![A::Replan, A::AddSource, A::PostMessage]
        );
        assert!(allowed_actions(Cancelled, Role::Owner, false).is_empty());
        assert!(allowed_actions(Executing, Role::Viewer, false).is_empty());
    }

    #[test]
    fn export_needs_composed_content_and_a_working_role() {
        use WorkroomAction as A;
        assert_eq!(
            allowed_actions(Completed, Role::Member, true),
            vec![A::RequestRevision, A::AddSource, A::PostMessage, A::Export]
        );
        assert_eq!(
            allowed_actions(Cancelled, Role::Owner, true),
            vec![A::Export]
        );
        assert!(!allowed_actions(Executing, Role::Owner, false).contains(&A::Export));
        assert!(allowed_actions(Completed, Role::Viewer, true).is_empty());
    }
}
