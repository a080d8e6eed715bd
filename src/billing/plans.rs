//! The plan table of DESIGN.md.

use crate::error::{AppError, AppResult};
pub use entity::enums::Plan;

/// Credits granted once to a new workspace on the free trial.
pub const TRIAL_CREDITS: i64 = 500;

/// The plan table: each plan's name, seat cap and monthly credits, and the
/// seat rule over them.
pub trait PlanTable: Copy {
    fn name(self) -> &'static str;
    /// Seat cap; `None` is unlimited.
    fn max_users(self) -> Option<i64>;
    /// Credits granted each month (and on changing to this plan).
    fn monthly_credits(self) -> i64;

    /// Whether `seats` fit under this plan's cap.
    fn fits(self, seats: i64) -> bool {
        self.max_users().is_none_or(|cap| seats <= cap)
    }

    /// The seat rule, for every change that takes seats: SEAT_LIMIT_REACHED
    /// unless `seats` (those taken once the change is made: members, plus
    /// pending invitations where they count) fit under the cap.
    fn ensure_seats(self, seats: i64) -> AppResult<()> {
        match self.max_users() {
            Some(cap) if seats > cap => Err(AppError::SeatLimitReached(format!(
                "the {} plan has {cap} seat(s) and this needs {seats}",
                self.name()
            ))),
            _ => Ok(()),
        }
    }
}

impl PlanTable for Plan {
    fn name(self) -> &'static str {
        match self {
            Plan::FreeTrial => "Free Trial",
            Plan::Solo => "Solo",
            Plan::Starter => "Starter",
            Plan::Pro => "Pro",
            Plan::Growth => "Growth",
            Plan::Agency => "Agency",
        }
    }

    fn max_users(self) -> Option<i64> {
        match self {
            Plan::FreeTrial | Plan::Solo => Some(1),
            Plan::Starter => Some(2),
            Plan::Pro => Some(5),
            Plan::Growth => Some(15),
            Plan::Agency => None,
        }
    }

    /// The trial's credits are a one-time grant, so its allowance is 0.
    fn monthly_credits(self) -> i64 {
        match self {
            Plan::FreeTrial => 0,
            Plan::Solo => 2_000,
            Plan::Starter => 5_000,
            Plan::Pro => 15_000,
            Plan::Growth => 50_000,
            Plan::Agency => 150_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_and_credits_follow_the_plan_table() {
        let table = [
            (Plan::FreeTrial, Some(1), 0),
            (Plan::Solo, Some(1), 2_000),
            (Plan::Starter, Some(2), 5_000),
            (Plan::Pro, Some(5), 15_000),
            (Plan::Growth, Some(15), 50_000),
            (Plan::Agency, None, 150_000),
        ];
        for (plan, cap, credits) in table {
            assert_eq!(plan.max_users(), cap);
            assert_eq!(plan.monthly_credits(), credits);
        }
        assert!(Plan::Starter.fits(2) && !Plan::Starter.fits(3) && Plan::Agency.fits(10_000));
    }
}
